// Facts about the machine the process runs on.
#pragma once

#include <cstdint>
#include <string>

namespace loam {

// MemAvailable from /proc/meminfo in bytes; -1 when unknown.
int64_t system_memory_available();
// Peak resident set size of this process (VmHWM) in bytes; -1 when unknown.
int64_t process_peak_rss();

// "512.0 MiB", "1.25 GiB": sizes as people read them.
std::string human_bytes(int64_t bytes);

}  // namespace loam
