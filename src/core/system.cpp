#include "core/system.h"

#include <cstdio>
#include <fstream>
#include <string>

namespace loam {
namespace {

int64_t read_kb_field(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string k;
  int64_t v;
  std::string unit;
  while (in >> k) {
    if (k == key) {
      if (in >> v) return v * 1024;
      return -1;
    }
    std::getline(in, unit);
  }
  return -1;
}

}  // namespace

int64_t system_memory_available() { return read_kb_field("/proc/meminfo", "MemAvailable:"); }
int64_t process_peak_rss() { return read_kb_field("/proc/self/status", "VmHWM:"); }

std::string human_bytes(int64_t b) {
  char buf[64];
  if (b >= (1LL << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(b) / (1LL << 30));
  else std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(b) / (1LL << 20));
  return buf;
}

}  // namespace loam
