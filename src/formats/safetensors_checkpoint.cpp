// A model directory of safetensors: single file, sharded index, or the one
// *.safetensors file present (docs/formats.md#sharded-checkpoints).
#include <dirent.h>

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "formats/safetensors.h"

namespace loam {
namespace {

using nlohmann::json;

std::vector<std::string> dir_list_safetensors(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    const std::string ext = ".safetensors";
    if (n.size() > ext.size() && n.compare(n.size() - ext.size(), ext.size(), ext) == 0) out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// A shard name must be a plain file name inside the directory.
void shard_name_check(const std::string& where, const std::string& shard) {
  if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
    throw Error(where, "shard \"" + shard + "\" is not a file name in the model directory");
}

// weight_map: tensor name -> shard file name.
std::map<std::string, std::string> index_parse(const std::string& index_path) {
  json j;
  try {
    j = json::parse(file_read_all(index_path));
  } catch (const json::exception& e) {
    throw Error(index_path, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    throw Error(index_path, "missing the \"weight_map\" object (tensor name -> shard file)");
  std::map<std::string, std::string> out;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    const std::string where = index_path + ": weight_map." + it.key();
    if (!it.value().is_string()) throw Error(where, "shard must be a file name string");
    std::string shard = it.value().get<std::string>();
    shard_name_check(where, shard);
    out[it.key()] = shard;
  }
  if (out.empty()) throw Error(index_path, "\"weight_map\" is empty");
  return out;
}

}  // namespace

void SafetensorsCheckpoint::add_file(SafetensorsFile f) {
  files_.push_back(std::move(f));
  // TensorRefs live in each file's heap vector, so pointers survive the
  // files_ vector growing (elements move, their buffers do not).
  for (const TensorRef& t : files_.back().tensors()) {
    auto [it, inserted] = by_name_.emplace(t.name, &t);
    if (!inserted)
      throw Error(t.file + ": tensor " + t.name, "also present in " + it->second->file,
                  "a tensor may appear in only one shard");
  }
}

SafetensorsCheckpoint SafetensorsCheckpoint::open_file(const std::string& path) {
  SafetensorsCheckpoint c;
  c.path_ = path;
  c.add_file(SafetensorsFile::open(path));
  return c;
}

SafetensorsCheckpoint SafetensorsCheckpoint::open_dir(const std::string& dir) {
  if (!dir_exists(dir)) {
    if (file_exists(dir)) return open_file(dir);  // a single .safetensors named directly
    throw Error(dir, "no such directory");
  }
  const std::string index_path = dir + "/model.safetensors.index.json";
  if (file_exists(index_path)) {
    std::map<std::string, std::string> weight_map = index_parse(index_path);
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : weight_map) {
      if (shards.insert(shard).second && !file_exists(dir + "/" + shard))
        throw Error(index_path + ": weight_map." + tensor, "shard " + shard + " does not exist in " + dir,
                    "download every shard listed in the index");
    }
    SafetensorsCheckpoint c;
    c.path_ = dir;
    c.files_.reserve(shards.size());
    for (const std::string& s : shards) c.add_file(SafetensorsFile::open(dir + "/" + s));
    for (const auto& [tensor, shard] : weight_map) {
      const TensorRef* t = c.find(tensor);
      if (!t || t->file != dir + "/" + shard)
        throw Error(index_path + ": weight_map." + tensor,
                    "tensor is not in " + shard + (t ? " (found in " + t->file + ")" : ""));
    }
    return c;
  }
  if (file_exists(dir + "/model.safetensors")) {
    SafetensorsCheckpoint c = open_file(dir + "/model.safetensors");
    c.path_ = dir;
    return c;
  }
  std::vector<std::string> found = dir_list_safetensors(dir);
  if (found.size() == 1) {
    SafetensorsCheckpoint c = open_file(dir + "/" + found[0]);
    c.path_ = dir;
    return c;
  }
  throw Error(dir, found.empty() ? "no .safetensors file"
                                 : std::to_string(found.size()) + " .safetensors files and no index",
              "expected model.safetensors, model.safetensors.index.json with its shards, "
              "or exactly one *.safetensors file");
}

const TensorRef* SafetensorsCheckpoint::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const TensorRef& SafetensorsCheckpoint::get(std::string_view name) const {
  const TensorRef* t = find(name);
  if (!t) throw Error(ErrorKind::NotFound, path_, "missing tensor " + std::string(name));
  return *t;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(by_name_.size());
  for (const auto& kv : by_name_) out.push_back(kv.first);
  return out;
}

std::vector<const TensorRef*> SafetensorsCheckpoint::tensors() const {
  std::vector<const TensorRef*> out;
  out.reserve(by_name_.size());
  for (const auto& kv : by_name_) out.push_back(kv.second);
  return out;
}

}  // namespace loam
