// SHA-256 (OpenSSL) of files and strings, as lowercase hex.
#pragma once

#include <string>
#include <string_view>

namespace loam {

std::string sha256_file(const std::string& path);  // throws Error naming the path
std::string sha256_string(std::string_view bytes);

}  // namespace loam
