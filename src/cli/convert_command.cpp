// `loam convert`: write a model as a GGUF file (F32, F16, BF16 or Q8_0
// matrices) that llama.cpp and Loam load; used to benchmark both on the same
// file and to hand tuned, merged models to llama.cpp users.
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/progress_line.h"
#include "core/error.h"
#include "core/file_io.h"
#include "model/gguf_export.h"
#include "model/model.h"
#include "tokenizer/model_text.h"

namespace loam::cli {

void register_convert_command(CLI::App& app) {
  static std::string model, out, dtype = "f32", output = "text";
  static bool no_tokenizer = false;
  auto* c = app.add_subcommand("convert", "Convert a model to GGUF (f32, f16, bf16 or q8_0)");
  c->add_option("--model", model, "Model directory or .gguf")->required();
  c->add_option("--out", out, "Output .gguf file")->required();
  c->add_option("--dtype", dtype, "Matrix storage: f32, f16, bf16 or q8_0");
  c->add_option("--output", output, "What to print: text or json")->check(CLI::IsMember({"text", "json"}));
  c->add_flag("--no-tokenizer", no_tokenizer, "Write weights only (for benchmark checkpoints without a tokenizer)");
  c->callback([] {
    DType dt;
    if (dtype == "f32") dt = DType::F32;
    else if (dtype == "f16") dt = DType::F16;
    else if (dtype == "bf16") dt = DType::BF16;
    else if (dtype == "q8_0") dt = DType::Q8_0;
    else throw Error("--dtype", "unknown dtype \"" + dtype + "\"", "choose f32, f16, bf16 or q8_0");
    check_outputs_distinct(model_input_files(model), {{"--out", out}});
    Model m = model_load(model);
    std::optional<ModelText> text;
    if (!no_tokenizer) {
      text = model_text_load(model);
      model_text_check_vocab(*text, m.config.vocab, m.path + ": vocab_size");
    }
    {
      ProgressLine progress("convert");
      model_export_gguf(m, text ? &*text : nullptr, dt, out,
                        [&](int done, int total) { progress.update("layer", done, total); });
    }
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(out, ec);
    if (output == "json")
      std::printf("%s\n", nlohmann::json{{"model", model}, {"out", out}, {"dtype", dtype}, {"bytes", ec ? 0 : bytes},
                                         {"tokenizer", text.has_value()}}.dump().c_str());
    else
      std::printf("wrote %s (%s)\n", out.c_str(), dtype.c_str());
  });
}

}  // namespace loam::cli
