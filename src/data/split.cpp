#include "data/split.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "core/uri.h"

namespace loam {
namespace {

struct Row {
  std::string raw;
  std::string label;
};

template <typename T>
void shuffle(std::vector<T>& v, SplitMix64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.next() % i]);
}

void write_rows(const std::string& path, const std::vector<const Row*>& rows) {
  file_write_atomic_with(path, [&](std::FILE* f) {
    for (const Row* r : rows) {
      std::fwrite(r->raw.data(), 1, r->raw.size(), f);
      std::fputc('\n', f);
    }
    if (std::ferror(f)) throw Error(ErrorKind::Internal, path, "write failed");
  });
}

}  // namespace

SplitResult dataset_split(const std::string& in_uri, const std::string& train_uri, const std::string& validation_uri,
                          const DatasetOptions& options, const SplitOptions& split) {
  if (!(split.validation_fraction > 0 && split.validation_fraction < 1))
    throw Error("--validation-fraction", "must be between 0 and 1 (exclusive), got " +
                                             std::to_string(split.validation_fraction));
  const std::string train_path = uri_resolve(train_uri, options.bucket_root);
  const std::string validation_path = uri_resolve(validation_uri, options.bucket_root);
  check_outputs_distinct({{"input", uri_resolve(in_uri, options.bucket_root)}},
                         {{"--train", train_path}, {"--validation", validation_path}});
  SplitResult result;
  std::vector<Row> rows;
  result.report = dataset_validate(in_uri, options, [&](Example&& e, std::string_view raw, bool duplicate) {
    if (duplicate) {
      ++result.n_duplicates_removed;
      return;
    }
    rows.push_back({std::string(raw), e.task() == Task::Classification ? e.label : std::string()});
  });
  if (!result.report.ok()) return result;
  if (rows.size() < 2)
    throw Error(ErrorKind::DataError, in_uri, "needs at least 2 unique examples to split, has " + std::to_string(rows.size()));

  // Groups: one per label for classification, else one group.
  std::map<std::string, std::vector<const Row*>> groups;
  for (const Row& r : rows) groups[r.label].push_back(&r);
  size_t n = rows.size();
  size_t n_val = std::clamp<size_t>(size_t(std::llround(split.validation_fraction * double(n))), 1, n - 1);
  // Largest-remainder allocation of n_val across groups.
  std::vector<std::pair<double, std::string>> remainders;
  std::map<std::string, size_t> quota;
  size_t given = 0;
  for (const auto& [label, g] : groups) {
    double exact = split.validation_fraction * double(g.size());
    quota[label] = std::min(size_t(exact), g.size());
    given += quota[label];
    remainders.push_back({exact - std::floor(exact), label});
  }
  std::stable_sort(remainders.begin(), remainders.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (size_t i = 0; given < n_val && i < remainders.size() * 2; ++i) {
    const std::string& label = remainders[i % remainders.size()].second;
    if (quota[label] < groups[label].size()) ++quota[label], ++given;
  }

  SplitMix64 rng{split.seed};
  std::vector<const Row*> train, validation;
  for (auto& [label, g] : groups) {
    shuffle(g, rng);
    size_t q = quota[label];
    validation.insert(validation.end(), g.begin(), g.begin() + q);
    train.insert(train.end(), g.begin() + q, g.end());
    if (!label.empty() || result.report.task() == Task::Classification) result.labels[label] = {g.size() - q, q};
  }
  shuffle(train, rng);
  shuffle(validation, rng);
  FileStage stage;  // both files or neither
  write_rows(stage.temp_for(train_path), train);
  write_rows(stage.temp_for(validation_path), validation);
  stage.commit();
  result.n_train = train.size();
  result.n_validation = validation.size();
  return result;
}

}  // namespace loam
