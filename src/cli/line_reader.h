// JSONL input for CLI commands that take one JSON object per line
// (tokenize --input, chat-template --input). Blank lines are skipped; a bad
// line throws Error "FILE:LINE: ..." naming it.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace loam::cli {

// fn(object, "FILE:LINE") for each non-blank line.
void for_each_jsonl(const std::string& path,
                    const std::function<void(const nlohmann::json&, const std::string&)>& fn);

}  // namespace loam::cli
