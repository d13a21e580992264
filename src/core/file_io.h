// Whole-file reads and durable writes.
//
// file_write_atomic writes to "<path>.tmp.<pid>", fsyncs, renames over
// <path> and fsyncs the directory: readers see the old file or the new one,
// never half of either. Throws loam::Error naming the path on failure and
// removes the temporary file.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace loam {

std::string file_read_all(const std::string& path);

void file_write_atomic(const std::string& path, std::string_view bytes);

// For large outputs: `write` is called with an open FILE* positioned at the
// start of the temporary file; the rename happens only if it returns normally.
void file_write_atomic_with(const std::string& path,
                           const std::function<void(std::FILE*)>& write);

bool file_exists(const std::string& path);
bool dir_exists(const std::string& path);

}  // namespace loam
