// Tuning commands: tune sft, merge, debug grads. Flags bind to SftConfig
// here and nowhere else; the trainer reports through callbacks and this file
// decides how progress looks on a terminal or in a log.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/progress_line.h"
#include "cli/token_list.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/system.h"
#include "formats/safetensors.h"
#include "kernels/matmul.h"
#include "kernels/threading.h"
#include "model/lora.h"
#include "model/merge.h"
#include "model/model.h"
#include "model/transformer_train.h"
#include "tokenizer/model_text.h"
#include "train/sft_data.h"
#include "train/sft_trainer.h"

namespace loam::cli {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }

std::string human_seconds(double s) {
  char buf[64];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  else std::snprintf(buf, sizeof buf, "%.0fs", s);
  return buf;
}

void print_plan(const SftConfig& cfg, const SftPlan& p, const SftData& d) {
  std::fprintf(stderr, "tuning plan\n");
  std::fprintf(stderr, "  %-28s %lld (%lld truncated to %d tokens)\n", "training examples",
               static_cast<long long>(p.n_train), static_cast<long long>(d.n_truncated), cfg.max_seq_length);
  std::fprintf(stderr, "  %-28s %lld\n", "validation examples", static_cast<long long>(p.n_validation));
  std::fprintf(stderr, "  %-28s %lld (%lld scored)\n", "tokens per epoch", static_cast<long long>(p.train_tokens),
               static_cast<long long>(p.scored_tokens));
  std::fprintf(stderr, "  %-28s %d x %lld steps = %lld (warmup %lld)\n", "epochs x steps", p.epochs,
               static_cast<long long>(p.steps_per_epoch), static_cast<long long>(p.total_steps),
               static_cast<long long>(p.warmup_steps));
  std::fprintf(stderr, "  %-28s %g (%s)\n", "learning rate", p.learning_rate, lr_schedule_name(cfg.lr_scheduler));
  std::fprintf(stderr, "  %-28s r=%d alpha=%g dropout=%g\n", "LoRA", cfg.adapter_size,
               sft_lora_config(cfg).alpha, cfg.lora_dropout);
  std::fprintf(stderr, "  %-28s %s (largest micro-batch %lld tokens)\n", "estimated peak memory",
               human_bytes(p.peak_memory_bytes).c_str(), static_cast<long long>(p.max_batch_tokens));
  std::fprintf(stderr, "  %-28s %s\n", "estimated time", human_seconds(p.estimated_seconds).c_str());
}

void run_tune_sft(SftConfig cfg) {
  if (cfg.output_dir.empty())
    cfg.output_dir = "tuned/" + (cfg.display_name.empty() ? std::string("sft-run") : cfg.display_name);
  sft_config_check(cfg);
  if (cfg.threads > 0) kernels_set_threads(cfg.threads);
  matmul_set_precision(cfg.precision == "bf16" ? MatmulPrecision::Bf16 : MatmulPrecision::Exact);
  Model m = model_load(cfg.source_model);
  if (cfg.precision == "bf16") model_matrices_to_bf16(m);
  ModelText text = model_text_load(cfg.source_model);
  SftData data = sft_data_load(cfg, text, m.config.vocab);
  SftPlan plan = sft_plan(m, data, cfg);
  print_plan(cfg, plan, data);
  sft_check_memory(plan, cfg, cfg.max_memory_bytes > 0 ? cfg.max_memory_bytes : system_memory_available());
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  const bool tty = isatty(fileno(stderr));
  TrainCallbacks cb;
  cb.stop = &g_stop;
  cb.on_log = [tty](const std::string& s) { std::fprintf(stderr, "%s%s\n", tty ? "\r\033[K" : "", s.c_str()); };
  cb.on_step = [tty](const TrainProgress& p) {
    char line[256];
    std::snprintf(line, sizeof line, "step %lld/%lld  epoch %d  loss %.4f  acc %.3f  lr %.2e  %.0f tok/s  ETA %s",
                  static_cast<long long>(p.step), static_cast<long long>(p.total_steps), p.epoch, p.loss,
                  p.token_accuracy, p.learning_rate, p.tokens_per_s, human_seconds(p.eta_s).c_str());
    if (tty) std::fprintf(stderr, "\r\033[K%s", line);
    else std::fprintf(stderr, "%s\n", line);
    if (p.val_loss)
      std::fprintf(stderr, "%sstep %lld  val_loss %.4f  val_acc %.3f\n", tty ? "\n" : "",
                   static_cast<long long>(p.step), *p.val_loss, *p.val_token_accuracy);
  };
  SftResult r = sft_train(m, data, cfg, sft_format_of(text), cb);
  if (tty) std::fprintf(stderr, "\n");
  std::printf("%s\n", nlohmann::json{{"status", train_status_name(r.status)}, {"steps", r.steps},
                                     {"final_loss", r.final_loss}, {"output", r.output_dir},
                                     {"checkpoint", r.last_checkpoint},
                                     {"best_val_loss", r.best_val_loss ? nlohmann::json(*r.best_val_loss) : nullptr},
                                     {"peak_rss_bytes", process_peak_rss()}}.dump().c_str());
  if (r.status == TrainStatus::Interrupted)
    std::fprintf(stderr, "interrupted: resume with --resume %s\n", r.last_checkpoint.c_str());
}

