// Bytes from untrusted files made safe to show in a message.
#pragma once

#include <string>
#include <string_view>

namespace loam {

// `s` as a message may show it: printable ASCII and valid UTF-8 unchanged,
// other bytes (controls, stray continuation bytes) and backslashes escaped
// as \xNN and \\, and at most 200 bytes of it followed by "..." (for names
// read from untrusted files, such as a GGUF key or tensor name).
std::string error_escape(std::string_view s);

}  // namespace loam
