#include "registry/model_import.h"

#include <algorithm>
#include <filesystem>

#include "core/file_io.h"
#include "core/json_file.h"
#include "formats/gguf.h"
#include "registry/data_dir.h"
#include "registry/digest.h"
#include "registry/errors.h"

namespace loam {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Inspected {
  std::string format, architecture, chat_template;
  std::vector<ModelFile> files;  // path relative to the source directory
  std::string source_dir;
};

std::string hf_chat_template(const std::string& dir) {
  if (!fs::exists(dir + "/tokenizer_config.json")) return "";
  json tc = json_read_file(dir + "/tokenizer_config.json");
  if (!tc.contains("chat_template")) return "";
  const json& t = tc["chat_template"];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_array())  // named templates: the "default" one
    for (const auto& e : t)
      if (e.value("name", "") == "default") return e.value("template", "");
  return "";
}

Inspected inspect(const std::string& path) {
  Inspected r;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (!fs::exists(path + "/config.json"))
      throw error_invalid(path, "not a model directory: no config.json (expected a Hugging Face checkpoint)");
    json cfg = json_read_file(path + "/config.json");
    r.format = "hf";
    r.architecture = cfg.value("model_type", "");
    if (r.architecture.empty() && cfg.contains("architectures") && cfg["architectures"].is_array() &&
        !cfg["architectures"].empty())
      r.architecture = cfg["architectures"][0].get<std::string>();
    if (fs::exists(path + "/chat_template.jinja")) {
      r.chat_template = file_read_all(path + "/chat_template.jinja");
    } else {
      r.chat_template = hf_chat_template(path);
    }
    r.source_dir = path;
    for (const auto& e : fs::recursive_directory_iterator(path)) {
      if (!e.is_regular_file()) continue;
      std::string rel = fs::relative(e.path(), path).string();
      if (rel.rfind(".", 0) == 0) continue;  // .cache, .git
      r.files.push_back({rel, static_cast<int64_t>(e.file_size()), ""});
    }
  } else if (fs::is_regular_file(path, ec)) {
    GgufFile g = GgufFile::open(path);
    r.format = "gguf";
    r.architecture = g.get_string("general.architecture").value_or("");
    r.chat_template = g.get_string("tokenizer.chat_template").value_or("");
    r.source_dir = fs::path(path).parent_path().string();
    r.files.push_back({fs::path(path).filename().string(), static_cast<int64_t>(fs::file_size(path)), ""});
  } else {
    throw error_not_found(path, "no such model directory or GGUF file");
  }
  std::sort(r.files.begin(), r.files.end(), [](const ModelFile& a, const ModelFile& b) { return a.path < b.path; });
  for (auto& f : r.files) f.sha256 = sha256_file(r.source_dir + "/" + f.path);
  return r;
}

}  // namespace

Labels labels_parse(const std::string& text, const std::string& field) {
  Labels out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    std::string kv = text.substr(i, j - i);
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw error_invalid(field, "expected key=value, got '" + kv + "'");
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
    i = j + 1;
  }
  return out;
}

ModelImportResult model_import(Store& store, const ModelImportRequest& req) {
  Inspected in = inspect(req.path);
  std::string listing;
  int64_t size = 0;
  for (const auto& f : in.files) {
    listing += f.path + '\0' + f.sha256 + '\n';
    size += f.size;
  }
  const std::string digest = sha256_string(listing);
  if (auto m = store.model_by_digest(digest)) return {*m, false};

  ModelRecord m;
  m.id = id_new();
  m.display_name = req.display_name.empty() ? fs::path(req.path).filename().string() : req.display_name;
  m.description = req.description;
  m.kind = "imported";
  m.format = in.format;
  m.source_uri = req.source_uri.empty() ? req.path : req.source_uri;
  m.architecture = in.architecture;
  m.size_bytes = size;
  m.content_digest = digest;
  m.files = in.files;
  m.chat_template = in.chat_template;
  m.labels = req.labels;
  m.create_time = m.update_time = time_now_rfc3339();

  // The artifact is in place (staged, then renamed) before the row exists.
  const std::string models = store.data_dir() + "/models";
  const std::string stage = models + "/.staging-" + m.id, final_dir = models + "/" + m.id;
  dir_remove_all(stage);
  try {
    for (const auto& f : in.files) {
      dir_make_all(fs::path(stage + "/" + f.path).parent_path().string());
      file_link_or_copy(in.source_dir + "/" + f.path, stage + "/" + f.path);
    }
    fs::rename(stage, final_dir);
  } catch (const std::exception& e) {
    dir_remove_all(stage);
    throw Error(req.path, std::string("cannot store the model's files: ") + e.what());
  }
  m.artifact_path = in.format == "gguf" ? final_dir + "/" + in.files[0].path : final_dir;
  store.model_insert(m);
  return {m, true};
}

}  // namespace loam
