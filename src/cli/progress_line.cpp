#include "cli/progress_line.h"

#include <unistd.h>

#include <cstdio>

namespace loam::cli {

ProgressLine::ProgressLine(std::string what) : what_(std::move(what)), enabled_(isatty(fileno(stderr)) != 0) {}

ProgressLine::~ProgressLine() {
  if (drawn_) std::fprintf(stderr, "\n");
}

void ProgressLine::update(const char* unit, int64_t done, int64_t total) {
  if (!enabled_ || total <= 0) return;
  std::fprintf(stderr, "\r\033[K%s: %s %lld/%lld (%.0f%%)", what_.c_str(), unit, static_cast<long long>(done),
               static_cast<long long>(total), 100.0 * static_cast<double>(done) / static_cast<double>(total));
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace loam::cli
