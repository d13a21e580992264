// safetensors: reading hand-built files (independent of the writer), writer
// layout and round trips, sharded checkpoints, and every malformed-file case
// the reader must reject with an Error naming the file and tensor.
#include "formats/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace loam {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A fresh empty directory per test.
std::string temp_dir(const std::string& tag) {
  fs::path p = fs::path(::testing::TempDir()) / ("loam_st_" + tag + "_" + std::to_string(getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

void file_put(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors file from a raw header string and data bytes, per the spec:
// u64 little-endian header length, header, data.
std::string st_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; i++) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string f32_bytes(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}

SafetensorsFile parse(const std::string& bytes, const std::string& name = "m.safetensors") {
  return SafetensorsFile::parse(name, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// Expects parse() to throw an Error whose text contains every fragment.
void expect_error(const std::string& bytes, std::initializer_list<std::string> fragments) {
  try {
    parse(bytes);
    ADD_FAILURE() << "no error for header " << bytes.substr(8, 200);
  } catch (const Error& e) {
    for (const std::string& f : fragments) EXPECT_THAT(e.what(), HasSubstr(f));
  }
}

TEST(Safetensors, ReadsHandBuiltFile) {
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]},)"
      R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})";
  std::string data = f32_bytes({1, 2, 3, 4, 5, 6});
  data += std::string("\x80\x3f\x00\xc0", 4);  // bf16 1.0, -2.0
  std::string bytes = st_bytes(header, data);
  SafetensorsFile f = parse(bytes);
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  const TensorRef* a = f.find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dtype, DType::F32);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a->n_elements(), 6);
  EXPECT_EQ(a->n_bytes, 24u);
  EXPECT_EQ(a->file, "m.safetensors");
  float v[6];
  std::memcpy(v, a->data, 24);
  EXPECT_EQ(v[5], 6.0f);
  EXPECT_EQ(a->data, reinterpret_cast<const uint8_t*>(bytes.data()) + 8 + header.size());  // in place
  const TensorRef* b = f.find("b");
  ASSERT_NE(b, nullptr);
  uint16_t h[2];
  std::memcpy(h, b->data, 4);
  EXPECT_EQ(bf16_to_f32(h[0]), 1.0f);
  EXPECT_EQ(bf16_to_f32(h[1]), -2.0f);
  EXPECT_EQ(f.find("c"), nullptr);
}

TEST(Safetensors, ReadsEveryDtypeAndEmptyTensors) {
  const char* names[] = {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"};
  const size_t sizes[] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 1};
  std::string header = "{", data;
  for (int i = 0; i < 10; i++) {
    header += std::string(i ? "," : "") + "\"t" + std::to_string(i) + "\":{\"dtype\":\"" + names[i] +
              "\",\"shape\":[3],\"data_offsets\":[" + std::to_string(data.size()) + "," +
              std::to_string(data.size() + 3 * sizes[i]) + "]}";
    data += std::string(3 * sizes[i], static_cast<char>(i));
  }
  header += R"(,"empty":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]},"scalar":{"dtype":"F32","shape":[],)"
            "\"data_offsets\":[" + std::to_string(data.size()) + "," + std::to_string(data.size() + 4) + "]}}";
  data += std::string(4, '\0');
  const std::string bytes = st_bytes(header, data);  // outlives the views
  SafetensorsFile f = parse(bytes);
  for (int i = 0; i < 10; i++) {
    const TensorRef* t = f.find("t" + std::to_string(i));
    ASSERT_NE(t, nullptr);
    EXPECT_STREQ(dtype_name(t->dtype), names[i]);
    EXPECT_EQ(t->n_bytes, 3 * sizes[i]);
    EXPECT_EQ(t->data[0], i);
  }
  EXPECT_EQ(f.find("empty")->n_elements(), 0);
  EXPECT_EQ(f.find("scalar")->n_elements(), 1);
}

