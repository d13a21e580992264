// Subcommand groups of the `loam` binary. Each group lives in its own file
// and adds its subcommands to the app; main() only wires them together and
// is the one place that catches loam::Error and turns it into an exit code.
#pragma once

namespace CLI {
class App;
}

namespace loam::cli {

void register_engine_commands(CLI::App& app);  // inspect tokenize chat-template generate logits bench convert
void register_data_commands(CLI::App& app);    // data validate | prepare | split | stats
void register_tune_commands(CLI::App& app);    // tune sft, merge, debug grads
void register_convert_command(CLI::App& app);  // convert (HF -> GGUF)
void register_eval_command(CLI::App& app);     // eval
void register_registry_commands(CLI::App& app); // models ..., jobs ...
void register_serve_commands(CLI::App& app);    // serve, job-worker (hidden)
void register_endpoint_commands(CLI::App& app); // endpoints create | deploy | undeploy | set-traffic | list | get

}  // namespace loam::cli
