// The byte-level layer: line numbers, BOM, CRLF, limits, NUL, UTF-8, empty
// and whitespace-only files, deep nesting, and CSV/JSON-array containers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/file_io.h"
#include "data/dataset_test_util.h"

namespace loam {
namespace {

using ::testing::ElementsAre;
using testing::scan_text;

std::vector<std::pair<size_t, std::string>> read_all(std::string_view bytes, JsonlReaderOptions o = {}) {
  auto r = JsonlReader::from_memory(bytes, "m", o);
  std::vector<std::pair<size_t, std::string>> out;
  JsonlLine line;
  while (r->next(line)) out.emplace_back(line.number, line.problem.empty() ? std::string(line.text) : "!" + line.problem);
  return out;
}

TEST(JsonlReader, BomCrlfAndNoFinalNewline) {
  auto lines = read_all("\xEF\xBB\xBF{\"a\":1}\r\n\r\n{\"b\":2}");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], (std::pair<size_t, std::string>{1, "{\"a\":1}"}));
  EXPECT_EQ(lines[1], (std::pair<size_t, std::string>{2, ""}));
  EXPECT_EQ(lines[2], (std::pair<size_t, std::string>{3, "{\"b\":2}"}));
}

TEST(JsonlReader, LinesSpanningSmallChunks) {
  JsonlReaderOptions o;
  o.chunk_bytes = 3;
  std::string text = "abcdefgh\nij\n\nklmnopqrstu\n";
  // from_memory reads in one piece; write a file to exercise chunking.
  std::string path = ::testing::TempDir() + "/chunks.jsonl";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  auto r = JsonlReader::open(path, o);
  std::vector<std::string> got;
  JsonlLine line;
  while (r->next(line)) got.emplace_back(line.text);
  EXPECT_THAT(got, ElementsAre("abcdefgh", "ij", "", "klmnopqrstu"));
}

TEST(JsonlReader, LongLinesRejectedByLimitAndReadingContinues) {
  JsonlReaderOptions o;
  o.max_line_bytes = 10;
  auto lines = read_all("short\n" + std::string(25, 'x') + "\nafter\n", o);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1].second, "!line is longer than 10 bytes (the limit for one example)");
  EXPECT_EQ(lines[2], (std::pair<size_t, std::string>{3, "after"}));
}

TEST(JsonlReader, FiveMegabyteLineIsAcceptedUnderTheDefaultLimit) {
  std::string big = R"({"input_text":"q","output_text":")" + std::string(5 << 20, 'a') + "\"}\n";
  auto s = scan_text(big);
  EXPECT_TRUE(s.report.ok()) << (s.issues.empty() ? "" : s.issues[0]);
  ASSERT_EQ(s.examples.size(), 1u);
  EXPECT_EQ(s.examples[0].turns[1].text.size(), size_t(5 << 20));
  std::string huge = R"({"input_text":")" + std::string(9 << 20, 'a') + "\"}\n{\"input_text\":\"a\",\"output_text\":\"b\"}\n";
  auto h = scan_text(huge);
  EXPECT_THAT(h.issues, ElementsAre("t.jsonl:1: line is longer than 8388608 bytes (the limit for one example)"));
  EXPECT_EQ(h.examples.size(), 1u);
}

