// The `loam` command: wires the subcommand groups together and is the
// boundary where errors become messages and exit codes.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/error.h"
#include "train/dist.h"

int main(int argc, char** argv) {
  loam::dist_init_if_launched(&argc, &argv);  // only under mpirun (tuning on several machines)
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
  } catch (const std::exception& e) {
    std::fflush(stdout);
    // Under mpirun one rank's error ends every rank (the others would wait
    // for it in the next collective), named by its rank.
    if (loam::dist_launched()) loam::dist_abort(std::string("error: ") + e.what(), 1);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  loam::dist_finalize();
  return 0;
}
