// `loam bench`: prompt-processing and decode throughput like llama.cpp's
// llama-bench (pp: one forward over N prompt tokens with logits for the last
// position only; tg: N single-token decode steps from an empty context).
#pragma once

namespace CLI {
class App;
}

namespace loam::cli {
void register_bench_command(CLI::App& app);
}