TEST(JsonlReader, NulBytesAndInvalidUtf8) {
  using namespace std::string_literals;
  auto s = scan_text("{\"input_text\":\"a\0b\"}\n"s
                     "{\"input_text\":\"\xC3\x28\",\"output_text\":\"b\"}\n"
                     "{\"input_text\":\"\xED\xA0\x80\",\"output_text\":\"b\"}\n"
                     "{\"input_text\":\"\xC0\xAF\",\"output_text\":\"b\"}\n"
                     "{\"input_text\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\",\"output_text\":\"b\"}\n");
  EXPECT_THAT(s.issues, ElementsAre("t.jsonl:1: NUL byte at column 17 (binary data or a UTF-16 file?)",
                                    "t.jsonl:2: invalid UTF-8 at column 16", "t.jsonl:3: invalid UTF-8 at column 16",
                                    "t.jsonl:4: invalid UTF-8 at column 16"));
  ASSERT_EQ(s.examples.size(), 1u);
  EXPECT_EQ(s.examples[0].turns[0].text, "caf\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST(JsonlReader, Utf16FileIsAClearError) {
  std::string bytes = "\xFF\xFE{\0\"\0";
  auto source = RecordSource::from_memory(bytes, "u16.jsonl", FileKind::Jsonl);
  try {
    dataset_scan(*source, "u16.jsonl", {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("u16.jsonl: the file is UTF-16 encoded"));
  }
}

TEST(JsonlReader, EmptyAndWhitespaceOnlyFiles) {
  EXPECT_THAT(scan_text("").issues, ElementsAre("t.jsonl: the file has no examples (it is empty or only whitespace)"));
  EXPECT_THAT(scan_text("  \n\t\r\n\n").issues,
              ElementsAre("t.jsonl: the file has no examples (it is empty or only whitespace)"));
}

TEST(JsonlReader, InvalidJsonNamesTheColumn) {
  auto s = scan_text("{\"input_text\":\"a\",\"output_text\":\"b\"}\n{\"input_text\": \"a\", oops}\n{\"a\":1\n");
  ASSERT_EQ(s.issues.size(), 2u);
  EXPECT_THAT(s.issues[0], ::testing::StartsWith("t.jsonl:2: invalid JSON at column 21: syntax error"));
  EXPECT_THAT(s.issues[1], ::testing::StartsWith("t.jsonl:3: invalid JSON at column 7: syntax error"));
}

TEST(JsonlReader, DeepNestingIsRejectedWithoutRecursion) {
  std::string deep(100000, '[');
  auto s = scan_text(deep + "\n" + std::string(100000, '{') + "\n");
  EXPECT_THAT(s.issues, ElementsAre("t.jsonl:1: invalid JSON at column 65: nesting deeper than 64 levels",
                                    "t.jsonl:2: invalid JSON at column 65: nesting deeper than 64 levels"));
}

TEST(RecordSource, CsvQuotingAndEmbeddedNewlines) {
  std::string csv =
      "input_text,output_text\r\n"
      "\"How do I, like, reset?\",\"Open \"\"Settings\"\"\nthen Reset.\"\r\n"
      "plain,answer\n"
      "\n"
      "only-one-field\n"
      "\"unterminated,x\n";
  auto records = csv_records(csv, ',');
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].line, 2u);
  EXPECT_EQ(records[0].object["input_text"], "How do I, like, reset?");
  EXPECT_EQ(records[0].object["output_text"], "Open \"Settings\"\nthen Reset.");
  EXPECT_EQ(records[1].line, 4u);
  EXPECT_EQ(records[1].object["output_text"], "answer");
  EXPECT_EQ(records[2].problem, "row has 1 fields but the header has 2");
  EXPECT_EQ(records[2].line, 6u);
  EXPECT_EQ(records[3].problem, "unterminated quoted field (opened on line 7)");
}

TEST(RecordSource, TsvValidatesThroughTheSamePipeline) {
  auto s = scan_text("text\tlabel\nthe app crashed\tbug\nbilled twice\t\n", {}, FileKind::Tsv, "t.tsv");
  EXPECT_EQ(s.examples.size(), 1u);
  EXPECT_THAT(s.issues, ElementsAre("t.tsv:3:label: is empty"));
}

TEST(RecordSource, CsvColumnMapping) {
  DatasetOptions o;
  o.input_column = "question";
  o.output_column = "answer";
  auto s = scan_text("id,question,answer\n1,What?,That.\n", o, FileKind::Csv, "t.csv");
  ASSERT_EQ(s.examples.size(), 1u);
  EXPECT_EQ(s.examples[0].turns[0].text, "What?");
  EXPECT_EQ(s.examples[0].format, Format::InputTextOutputText);
  o.output_column = "reply";
  EXPECT_THAT(scan_text("id,question,answer\n1,What?,That.\n", o, FileKind::Csv, "t.csv").issues,
              ElementsAre("t.csv:2:reply: missing column (the record has: answer, id, question)"));
}

