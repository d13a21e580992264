// A one-line progress display for long commands (merge, convert): drawn on
// stderr only when stderr is a terminal, redrawn in place, finished with a
// newline. Elsewhere (logs, pipes, tests) it prints nothing.
#pragma once

#include <cstdint>
#include <string>

namespace loam::cli {

class ProgressLine {
 public:
  explicit ProgressLine(std::string what);
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine();  // ends the line if one was drawn

  // Shows "<what>: <unit> done/total (pct%)".
  void update(const char* unit, int64_t done, int64_t total);

 private:
  std::string what_;
  bool enabled_ = false;
  bool drawn_ = false;
};

}  // namespace loam::cli
