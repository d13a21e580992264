// Placeholder until the trainer lands (issue 4).
#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace loam::cli {
void register_tune_commands(CLI::App& app) { (void)app; }
}  // namespace loam::cli