struct DebugGradsOptions {
  std::string model, adapter, tokens, out;
  int prompt_len = 0;
};

void run_debug_grads(const DebugGradsOptions& o) {
  Model m = model_load(o.model);
  LoraAdapter lora = lora_load(o.adapter, m.config);
  std::vector<int32_t> ids = parse_token_list(o.tokens, "--tokens");
  const int64_t T = static_cast<int64_t>(ids.size());
  for (int32_t id : ids)
    if (id < 0 || id >= m.config.vocab) throw Error("--tokens", "token id " + std::to_string(id) + " outside the vocabulary");
  if (o.prompt_len < 1 || o.prompt_len >= T)
    throw Error("--prompt-len", "must be between 1 and the number of tokens minus 1 (" + std::to_string(T - 1) + ")");
  std::vector<int32_t> targets(T, kIgnoreIndex);
  for (int64_t i = o.prompt_len - 1; i + 1 < T; i++) targets[i] = ids[i + 1];
  TrainBatch b;
  b.append(ids, targets);
  const int64_t scored = T - o.prompt_len;
  LoraAdapter grads = lora_zeros_like(lora);
  TrainStepOptions opt;  // no dropout
  LossStats st = model_train_step(m, lora, grads, b, 1.0f / static_cast<float>(scored), opt);
  std::vector<TensorToWrite> ts;
  for (size_t l = 0; l < grads.layers.size(); l++)
    for (int t = 0; t < kLoraTargets; t++) {
      const LoraMatrix& g = grads.layers[l][t];
      if (!g.active()) continue;
      const auto tt = static_cast<LoraTarget>(t);
      const int64_t r = lora.config.rank;
      ts.push_back({lora_tensor_name(lora.names, static_cast<int>(l), tt, 'A'), DType::F32, {r, g.in}, g.a.data()});
      ts.push_back({lora_tensor_name(lora.names, static_cast<int>(l), tt, 'B'), DType::F32, {g.out, r}, g.b.data()});
    }
  safetensors_write(o.out, ts, {{"loss", std::to_string(st.loss_sum / static_cast<double>(scored))}});
  std::printf("loss %.8f\n", st.loss_sum / static_cast<double>(scored));
}

}  // namespace