TEST(Safetensors, WriterLayoutMatchesSpec) {
  float a[2] = {1.5f, -2.0f};
  uint16_t b[3] = {f32_to_bf16(1.0f), f32_to_bf16(2.0f), f32_to_bf16(3.0f)};
  std::string bytes = safetensors_serialize("x", {{"z.weight", DType::F32, {2}, a}, {"a.bias", DType::BF16, {1, 3}, b}},
                                            {{"format", "pt"}});
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  std::string header = bytes.substr(8, n);
  // Metadata first, then tensors in the given order (not sorted), padded with spaces.
  const std::string want =
      R"({"__metadata__":{"format":"pt"},"z.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("a.bias":{"dtype":"BF16","shape":[1,3],"data_offsets":[8,14]}})";
  EXPECT_EQ(header.substr(0, want.size()), want);
  EXPECT_EQ(header.find_first_not_of(' ', want.size()), std::string::npos);
  EXPECT_LT(header.size() - want.size(), 8u);
  EXPECT_EQ(bytes.size(), 8 + n + 14);
  EXPECT_EQ(std::memcmp(bytes.data() + 8 + n, a, 8), 0);
  EXPECT_EQ(std::memcmp(bytes.data() + 8 + n + 8, b, 6), 0);
}

TEST(Safetensors, WriteThenOpenRoundTripsBitExactly) {
  const std::string dir = temp_dir("rt");
  std::vector<float> a(7 * 5);
  for (size_t i = 0; i < a.size(); i++) a[i] = static_cast<float>(i) * 0.37f - 3.0f;
  std::vector<uint16_t> h(11);
  for (size_t i = 0; i < h.size(); i++) h[i] = f32_to_f16(static_cast<float>(i) / 7.0f);
  std::vector<int64_t> ids = {1, -2, 1LL << 40};
  const std::string path = dir + "/adapter_model.safetensors";
  safetensors_write(path, {{"lora_A", DType::F32, {7, 5}, a.data()}, {"h", DType::F16, {11}, h.data()},
                           {"ids", DType::I64, {3}, ids.data()}});
  SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_TRUE(f.metadata().empty());
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.tensors()[0].name, "lora_A");
  EXPECT_EQ(std::memcmp(f.find("lora_A")->data, a.data(), a.size() * 4), 0);
  EXPECT_EQ(std::memcmp(f.find("h")->data, h.data(), h.size() * 2), 0);
  EXPECT_EQ(std::memcmp(f.find("ids")->data, ids.data(), 24), 0);
  EXPECT_EQ(f.find("h")->shape, (std::vector<int64_t>{11}));
  // Moving the file object keeps views valid (the map does not move).
  const uint8_t* before = f.find("h")->data;
  SafetensorsFile g = std::move(f);
  EXPECT_EQ(g.find("h")->data, before);
  // The directory has exactly one *.safetensors: open_dir accepts it.
  SafetensorsCheckpoint ck = SafetensorsCheckpoint::open_dir(dir);
  EXPECT_EQ(ck.names(), (std::vector<std::string>{"h", "ids", "lora_A"}));
  EXPECT_EQ(SafetensorsCheckpoint::open_dir(path).names().size(), 3u);  // a file path works too
  fs::remove_all(dir);
}

TEST(Safetensors, WriterRejectsBadInput) {
  float a[2] = {0, 0};
  EXPECT_THROW(safetensors_serialize("x", {{"a", DType::F32, {2}, a}, {"a", DType::F32, {2}, a}}), Error);
  EXPECT_THROW(safetensors_serialize("x", {{"a", DType::F32, {-1}, a}}), Error);
  EXPECT_THROW(safetensors_serialize("x", {{"a", DType::Q8_0, {32}, a}}), Error);
  EXPECT_THROW(safetensors_serialize("x", {{"a", DType::F32, {2}, nullptr}}), Error);
  EXPECT_THROW(safetensors_serialize("x", {{"__metadata__", DType::F32, {2}, a}}), Error);
}

