#include "data/prepare.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "core/file_io.h"
#include "core/uri.h"

namespace loam {
namespace {

struct InputHasErrors {};  // aborts the atomic write; never escapes this file

}  // namespace

PrepareResult dataset_prepare(const std::string& in_uri, const std::string& out_uri, const DatasetOptions& options) {
  PrepareResult result;
  std::string out_path = uri_resolve(out_uri, options.bucket_root);
  check_outputs_distinct({{"input", uri_resolve(in_uri, options.bucket_root)}}, {{"--out", out_path}});
  try {
    file_write_atomic_with(out_path, [&](std::FILE* f) {
      result.report = dataset_validate(in_uri, options, [&](Example&& e, std::string_view, bool) {
        std::string line = example_to_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
        line += '\n';
        if (std::fwrite(line.data(), 1, line.size(), f) != line.size())
          throw Error(ErrorKind::Internal, out_path, std::string("write failed: ") + std::strerror(errno));
        ++result.n_written;
      });
      if (!result.report.ok()) throw InputHasErrors{};
    });
  } catch (const InputHasErrors&) {
    result.n_written = 0;
  }
  return result;
}

}  // namespace loam
