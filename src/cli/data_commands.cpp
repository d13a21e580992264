// Placeholder until the dataset layer lands (issue 3).
#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace loam::cli {
void register_data_commands(CLI::App& app) { (void)app; }
}  // namespace loam::cli
