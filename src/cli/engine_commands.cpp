// Engine commands: inspect, tokenize, chat-template, generate, logits, bench.
// Flags bind to plain option structs here and nowhere else; each command's
// work lives in its own function below.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "cli/bench_command.h"
#include "cli/commands.h"
#include "cli/token_list.h"
#include "core/error.h"
#include "data/jsonl_reader.h"
#include "formats/npy.h"
#include "kernels/matmul.h"
#include "model/decoder.h"
#include "model/generate.h"
#include "model/lora.h"
#include "model/model.h"
#include "model/transformer.h"
#include "registry/data_dir.h"
#include "registry/model_ref.h"
#include "registry/store.h"
#include "tokenizer/model_text.h"

namespace loam::cli {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------- inspect
struct InspectOptions {
  std::string model;
  bool json = false;
};

void run_inspect(const InspectOptions& o) {
  Model m = model_load(o.model);
  const ModelConfig& c = m.config;
  std::map<std::string, int64_t> dtypes;  // matrices per stored dtype
  auto count = [&](const WeightView& w) { dtypes[dtype_name(w.dtype)] += w.n_rows * w.n_cols; };
  count(m.weights.embed);
  if (m.weights.lm_head.data != m.weights.embed.data) count(m.weights.lm_head);
  for (const auto& L : m.weights.layers)
    for (const WeightView* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) count(*w);
  bool has_template = false;
  std::string tokenizer_status = "ok";
  try {
    ModelText t = model_text_load(o.model);
    model_text_check_vocab(t, c.vocab, m.path + ": vocab_size");
    has_template = t.chat_template.has_value();
  } catch (const Error& e) {
    tokenizer_status = e.what();
  }
  const int64_t weights = model_weight_bytes(m);
  const int64_t kv_per_token = 2LL * c.n_layers * c.kv_dim() * 4;
  json j = {
      {"path", m.path}, {"format", m.format}, {"architecture", c.arch}, {"hf_architecture", c.hf_architecture},
      {"parameters", model_param_count(m)}, {"dtypes", dtypes}, {"context_length", c.max_position},
      {"layers", c.n_layers}, {"hidden_size", c.hidden}, {"attention_heads", c.n_heads},
      {"kv_heads", c.n_kv_heads}, {"head_dim", c.head_dim}, {"intermediate_size", c.intermediate},
      {"vocab_size", c.vocab}, {"tied_embeddings", c.tie_embeddings}, {"sliding_window", c.sliding_window},
      {"chat_template", has_template}, {"tokenizer", tokenizer_status}, {"eos_ids", m.generation.eos_ids},
      {"memory", {{"weights_bytes", weights}, {"kv_cache_bytes_per_token", kv_per_token},
                  {"kv_cache_bytes_full_context", kv_per_token * c.max_position},
                  {"total_bytes_full_context", weights + kv_per_token * c.max_position}}},
  };
  if (o.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  auto gib = [](int64_t b) { return static_cast<double>(b) / (1024.0 * 1024.0 * 1024.0); };
  std::printf("model          %s (%s)\n", m.path.c_str(), m.format.c_str());
  std::printf("architecture   %s (%s)\n", c.arch.c_str(), c.hf_architecture.c_str());
  std::printf("parameters     %.1f M\n", static_cast<double>(model_param_count(m)) / 1e6);
  std::printf("dtypes        ");
  for (auto& [k, v] : dtypes) std::printf(" %s: %.1f M", k.c_str(), static_cast<double>(v) / 1e6);
  std::printf("\nshape          %d layers, hidden %d, %d heads / %d kv heads of %d, mlp %d, vocab %d\n",
              c.n_layers, c.hidden, c.n_heads, c.n_kv_heads, c.head_dim, c.intermediate, c.vocab);
  std::printf("context        %d tokens%s\n", c.max_position,
              c.sliding_window ? (", sliding window " + std::to_string(c.sliding_window)).c_str() : "");
  std::printf("chat template  %s\n", has_template ? "yes" : "no");
  std::printf("tokenizer      %s\n", tokenizer_status.c_str());
  std::printf("memory         weights %.2f GiB + KV cache %.1f KiB/token (%.2f GiB at full context)\n",
              gib(weights), static_cast<double>(kv_per_token) / 1024.0, gib(kv_per_token * c.max_position));
}

// ---------------------------------------------------------------- tokenize
struct TokenizeOptions {
  std::string tokenizer, text, input;
  bool add_special = false;
};

void run_tokenize(const TokenizeOptions& o) {
  ModelText t = model_text_load(o.tokenizer);
  auto print_ids = [](const std::vector<int32_t>& ids) { std::printf("%s\n", json{{"ids", ids}}.dump().c_str()); };
  if (!o.input.empty()) {
    for_each_jsonl(o.input, [&](const json& j, const std::string& where) {
      if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
        throw Error(where + ": field text", "expected a string");
      print_ids(t.tokenizer.encode(j["text"].get<std::string>(), o.add_special));
    });
  } else {
    print_ids(t.tokenizer.encode(o.text, o.add_special));
  }
}

// ---------------------------------------------------------------- chat-template
struct ChatTemplateOptions {
  std::string model, input;
};

void run_chat_template(const ChatTemplateOptions& o) {
  ModelText t = model_text_load(o.model);
  for_each_jsonl(o.input, [&](const json& j, const std::string& where) {
    if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array())
      throw Error(where + ": field messages", "expected an array of messages");
    bool gen = j.value("add_generation_prompt", false);
    json kwargs = j.contains("template_kwargs") ? j["template_kwargs"] : json::object();
    if (!kwargs.is_object()) throw Error(where + ": field template_kwargs", "expected an object");
    std::string out;
    try {
      out = model_text_render(t, j["messages"], gen, kwargs);
    } catch (const Error& e) {
      throw Error(where, e.what());
    }
    std::printf("%s\n", json{{"rendered", out}}.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
  });
}

// ---------------------------------------------------------------- generate
struct GenerateOptions {
  std::string model, prompt, system, adapter;
  std::string data_dir;         // the registry --model may name a model of
  std::string input;            // JSONL of prompts, generated as one batch
  std::string output = "text";  // text or json
  bool chat = false;
  int max_tokens = 256;
  float temperature = 0.0f, top_p = 1.0f, min_p = 0.0f, repetition_penalty = 1.0f;
  int top_k = 0;
  uint64_t seed = 0;
  std::vector<std::string> stop;
  bool show_stats = false;
  int threads = 0;
  int batch = 16;               // most sequences in flight (--input)
};

// The request of one prompt with the command's settings; messages (a chat)
// when non-null, else text.
GenerateRequest generate_request(const GenerateOptions& o, const Model& m, const ModelText& t, const std::string& text,
                                 const json* messages) {
  GenerateRequest req;
  if (messages) {
    req.prompt = model_text_encode_rendered(t, model_text_render(t, *messages, true));
  } else if (o.chat) {
    json msgs = json::array();
    if (!o.system.empty()) msgs.push_back({{"role", "system"}, {"content", o.system}});
    msgs.push_back({{"role", "user"}, {"content", text}});
    req.prompt = model_text_encode_rendered(t, model_text_render(t, msgs, true));
  } else {
    if (!o.system.empty()) throw Error("--system", "only applies with --chat");
    req.prompt = t.tokenizer.encode(text, /*add_special_tokens=*/true);
  }
  req.max_tokens = o.max_tokens;
  req.sampling = {o.temperature, o.top_k, o.top_p, o.min_p, o.repetition_penalty, o.seed};
  req.stop = o.stop;
  req.eos_ids = m.generation.eos_ids;
  for (int32_t id : t.eos_ids)
    if (std::find(req.eos_ids.begin(), req.eos_ids.end(), id) == req.eos_ids.end()) req.eos_ids.push_back(id);
  return req;
}

void check_context(const GenerateRequest& req, const Model& m, const std::string& where) {
  if (static_cast<int64_t>(req.prompt.size()) + req.max_tokens > m.config.max_position)
    throw Error(where, "prompt (" + std::to_string(req.prompt.size()) + " tokens) plus max tokens exceeds the context length " +
                           std::to_string(m.config.max_position));
}

json result_json(const GenerateResult& r, int64_t index) {
  return {{"index", index}, {"text", r.text}, {"tokens", r.tokens}, {"finish_reason", finish_reason_name(r.finish)},
          {"prompt_tokens", r.n_prompt}, {"completion_tokens", r.tokens.size()},
          {"prefill_seconds", r.prefill_seconds}, {"decode_seconds", r.decode_seconds}};
}

// One request per line of o.input: {"prompt": text} or {"messages": [...]},
// optional max_tokens, temperature, seed.
std::vector<GenerateRequest> read_generate_input(const GenerateOptions& o, const Model& m, const ModelText& t) {
  std::vector<GenerateRequest> reqs;
  for_each_jsonl(o.input, [&](const json& j, const std::string& where) {
    if (!j.is_object()) throw Error(where, "expected an object with prompt or messages");
    const bool has_prompt = j.contains("prompt"), has_messages = j.contains("messages");
    if (has_prompt == has_messages) throw Error(where, "give exactly one of prompt and messages");
    if (has_prompt && !j["prompt"].is_string()) throw Error(where + ": field prompt", "expected a string");
    if (has_messages && !j["messages"].is_array()) throw Error(where + ": field messages", "expected an array of messages");
    GenerateRequest req;
    try {
      req = generate_request(o, m, t, has_prompt ? j["prompt"].get<std::string>() : std::string(),
                             has_messages ? &j["messages"] : nullptr);
    } catch (const Error& e) {
      throw Error(where, e.what());
    }
    if (j.contains("max_tokens")) {
      if (!j["max_tokens"].is_number_integer() || j["max_tokens"].get<int64_t>() < 0 || j["max_tokens"].get<int64_t>() > (1 << 20))
        throw Error(where + ": field max_tokens", "expected an integer from 0 to 1048576");
      req.max_tokens = j["max_tokens"].get<int>();
    }
    if (j.contains("temperature")) {
      if (!j["temperature"].is_number() || j["temperature"].get<double>() < 0 || j["temperature"].get<double>() > 100)
        throw Error(where + ": field temperature", "expected a number from 0 to 100");
      req.sampling.temperature = j["temperature"].get<float>();
    }
    if (j.contains("seed")) {
      if (!j["seed"].is_number_unsigned()) throw Error(where + ": field seed", "expected a non-negative integer");
      req.sampling.seed = j["seed"].get<uint64_t>();
    }
    check_context(req, m, where + ": field max_tokens");
    reqs.push_back(std::move(req));
  });
  return reqs;
}

// All of reqs through one BatchDecoder, at most o.batch at a time; results in input order.
std::vector<GenerateResult> generate_batch(const GenerateOptions& o, const Model& m, const Tokenizer& tok,
                                           const std::vector<GenerateRequest>& reqs) {
  BatchDecoder dec(m, tok);
  std::vector<GenerateResult> results(reqs.size());
  std::map<int64_t, size_t> index_of;  // decoder id -> input index
  size_t next = 0;
  while (next < reqs.size() || dec.n_running() > 0) {
    while (next < reqs.size() && dec.n_running() < o.batch) index_of[dec.add(reqs[next])] = next, next++;
    for (int64_t id : dec.step()) results[index_of.at(id)] = dec.take(id);
  }
  return results;
}

// --model names a registered model when no such file exists: an id, display
// name or resource name, with @version or @alias (a tuning job's checkpoint:
// NAME@checkpoint-<step>). A tuned model is its base plus its adapter.
void model_from_registry(GenerateOptions& o) {
  std::error_code ec;
  if (std::filesystem::exists(o.model, ec)) return;
  const std::string dir = data_dir_resolve(o.data_dir);
  if (!std::filesystem::exists(dir + "/registry.db", ec))
    throw Error(ErrorKind::NotFound, "--model", o.model + " is neither a model directory or .gguf file nor a registered model (no registry in " + dir + ")");
  std::unique_ptr<Store> store = store_open(dir);
  const ModelRecord m = model_resolve(*store, o.model, "--model");
  model_artifact_check(m, "--model");
  if (m.kind != "tuned") {
    o.model = m.artifact_path;
    return;
  }
  if (!o.adapter.empty())
    throw Error("--adapter", "--model " + o.model + " is a tuned model, which brings its own adapter");
  auto base = store->model_get(m.base_model_id, m.base_version_id);
  if (!base) throw Error(ErrorKind::FailedPrecondition, "--model", "the base model of " + m.id + " (" + m.base_model_id + ") is no longer registered");
  o.model = base->artifact_path;
  o.adapter = m.artifact_path;
}

void run_generate(GenerateOptions o) {
  if (o.output != "text" && o.output != "json") throw Error("--output", "expected text or json");
  if (o.input.empty() == o.prompt.empty()) throw Error("generate", "give exactly one of --prompt and --input");
  model_from_registry(o);
  Model m = model_load(o.model);
  m.compute.threads = o.threads;
  ModelText t = model_text_load(o.model);
  model_text_check_vocab(t, m.config.vocab, m.path + ": vocab_size");
  std::unique_ptr<LoraAdapter> lora;
  if (!o.adapter.empty()) {
    lora = std::make_unique<LoraAdapter>(lora_load(o.adapter, m.config));
    lora_prepare_decode(*lora);
  }
  const bool json_out = o.output == "json";
  if (!o.input.empty()) {
    std::vector<GenerateRequest> reqs = read_generate_input(o, m, t);
    for (GenerateRequest& r : reqs) r.lora = lora.get();
    const std::vector<GenerateResult> results = generate_batch(o, m, t.tokenizer, reqs);
    for (size_t i = 0; i < results.size(); i++) {
      if (json_out) std::printf("%s\n", result_json(results[i], static_cast<int64_t>(i)).dump(-1, ' ', false, json::error_handler_t::replace).c_str());
      else std::printf("%s\n", results[i].text.c_str());
    }
    return;
  }
  GenerateRequest req = generate_request(o, m, t, o.prompt, nullptr);
  check_context(req, m, "--max-tokens");
  req.lora = lora.get();
  GenerateResult r = generate(m, t.tokenizer, req, [json_out](std::string_view piece) {
    if (json_out) return;
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  });
  if (json_out) std::printf("%s\n", result_json(r, 0).dump(-1, ' ', false, json::error_handler_t::replace).c_str());
  else std::printf("\n");
  if (o.show_stats)
    std::fprintf(stderr, "[%lld prompt tokens in %.3fs, %zu generated in %.3fs (%.1f tok/s), finish: %s]\n",
                 static_cast<long long>(r.n_prompt), r.prefill_seconds, r.tokens.size(), r.decode_seconds,
                 r.decode_seconds > 0 ? r.tokens.size() / r.decode_seconds : 0.0, finish_reason_name(r.finish));
}

// ---------------------------------------------------------------- logits
struct LogitsOptions {
  std::string model, tokens, out, adapter;
  int threads = 0;
};

void run_logits(const LogitsOptions& o) {
  Model m = model_load(o.model);
  m.compute.threads = o.threads;
  std::vector<int32_t> ids = parse_token_list(o.tokens, "--tokens");
  const int64_t T = static_cast<int64_t>(ids.size()), V = m.config.vocab;
  for (int32_t id : ids)
    if (id >= V) throw Error("--tokens", "token id " + std::to_string(id) + " is outside the vocabulary (" + std::to_string(V) + ")");
  std::unique_ptr<LoraAdapter> lora;
  if (!o.adapter.empty()) lora = std::make_unique<LoraAdapter>(lora_load(o.adapter, m.config));
  KvCache cache(m.config, T);
  std::vector<float> logits(static_cast<size_t>(T * V));
  model_forward(m, lora.get(), cache, ids.data(), T, logits.data(), T);
  npy_write_f32(o.out, logits.data(), {T, V});
  double nll = 0.0;
  for (int64_t t = 0; t + 1 < T; t++) {
    const float* row = logits.data() + t * V;
    double mx = row[0];
    for (int64_t v = 1; v < V; v++) mx = std::max(mx, static_cast<double>(row[v]));
    double sum = 0.0;
    for (int64_t v = 0; v < V; v++) sum += std::exp(row[v] - mx);
    nll += std::log(sum) + mx - row[ids[t + 1]];
  }
  if (T > 1) std::printf("mean next-token cross-entropy: %.6f over %lld targets\n", nll / (T - 1), static_cast<long long>(T - 1));
  else std::printf("mean next-token cross-entropy: n/a (one token)\n");
}

void add_threads_option(CLI::App* cmd, int* threads) {
  cmd->add_option("--threads", *threads, "CPU threads (default: all cores)")->check(CLI::Range(1, 1024));
}

}  // namespace

void register_engine_commands(CLI::App& app) {
  static InspectOptions inspect;
  auto* c = app.add_subcommand("inspect", "Show a model's architecture, size, dtypes and memory needs");
  c->add_option("model", inspect.model, "Model directory or .gguf file")->required();
  c->add_flag("--json", inspect.json, "Print one JSON object");
  c->callback([] { run_inspect(inspect); });

  static TokenizeOptions tok;
  c = app.add_subcommand("tokenize", "Turn text into token ids");
  c->add_option("--tokenizer", tok.tokenizer, "tokenizer.json, model directory or .gguf")->required();
  auto* text = c->add_option("--text", tok.text, "Text to tokenize");
  auto* input = c->add_option("--input", tok.input, "JSONL file of {\"text\": ...} lines");
  text->excludes(input);
  c->add_flag("--add-special-tokens", tok.add_special, "Add the tokenizer's special tokens (e.g. bos)");
  c->callback([text, input] {
    if (!*text && !*input) throw Error("tokenize", "give --text or --input");
    run_tokenize(tok);
  });

  static ChatTemplateOptions ct;
  c = app.add_subcommand("chat-template", "Render conversations with a model's chat template");
  c->add_option("--model", ct.model, "Model directory or .gguf file")->required();
  c->add_option("--input", ct.input, "JSONL: {\"messages\": [...], \"add_generation_prompt\": bool, \"template_kwargs\": {...}}")->required();
  c->callback([] { run_chat_template(ct); });

  static GenerateOptions gen;
  c = app.add_subcommand("generate", "Generate text, streaming tokens as they come (--input: many prompts, batched)");
  c->add_option("--model", gen.model, "Model directory or .gguf file, or a registered model (NAME[@VERSION|@ALIAS])")->required();
  c->add_option("--data-dir", gen.data_dir, "Registry a registered --model is in (env LOAM_DATA_DIR, default ~/.loam)");
  auto* prompt = c->add_option("--prompt", gen.prompt, "Prompt text");
  auto* gen_input = c->add_option("--input", gen.input,
                                  "JSONL of prompts: {\"prompt\": ...} or {\"messages\": [...]}, optional max_tokens, temperature, seed");
  prompt->excludes(gen_input);
  c->add_option("--output", gen.output, "text, or json (text, tokens, finish reason and timings per prompt)");
  c->add_option("--batch", gen.batch, "Most prompts decoded at once (--input)")->check(CLI::Range(1, 4096));
  c->add_flag("--chat", gen.chat, "Wrap the prompt as a user turn with the model's chat template");
  c->add_option("--system", gen.system, "System prompt (with --chat)");
  c->add_option("--adapter", gen.adapter, "PEFT LoRA adapter directory to apply");
  c->add_option("--max-tokens", gen.max_tokens, "Most tokens to generate")->check(CLI::Range(0, 1 << 20));
  c->add_option("--temperature", gen.temperature, "0 = greedy")->check(CLI::Range(0.0, 100.0));
  c->add_option("--top-p", gen.top_p, "Nucleus sampling mass")->check(CLI::Range(0.0, 1.0));
  c->add_option("--top-k", gen.top_k, "Keep the k most likely tokens (0 = off)")->check(CLI::NonNegativeNumber);
  c->add_option("--min-p", gen.min_p, "Drop tokens below min_p * p_max")->check(CLI::Range(0.0, 1.0));
  c->add_option("--repetition-penalty", gen.repetition_penalty, "Penalty for seen tokens (1 = off)")->check(CLI::Range(0.01, 100.0));
  c->add_option("--seed", gen.seed, "Sampling seed");
  c->add_option("--stop", gen.stop, "Stop sequence (repeatable)");
  c->add_flag("--stats", gen.show_stats, "Print timing to stderr");
  add_threads_option(c, &gen.threads);
  c->callback([] { run_generate(gen); });

  static LogitsOptions lg;
  c = app.add_subcommand("logits", "Write the logits of every position as .npy (for checking ports)");
  c->add_option("--model", lg.model, "Model directory or .gguf file")->required();
  c->add_option("--tokens", lg.tokens, "Comma-separated token ids")->required();
  c->add_option("--out", lg.out, "Output .npy file")->required();
  c->add_option("--adapter", lg.adapter, "PEFT LoRA adapter directory to apply");
  add_threads_option(c, &lg.threads);
  c->callback([] { run_logits(lg); });

  register_bench_command(app);
}

}  // namespace loam::cli
