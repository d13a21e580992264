// libFuzzer target: the list-filter and orderBy parsers and the evaluator.
// Any input must parse to a filter that evaluates (and formats back to text
// that parses to the same canonical form) or give a loam::Error, never a
// crash, a sanitizer finding or unbounded recursion.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "registry/list_filter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const loam::FilterRecord record{
      {{"display_name", "Gemma 2 2B"}, {"create_time", "2026-03-01T10:00:00Z"}, {"name", "models/1"}},
      {{"model_garden", "true"}, {"family", "gemma"}, {"size", "2b"}}};
  try {
    const loam::ListFilter f = loam::list_filter_parse(text);
    (void)loam::list_filter_matches(f, record);
    // The canonical form is itself a valid filter with the same meaning.
    const std::string canon = loam::list_filter_format(f);
    const loam::ListFilter g = loam::list_filter_parse(canon);
    if (loam::list_filter_format(g) != canon) std::abort();
    if (loam::list_filter_matches(g, record) != loam::list_filter_matches(f, record)) std::abort();
  } catch (const loam::Error&) {
  }
  try {
    const loam::OrderBy o = loam::order_by_parse(text);
    (void)loam::order_by_less(o, record, record);
  } catch (const loam::Error&) {
  }
  return 0;
}
