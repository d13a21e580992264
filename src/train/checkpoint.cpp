#include "train/checkpoint.h"

#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "formats/safetensors.h"
#include "formats/tensor_ref.h"

namespace loam {

namespace fs = std::filesystem;

void checkpoint_save(const std::string& dir, const LoraAdapter& adapter, const AdamWState& opt,
                     const TrainState& st, const nlohmann::json& run_config,
                     const std::vector<std::pair<std::string, std::string>>& files) {
  const std::string tmp = dir + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  lora_save(tmp, adapter);
  std::vector<TensorToWrite> ts;
  for (size_t i = 0; i < opt.m.size(); i++) {
    ts.push_back({"m." + std::to_string(i), DType::F32, {static_cast<int64_t>(opt.m[i].size())}, opt.m[i].data()});
    ts.push_back({"v." + std::to_string(i), DType::F32, {static_cast<int64_t>(opt.v[i].size())}, opt.v[i].data()});
  }
  safetensors_write(tmp + "/optimizer.safetensors", ts, {{"optimizer_step", std::to_string(opt.step)}});
  nlohmann::json j = {
      {"global_step", st.global_step}, {"epoch", st.epoch}, {"step_in_epoch", st.step_in_epoch},
      {"best_val_loss", st.best_val_loss}, {"best_step", st.best_step},
      {"evals_without_improvement", st.evals_without_improvement}, {"seed", st.seed},
      {"optimizer_step", opt.step}, {"run_config", run_config},
  };
  for (const auto& [name, bytes] : files) file_write_atomic(tmp + "/" + name, bytes);
  file_write_atomic(tmp + "/trainer_state.json", j.dump(2) + "\n");
  fs::remove_all(dir, ec);
  fs::rename(tmp, dir, ec);
  if (ec) throw Error(ErrorKind::Internal, dir, "cannot move checkpoint into place: " + ec.message());
}

void checkpoint_load(const std::string& dir, const ModelConfig& mc, LoraAdapter& adapter, AdamWState& opt,
                     TrainState& st, nlohmann::json* run_config) {
  const std::string state_path = dir + "/trainer_state.json";
  if (!file_exists(state_path))
    throw Error(ErrorKind::NotFound, dir, "not a training checkpoint (trainer_state.json is missing)",
                "pass a directory under OUT/checkpoints/ of an earlier run");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(file_read_all(state_path));
    st.global_step = j.at("global_step").get<int64_t>();
    st.epoch = j.at("epoch").get<int>();
    st.step_in_epoch = j.at("step_in_epoch").get<int64_t>();
    st.best_val_loss = j.at("best_val_loss").get<double>();
    st.best_step = j.at("best_step").get<int64_t>();
    st.evals_without_improvement = j.at("evals_without_improvement").get<int>();
    st.seed = j.at("seed").get<uint64_t>();
    opt.step = j.at("optimizer_step").get<int64_t>();
    if (run_config) *run_config = j.value("run_config", nlohmann::json::object());
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::DataError, state_path, std::string("invalid trainer state: ") + e.what());
  }
  adapter = lora_load(dir, mc);
  opt.m.clear();
  opt.v.clear();
  const std::string opt_path = dir + "/optimizer.safetensors";
  SafetensorsFile f = SafetensorsFile::open(opt_path);
  size_t k = 0;
  bool ok = true;
  lora_for_each_tensor(adapter, [&](const std::vector<float>& p) {
    const TensorRef* m = f.find("m." + std::to_string(k));
    const TensorRef* v = f.find("v." + std::to_string(k));
    k++;
    if (!m || !v || m->dtype != DType::F32 || v->dtype != DType::F32 ||
        m->n_elements() != static_cast<int64_t>(p.size()) || v->n_elements() != static_cast<int64_t>(p.size())) {
      ok = false;
      return;
    }
    const float* mp = reinterpret_cast<const float*>(m->data);
    const float* vp = reinterpret_cast<const float*>(v->data);
    std::vector<float> mv(p.size()), vv(p.size());
    std::memcpy(mv.data(), mp, p.size() * 4);
    std::memcpy(vv.data(), vp, p.size() * 4);
    opt.m.push_back(std::move(mv));
    opt.v.push_back(std::move(vv));
  });
  if (!ok || f.tensors().size() != 2 * k)
    throw Error(ErrorKind::FailedPrecondition, opt_path, "optimizer state does not match the adapter's tensors");
}

}  // namespace loam
