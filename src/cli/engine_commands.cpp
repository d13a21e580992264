#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace loam::cli {
void register_engine_commands(CLI::App& app) { (void)app; }
}  // namespace loam::cli
