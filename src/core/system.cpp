#include "core/system.h"

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

}  // namespace loam