TEST(Safetensors, ShardedCheckpoint) {
  const std::string dir = temp_dir("shard");
  float x[4] = {1, 2, 3, 4}, y[2] = {5, 6};
  safetensors_write(dir + "/model-00001-of-00002.safetensors", {{"model.embed.weight", DType::F32, {2, 2}, x}});
  safetensors_write(dir + "/model-00002-of-00002.safetensors",
                    {{"model.norm.weight", DType::F32, {2}, y}, {"lm_head.weight", DType::F32, {1, 2}, y}});
  file_put(dir + "/model.safetensors.index.json",
           R"({"metadata":{"total_size":32},"weight_map":{"model.embed.weight":"model-00001-of-00002.safetensors",)"
           R"("model.norm.weight":"model-00002-of-00002.safetensors","lm_head.weight":"model-00002-of-00002.safetensors"}})");
  SafetensorsCheckpoint ck = SafetensorsCheckpoint::open_dir(dir);
  EXPECT_EQ(ck.names(), (std::vector<std::string>{"lm_head.weight", "model.embed.weight", "model.norm.weight"}));
  EXPECT_EQ(ck.files().size(), 2u);
  const TensorRef& n = ck.get("model.norm.weight");
  EXPECT_THAT(n.file, HasSubstr("model-00002-of-00002.safetensors"));
  float v[2];
  std::memcpy(v, n.data, 8);
  EXPECT_EQ(v[1], 6.0f);
  EXPECT_EQ(ck.tensors().size(), 3u);
  try {
    ck.get("nope");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir));
    EXPECT_THAT(e.what(), HasSubstr("missing tensor nope"));
  }
  SafetensorsCheckpoint moved = std::move(ck);
  EXPECT_EQ(moved.find("model.embed.weight")->n_bytes, 16u);
  fs::remove_all(dir);
}

TEST(Safetensors, ShardedCheckpointErrors) {
  const std::string dir = temp_dir("shard_bad");
  float x[2] = {1, 2};
  safetensors_write(dir + "/model-00001-of-00002.safetensors", {{"a", DType::F32, {2}, x}});
  auto expect_dir_error = [&](const std::string& index, std::initializer_list<std::string> fragments) {
    file_put(dir + "/model.safetensors.index.json", index);
    try {
      SafetensorsCheckpoint::open_dir(dir);
      ADD_FAILURE() << index;
    } catch (const Error& e) {
      for (const std::string& f : fragments) EXPECT_THAT(e.what(), HasSubstr(f));
    }
  };
  expect_dir_error(R"({"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})",
                   {"model.safetensors.index.json", "weight_map.b", "model-00002-of-00002.safetensors",
                    "does not exist"});
  expect_dir_error(R"({"weight_map":{"a":"model-00001-of-00002.safetensors","zz":"model-00001-of-00002.safetensors"}})",
                   {"weight_map.zz", "not in model-00001-of-00002.safetensors"});
  expect_dir_error(R"({"weight_map":{"a":"../model-00001-of-00002.safetensors"}})", {"not a file name"});
  expect_dir_error(R"({"weight_map":)", {"model.safetensors.index.json", "not valid JSON"});
  expect_dir_error(R"({"weight_map":{"a":7}})", {"weight_map.a"});
  // The same tensor in two shards.
  safetensors_write(dir + "/model-00002-of-00002.safetensors", {{"a", DType::F32, {2}, x}});
  expect_dir_error(R"({"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})",
                   {"tensor a", "also present in"});
  fs::remove(dir + "/model.safetensors.index.json");
  // Two files, no index, no model.safetensors: ambiguous.
  try {
    SafetensorsCheckpoint::open_dir(dir);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("2 .safetensors files"));
  }
  fs::remove_all(dir);
  fs::create_directories(dir);
  EXPECT_THROW(SafetensorsCheckpoint::open_dir(dir), Error);
  EXPECT_THROW(SafetensorsCheckpoint::open_dir(dir + "/missing"), Error);
  fs::remove_all(dir);
}