void register_tune_commands(CLI::App& app) {
  auto* tune = app.add_subcommand("tune", "Fine-tune a model with LoRA adapters");
  tune->require_subcommand(1);
  static SftConfig c;
  static std::string scheduler = "cosine";
  auto* s = tune->add_subcommand("sft", "Supervised tuning on prompt/response examples");
  s->add_option("--source-model", c.source_model, "Base model directory or .gguf")->required();
  s->add_option("--train", c.train_path, "Training data (JSONL; path, file:// or gs:// URI)")->required();
  s->add_option("--validation", c.validation_path, "Validation data");
  s->add_option("--output", c.output_dir, "Output directory (default tuned/<display name>)");
  s->add_option("--tuned-model-display-name", c.display_name, "Name of the tuned model");
  s->add_option("--epochs", c.epochs, "Passes over the data (default: from dataset size)");
  s->add_option("--adapter-size", c.adapter_size, "LoRA rank (1, 4, 8, 16, ... up to 256)");
  s->add_option("--learning-rate-multiplier", c.learning_rate_multiplier, "Scales the default learning rate 2e-4");
  s->add_option("--lora-alpha", c.lora_alpha, "LoRA alpha (default 2 x rank)");
  s->add_option("--lora-dropout", c.lora_dropout, "Dropout on the adapter input");
  s->add_flag("--use-rslora", c.use_rslora, "Scale by alpha/sqrt(r) (rsLoRA)");
  s->add_option("--target-modules", c.target_modules, "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj or all-linear")
      ->delimiter(',');
  s->add_option("--learning-rate", c.learning_rate, "Peak learning rate (overrides the multiplier)");
  s->add_option("--batch-size", c.batch_size, "Examples per micro-batch");
  s->add_option("--gradient-accumulation-steps", c.gradient_accumulation_steps, "Micro-batches per optimizer step");
  s->add_option("--max-seq-length", c.max_seq_length, "Longer examples are truncated");
  s->add_option("--warmup-ratio", c.warmup_ratio, "Fraction of steps warming up");
  s->add_option("--lr-scheduler", scheduler, "cosine, linear or constant");
  s->add_option("--weight-decay", c.weight_decay, "AdamW weight decay");
  s->add_option("--max-grad-norm", c.max_grad_norm, "Global gradient-norm clip (0 = off)");
  s->add_option("--eval-steps", c.eval_steps, "Evaluate every N steps (and at epoch ends)");
  s->add_option("--save-steps", c.save_steps, "Checkpoint every N steps (and at epoch ends)");
  s->add_option("--save-total-limit", c.save_total_limit, "Newest checkpoints kept (0 = all)");
  s->add_option("--early-stopping-patience", c.early_stopping_patience, "Stop after K evaluations without improvement");
  s->add_option("--seed", c.seed, "Seed for shuffling, initialization and dropout");
  s->add_option("--max-steps", c.max_steps, "Stop after N optimizer steps");
  s->add_option("--init-adapter", c.init_adapter, "Start from an existing PEFT adapter");
  s->add_option("--resume", c.resume, "Resume from a checkpoint directory");
  s->add_flag("--gradient-checkpointing", c.gradient_checkpointing, "Recompute activations to save memory");
  s->add_flag("--packing", c.packing, "Pack examples into micro-batches of batch-size x max-seq-length tokens");
  s->add_option("--threads", c.threads, "CPU threads (default: all cores)");
  s->add_option("--precision", c.precision, "exact (fp32) or bf16 matrix products");
  s->add_option_function<std::string>(
      "--max-memory", [&c](const std::string& v) { c.max_memory_bytes = parse_byte_size(v, "--max-memory"); },
      "Refuse runs estimated above this (e.g. 8G; default: the memory available)");
  s->callback([] {
    c.lr_scheduler = lr_schedule_parse(scheduler);
    run_tune_sft(c);
  });

  static std::string merge_model, merge_adapter, merge_out, merge_output = "text";
  auto* mg = app.add_subcommand("merge", "Merge a LoRA adapter into its base model (writes a HF checkpoint)");
  mg->add_option("--model", merge_model, "Base model directory")->required();
  mg->add_option("--adapter", merge_adapter, "PEFT adapter directory")->required();
  mg->add_option("--out", merge_out, "Output directory (not the model's or the adapter's)")->required();
  mg->add_option("--output", merge_output, "What to print: text or json")->check(CLI::IsMember({"text", "json"}));
  mg->callback([] {
    std::vector<NamedPath> inputs = model_input_files(merge_model);
    for (NamedPath p : model_input_files(merge_adapter)) inputs.push_back({"the adapter's file", p.path});
    check_outputs_distinct(inputs, {{"--out", merge_out}});
    Model m = model_load(merge_model);
    LoraAdapter a = lora_load(merge_adapter, m.config);
    int n_merged = 0;
    {
      ProgressLine progress("merge");
      n_merged = model_merge_lora(m, a, merge_out, [&](int done, int total) { progress.update("layer", done, total); });
    }
    if (merge_output == "json")
      std::printf("%s\n", nlohmann::json{{"model", merge_model}, {"adapter", merge_adapter}, {"out", merge_out},
                                         {"weights", merge_out + "/model.safetensors"},
                                         {"matrices_merged", n_merged}}.dump().c_str());
    else
      std::printf("merged %s into %s -> %s\n", merge_adapter.c_str(), merge_model.c_str(), merge_out.c_str());
  });

  auto* debug = app.add_subcommand("debug", "Diagnostics for checking ports");
  debug->require_subcommand(1);
  static DebugGradsOptions dg;
  auto* g = debug->add_subcommand("grads", "Write LoRA gradients of the mean cross-entropy as safetensors");
  g->add_option("--model", dg.model, "Model directory or .gguf")->required();
  g->add_option("--adapter", dg.adapter, "PEFT adapter directory")->required();
  g->add_option("--tokens", dg.tokens, "Comma-separated token ids")->required();
  g->add_option("--prompt-len", dg.prompt_len, "Leading tokens not scored")->required();
  g->add_option("--out", dg.out, "Output .safetensors")->required();
  g->callback([] { run_debug_grads(dg); });
}

}  // namespace loam::cli
