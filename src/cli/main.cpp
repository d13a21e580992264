// The `loam` command: wires the subcommand groups together and is the
// boundary where errors become messages and exit codes.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"loam: a self-hosted model garden (inspect, tokenize, generate, tune, eval)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "loam 0.1.0");
  loam::cli::register_engine_commands(app);
  loam::cli::register_data_commands(app);
  loam::cli::register_tune_commands(app);
  loam::cli::register_convert_command(app);
  loam::cli::register_eval_command(app);
  loam::cli::register_registry_commands(app);
  loam::cli::register_endpoint_commands(app);
  loam::cli::register_serve_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const loam::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