TEST(Safetensors, MalformedHeadersNameFileAndTensor) {
  const std::string d8 = f32_bytes({1, 2});
  auto one = [&](const std::string& entry) { return st_bytes("{\"w.up\":" + entry + "}", d8); };
  expect_error(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,12]})"),
               {"m.safetensors", "tensor w.up", "data_offsets [0,12] exceed the file's data section (8 bytes)"});
  expect_error(one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"), {"tensor w.up", "needs 12"});
  expect_error(one(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"), {"tensor w.up", "negative"});
  expect_error(one(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})"),
               {"tensor w.up", "overflows"});
  expect_error(one(R"({"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]})"),
               {"tensor w.up", "overflows"});
  expect_error(one(R"({"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]})"), {"tensor w.up", "unknown dtype"});
  expect_error(one(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})"), {"tensor w.up", "end before begin"});
  expect_error(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})"), {"tensor w.up", "data_offsets"});
  expect_error(one(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})"), {"tensor w.up", "shape"});
  expect_error(one(R"({"dtype":"F32","data_offsets":[0,8]})"), {"tensor w.up", "shape"});
  expect_error(one(R"({"dtype":7,"shape":[2],"data_offsets":[0,8]})"), {"tensor w.up", "dtype"});
  expect_error(one(R"([1,2])"), {"tensor w.up"});
  expect_error(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,-8]})"), {"tensor w.up", "negative"});
  expect_error(st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8),
               {"m.safetensors", "overlaps"});
  expect_error(st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8),
               {"m.safetensors", "tensor a", "twice"});
  expect_error(st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})", d8), {"not valid JSON"});
  expect_error(st_bytes(R"([1,2,3])", d8), {"JSON object"});
  expect_error(st_bytes(R"({"__metadata__":{"format":1}})", d8), {"__metadata__.format"});
  expect_error(st_bytes(std::string(2000, '[') , ""), {"m.safetensors"});
  expect_error(st_bytes("", ""), {"m.safetensors", "not valid JSON"});
  expect_error(std::string("\xff\xff\xff\xff\xff\xff\xff\xff{}", 10), {"m.safetensors", "exceeds the file"});
  expect_error(std::string("\x02\x00\x00", 3), {"m.safetensors", "too short"});
}

// Truncating a valid file at every byte must give an Error, never a crash
// (run under ASan to catch out-of-bounds reads).
TEST(Safetensors, EveryTruncationThrows) {
  float a[3] = {1, 2, 3};
  uint16_t b[2] = {1, 2};
  const std::string full = safetensors_serialize("t", {{"a", DType::F32, {3}, a}, {"b", DType::F16, {2}, b}},
                                                 {{"format", "pt"}});
  ASSERT_NO_THROW(parse(full));
  for (size_t n = 0; n < full.size(); n++) {
    std::string cut = full.substr(0, n);
    // Heap copy of exactly n bytes so ASan sees any read past the end.
    std::vector<uint8_t> buf(cut.begin(), cut.end());
    EXPECT_THROW(SafetensorsFile::parse("t", buf.data(), buf.size()), Error) << "length " << n;
  }
}

TEST(Safetensors, OpenNamesTheFileAndTensor) {
  const std::string dir = temp_dir("open");
  const std::string path = dir + "/model-00002-of-00003.safetensors";
  file_put(path, st_bytes(R"({"model.layers.7.mlp.up_proj.weight":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})",
                          std::string(6, '\0')));
  try {
    SafetensorsFile::open(path);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("model-00002-of-00003.safetensors: tensor model.layers.7.mlp.up_proj.weight: "
                                    "data_offsets [0,8] exceed the file's data section (6 bytes)"));
  }
  EXPECT_THROW(SafetensorsFile::open(dir + "/absent.safetensors"), Error);
  file_put(dir + "/empty.safetensors", "");
  EXPECT_THROW(SafetensorsFile::open(dir + "/empty.safetensors"), Error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace loam
