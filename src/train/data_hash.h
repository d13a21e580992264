// Fingerprints of a run's data files, saved with its checkpoints so a resumed
// run can tell that its data changed (sft_resume_check).
#pragma once

#include <string>

namespace loam {

// SHA-256 of a file's bytes, lowercase hex (OpenSSL's EVP digest). Throws
// Error (NotFound) when the file cannot be read.
std::string file_sha256(const std::string& path);
// SHA-256 of bytes in memory, lowercase hex.
std::string bytes_sha256(const std::string& bytes);

}  // namespace loam