TEST(RecordSource, JsonArrayElementsKeepTheirLines) {
  std::string text = "[\n  {\"text\": \"a, [b]\", \"label\": \"x\"},\n  {\"text\": \"c\",\n   \"label\": 5.5}\n]\n";
  auto s = scan_text(text, {}, FileKind::JsonArray, "t.json");
  EXPECT_EQ(s.examples.size(), 1u);
  EXPECT_THAT(s.issues, ElementsAre("t.json:3:label: expected a string, got a number (5.5)"));
  EXPECT_THAT(scan_text("{\"a\":1}", {}, FileKind::JsonArray, "t.json").issues,
              ElementsAre("t.json:1: expected a JSON array of examples ('[' first)"));
  EXPECT_THAT(scan_text("[{\"text\":\"a\",\"label\":\"b\"}", {}, FileKind::JsonArray, "t.json").issues,
              ElementsAre("t.json:1: unterminated JSON array (no closing ']')"));
}

TEST(ForEachJsonl, SkipsBlankLinesAndNamesBadLines) {
  const std::string path = ::testing::TempDir() + "/loam_for_each_jsonl.jsonl";
  file_write_atomic(path, "\xEF\xBB\xBF{\"a\":1}\r\n\n  \t\n[2]\n");
  std::vector<std::string> seen;
  for_each_jsonl(path, [&](const nlohmann::json& j, const std::string& where) { seen.push_back(where + "=" + j.dump()); });
  EXPECT_THAT(seen, ElementsAre(path + ":1={\"a\":1}", path + ":4=[2]"));

  file_write_atomic(path, "{\"a\":1}\n{oops\n");
  try {
    for_each_jsonl(path, [](const nlohmann::json&, const std::string&) {});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), path + ":2");
    EXPECT_EQ(e.kind(), ErrorKind::DataError);
    EXPECT_THAT(e.message(), ::testing::StartsWith("invalid JSON"));
  }
  EXPECT_THROW(for_each_jsonl(path + ".missing", [](const nlohmann::json&, const std::string&) {}), Error);
}

}  // namespace
}  // namespace loam

namespace loam {
namespace {

TEST(Utf8Clean, ReplacesInvalidBytesAndNeverSplitsACharacter) {
  EXPECT_EQ(utf8_clean("a\xC3(b"), "a\xEF\xBF\xBD(b");
  EXPECT_EQ(utf8_clean("\xC9"), "\xEF\xBF\xBD");
  std::string s = "ab\xE2\x86\x92\xE2\x86\x92";  // "ab→→", 8 bytes
  EXPECT_EQ(utf8_clean(s, 7), "ab...");
  EXPECT_EQ(utf8_invalid_offset(utf8_clean(s, 6)), std::string_view::npos);
}

TEST(Utf8Clean, ParseErrorsQuotingPartialCharactersStayValidUtf8) {
  // nlohmann's "last read" can stop inside a character; the message must not.
  auto s = testing::scan_text("{\"chosen_ids\":[\xC9\xA2,1]}\n");
  ASSERT_EQ(s.issues.size(), 1u);
  EXPECT_EQ(utf8_invalid_offset(s.issues[0]), std::string_view::npos) << s.issues[0];
  EXPECT_NO_THROW(validation_report_to_json(s.report).dump());
}

}  // namespace
}  // namespace loam

namespace loam {
namespace {

TEST(JsonlReader, NumberTooLargeForADoubleIsAnError) {
  auto s = testing::scan_text("{\"input_ids\":[1e999],\"labels\":[1]}\n");
  EXPECT_THAT(s.issues, ::testing::ElementsAre("t.jsonl:1: invalid JSON: number overflow parsing '1e999'"));
}

}  // namespace
}  // namespace loam
