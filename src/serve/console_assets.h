// The web console's static files (web/dist, built by scripts/build-web.sh),
// compiled into the binary by cmake/embed_console.cmake. When web/dist was
// not built, the table is empty and `/` says how to build it.
#pragma once

#include <cstddef>
#include <string>

namespace loam {

struct ConsoleAsset {
  const char* path;          // "index.html", "app.js", "vendor/uPlot.esm.js"
  const char* content_type;  // from the extension
  const unsigned char* data;
  size_t size;
};

extern const ConsoleAsset kConsoleAssets[];
extern const size_t kConsoleAssetCount;

const ConsoleAsset* console_asset_find(const std::string& path);  // nullptr when absent

// The console's pages and files need no API key (they hold no data; the
// console asks for the key and sends it with each API request).
bool console_path_public(const std::string& path);

}  // namespace loam
