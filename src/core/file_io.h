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
#include <utility>
#include <vector>

namespace loam {

std::string file_read_all(const std::string& path);

void file_write_atomic(const std::string& path, std::string_view bytes);

// For large outputs: `write` is called with an open FILE* positioned at the
// start of the temporary file; the rename happens only if it returns normally.
void file_write_atomic_with(const std::string& path,
                           const std::function<void(std::FILE*)>& write);

// A file a command reads or writes, with the name the user gave it: the flag
// ("--train") or a description ("the model's weights").
struct NamedPath {
  std::string role;
  std::string path;
};

// Refuses a command whose outputs would write over one of its inputs, or two
// of whose outputs are the same file. Paths are compared as the file system
// resolves them: an existing path by device and inode (so symlinks, hard links
// and "a/../b" spellings all match), a path that does not exist yet by its
// canonical form (its existing parent resolved). Directories compare the
// same way (pass the model directory and the output directory to refuse
// writing into the directory being read).
// Throws Error naming both paths and their roles.
void check_outputs_distinct(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs);

// Several output files that must appear together or not at all: each is
// written to temp_for(path) ("<path>.tmp.<pid>"), and commit() renames them
// all into place once every write succeeded. A stage destroyed before commit()
// removes its temporaries, leaving the previous outputs as they were.
class FileStage {
 public:
  FileStage() = default;
  FileStage(const FileStage&) = delete;
  FileStage& operator=(const FileStage&) = delete;
  ~FileStage();
  // The temporary name to write for `path` (its directory must exist).
  std::string temp_for(const std::string& path);
  // Renames every temporary over its path, then fsyncs their directories.
  // Throws Error naming the path that could not be renamed.
  void commit();

 private:
  std::vector<std::pair<std::string, std::string>> files_;  // (temporary, final)
};

bool file_exists(const std::string& path);
bool dir_exists(const std::string& path);

}  // namespace loam
