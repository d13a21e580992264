// libFuzzer target: the dataset reader and every format parser.
// The first byte picks the container (JSONL, CSV, TSV, JSON array) and the
// required task; the rest is the file. Any input must give a report or a
// loam::Error, never a crash, a sanitizer finding or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "data/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const loam::FileKind kinds[] = {loam::FileKind::Jsonl, loam::FileKind::Csv, loam::FileKind::Tsv,
                                  loam::FileKind::JsonArray};
  loam::DatasetOptions options;
  options.file_kind = kinds[data[0] & 3];
  switch ((data[0] >> 2) & 3) {
    case 1: options.task = loam::Task::Sft; break;
    case 2: options.task = loam::Task::Preference; break;
    case 3: options.vocab_size = 1000; break;
    default: break;
  }
  if (data[0] & 0x10) {
    options.input_column = "q";
    options.output_column = "a";
  }
  options.reader.max_line_bytes = 1 << 16;
  options.reader.chunk_bytes = 64;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    auto source = loam::RecordSource::from_memory(bytes, "fuzz", *options.file_kind, options.reader);
    size_t n = 0;
    loam::ValidationReport r = loam::dataset_scan(*source, "fuzz", options, [&](loam::Example&& e, std::string_view, bool) {
      n += loam::example_to_json(e).dump().size() > 0;
    });
    for (const loam::Issue& i : r.issues) n += loam::issue_format(i).size();
    (void)loam::validation_report_to_json(r).dump();
  } catch (const loam::Error&) {
  }
  return 0;
}
