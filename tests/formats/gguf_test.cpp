// GGUF: writer round trips, and every malformed-file case the reader must
// reject with an Error (never a crash or an out-of-bounds read). Files are
// built byte by byte here, independently of GgufWriter.
#include "formats/gguf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "formats/gguf_writer.h"
#include "kernels/quantize.h"

namespace loam {
namespace {

using ::testing::HasSubstr;

// Little-endian byte assembly, following the spec directly.
struct Bytes {
  std::string s;
  Bytes& u32(uint32_t v) { for (int i = 0; i < 4; i++) s.push_back(char(v >> (8 * i))); return *this; }
  Bytes& u64(uint64_t v) { for (int i = 0; i < 8; i++) s.push_back(char(v >> (8 * i))); return *this; }
  Bytes& str(const std::string& v) { u64(v.size()); s += v; return *this; }
  Bytes& pad(size_t a) { s.append((a - s.size() % a) % a, '\0'); return *this; }
  Bytes& raw(const std::string& v) { s += v; return *this; }
};

Bytes header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
  Bytes b;
  b.raw("GGUF").u32(version).u64(n_tensors).u64(n_kv);
  return b;
}

GgufFile parse(const std::string& bytes) {
  return GgufFile::parse("m.gguf", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

void expect_error(const std::string& bytes, std::initializer_list<std::string> fragments) {
  std::vector<uint8_t> buf(bytes.begin(), bytes.end());  // exact-size heap copy for ASan
  try {
    GgufFile::parse("m.gguf", buf.data(), buf.size());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    for (const std::string& f : fragments) EXPECT_THAT(e.what(), HasSubstr(f));
  }
}

// One F32 tensor "w" with ne = [ne0, ne1] at `offset`, 32-aligned data.
std::string one_tensor(uint32_t type, std::vector<uint64_t> ne, uint64_t offset, size_t data_bytes) {
  Bytes b = header(1, 0);
  b.str("w").u32(static_cast<uint32_t>(ne.size()));
  for (uint64_t d : ne) b.u64(d);
  b.u32(type).u64(offset).pad(32);
  b.s.append(data_bytes, '\x01');
  return b.s;
}

TEST(Gguf, WriterRoundTripsBitExactly) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 3);
  w.set_i32("test.i32", -5);
  w.set_u64("test.u64", 1ULL << 63);
  w.set_i64("test.i64", -(1LL << 50));
  w.set_f32("test.f32", 1e-5f);
  w.set_f64("test.f64", 0.1);
  w.set_bool("test.bool", false);
  w.set_u8("test.u8", 255);
  w.set_i8("test.i8", -128);
  w.set_u16("test.u16", 65535);
  w.set_i16("test.i16", -32768);
  w.set_string_array("tokenizer.ggml.tokens", {"a", "", "\xe2\x96\x81b"});
  w.set_f32_array("tokenizer.ggml.scores", {0.5f, -1.0f, 2.0f});
  w.set_i32_array("tokenizer.ggml.token_type", {1, -2, 3});
  w.set_u32_array("test.u32s", {7, 8});
  w.set_u32("llama.block_count", 4);  // replaces, keeps position
  std::vector<float> f32(3 * 5);
  for (size_t i = 0; i < f32.size(); i++) f32[i] = std::sin(static_cast<float>(i));
  std::vector<uint16_t> f16 = {f32_to_f16(1.0f), f32_to_f16(-0.5f)};
  std::vector<uint16_t> bf16 = {f32_to_bf16(3.0f), f32_to_bf16(-7.0f), f32_to_bf16(0.25f)};
  std::vector<float> src(2 * 64);
  for (size_t i = 0; i < src.size(); i++) src[i] = std::cos(0.3f * static_cast<float>(i)) * 2.0f;
  std::vector<uint8_t> q8(src.size() / 32 * 34);
  q8_0_quantize_row(src.data(), static_cast<int64_t>(src.size()), q8.data());
  w.add_tensor("a.weight", DType::F32, {3, 5}, f32.data());
  w.add_tensor("b", DType::F16, {2}, f16.data());
  w.add_tensor("c", DType::BF16, {3, 1}, bf16.data());
  w.add_tensor_owned("q.weight", DType::Q8_0, {2, 64}, q8);
  const std::string path = ::testing::TempDir() + "/loam_gguf_rt_" + std::to_string(getpid()) + ".gguf";
  w.write(path);
  GgufFile g = GgufFile::open(path);
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.keys()[1], "llama.block_count");
  EXPECT_EQ(g.get_int("llama.block_count"), 4);
  EXPECT_EQ(g.get_int("test.i32"), -5);
  EXPECT_THROW(g.get_int("test.u64"), Error);  // above INT64_MAX
  EXPECT_EQ(g.value("test.u64")->u, 1ULL << 63);
  EXPECT_EQ(g.get_int("test.i64"), -(1LL << 50));
  EXPECT_EQ(g.get_float("test.f32"), static_cast<double>(1e-5f));
  EXPECT_EQ(g.get_float("test.f64"), 0.1);
  EXPECT_EQ(g.get_bool("test.bool"), false);
  EXPECT_EQ(g.get_int("test.u8"), 255);
  EXPECT_EQ(g.get_int("test.i8"), -128);
  EXPECT_EQ(g.get_int("test.u16"), 65535);
  EXPECT_EQ(g.get_int("test.i16"), -32768);
  EXPECT_EQ(*g.get_string_array("tokenizer.ggml.tokens"), (std::vector<std::string>{"a", "", "\xe2\x96\x81b"}));
  EXPECT_EQ(*g.get_float_array("tokenizer.ggml.scores"), (std::vector<float>{0.5f, -1.0f, 2.0f}));
  EXPECT_EQ(*g.get_int_array("tokenizer.ggml.token_type"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(*g.get_int_array("test.u32s"), (std::vector<int64_t>{7, 8}));
  const TensorRef& a = g.get("a.weight");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(std::memcmp(a.data, f32.data(), f32.size() * 4), 0);
  EXPECT_EQ(std::memcmp(g.get("b").data, f16.data(), 4), 0);
  EXPECT_EQ(g.get("c").shape, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(std::memcmp(g.get("c").data, bf16.data(), 6), 0);
  const TensorRef& q = g.get("q.weight");
  EXPECT_EQ(q.dtype, DType::Q8_0);
  EXPECT_EQ(q.shape, (std::vector<int64_t>{2, 64}));
  EXPECT_EQ(q.n_bytes, q8.size());
  EXPECT_EQ(std::memcmp(q.data, q8.data(), q8.size()), 0);
  for (const TensorRef& t : g.tensors()) EXPECT_EQ(g.tensor_offset(t) % 32, 0u);
  // serialize() and write() agree byte for byte.
  std::string bytes = w.serialize();
  GgufFile mem = parse(bytes);
  EXPECT_EQ(mem.tensors().size(), 4u);
  std::filesystem::remove(path);
}

TEST(Gguf, Q8_0QuantizeFollowsLlamaCpp) {
  std::vector<float> x(32);
  for (int i = 0; i < 32; i++) x[i] = static_cast<float>(i - 10) * 0.1f;  // max |x| = 2.1
  std::vector<uint8_t> out(34);
  q8_0_quantize_row(x.data(), 32, out.data());
  uint16_t dh;
  std::memcpy(&dh, out.data(), 2);
  EXPECT_EQ(dh, f32_to_f16(2.1f / 127.0f));
  const float d = 2.1f / 127.0f;
  for (int i = 0; i < 32; i++) {
    EXPECT_EQ(static_cast<int8_t>(out[2 + i]), static_cast<int>(std::round(x[i] * (1.0f / d)))) << i;
    EXPECT_NEAR(f16_to_f32(dh) * static_cast<int8_t>(out[2 + i]), x[i], 0.01f);
  }
  std::vector<float> zeros(32, 0.0f);
  q8_0_quantize_row(zeros.data(), 32, out.data());
  EXPECT_EQ(out, std::vector<uint8_t>(34, 0));
}

TEST(Gguf, CustomAlignmentAndV2) {
  GgufWriter w;
  w.set_u32("general.alignment", 64);
  float v[3] = {1, 2, 3};
  w.add_tensor("x", DType::F32, {3}, v);
  w.add_tensor("y", DType::F32, {3}, v);
  std::string bytes = w.serialize();
  GgufFile g = parse(bytes);
  EXPECT_EQ(g.alignment(), 64u);
  EXPECT_EQ(g.tensor_offset(g.tensors()[1]), 64u);
  EXPECT_EQ((g.get("y").data - reinterpret_cast<const uint8_t*>(bytes.data())) % 64, 0);
  bytes[4] = 2;  // v2 has the same layout
  EXPECT_EQ(parse(bytes).version(), 2u);
  EXPECT_THROW(w.set_u32("general.alignment", 48), Error);
}

TEST(Gguf, WriterRejectsBadTensors) {
  GgufWriter w;
  float v[64] = {};
  w.add_tensor("x", DType::F32, {2}, v);
  EXPECT_THROW(w.add_tensor("x", DType::F32, {2}, v), Error);
  EXPECT_THROW(w.add_tensor("q", DType::Q8_0, {2, 16}, v), Error);
  EXPECT_THROW(w.add_tensor("big", DType::F32, {1, 1, 1, 1, 1}, v), Error);
  EXPECT_THROW(w.add_tensor("neg", DType::F32, {-1}, v), Error);
  EXPECT_THROW(w.add_tensor_owned("o", DType::F32, {4}, std::vector<uint8_t>(15)), Error);
  EXPECT_THROW(w.add_tensor("u8", DType::U8, {4}, v), Error);
  EXPECT_THROW(w.add_tensor(std::string(64, 'n'), DType::F32, {2}, v), Error);
  EXPECT_NO_THROW(w.add_tensor(std::string(63, 'n'), DType::F32, {2}, v));
}

TEST(Gguf, LargeStringArrayIsFast) {
  GgufWriter w;
  std::vector<std::string> tokens(150000);
  for (size_t i = 0; i < tokens.size(); i++) tokens[i] = "tok" + std::to_string(i);
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  std::string bytes = w.serialize();
  auto t0 = std::chrono::steady_clock::now();
  GgufFile g = parse(bytes);
  auto got = g.get_string_array("tokenizer.ggml.tokens");
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(*got, tokens);
  EXPECT_LT(ms, 500.0);  // ~10 ms in Release; generous for sanitizers
}

TEST(Gguf, MalformedHeaders) {
  expect_error("GGU", {"m.gguf", "magic"});
  expect_error(Bytes().raw("GGML").u32(3).u64(0).u64(0).s, {"m.gguf", "not a GGUF file"});
  expect_error(header(0, 0, 1).s, {"version 1"});
  expect_error(header(0, 0, 0x03000000).s, {"big-endian"});
  expect_error(header(0, 0, 4).s, {"unsupported GGUF version 4"});
  expect_error(header(0, 1ULL << 60).s, {"m.gguf", "metadata count 1152921504606846976 cannot fit"});
  expect_error(header(1ULL << 60, 0).s, {"tensor count"});
  expect_error(header(0, 1).str("k").u32(8).u64(1ULL << 62).s, {"metadata key k", "string needs"});
  expect_error(header(0, 1).u64(1ULL << 62).u64(0).s, {"metadata key #0", "needs"});
  expect_error(header(0, 1).str("k").u32(9).u32(8).u64(1ULL << 40).s, {"metadata key k", "cannot fit"});
  expect_error(header(0, 1).str("k").u32(9).u32(6).u64(1ULL << 62).s, {"metadata key k", "cannot fit"});
  expect_error(header(0, 1).str("k").u32(13).s, {"metadata key k", "unknown value type 13"});
  expect_error(header(0, 1).str("k").u32(9).u32(99).u64(0).s, {"metadata key k", "unknown value type 99"});
  Bytes nested = header(0, 1).str("k").u32(9);  // value type: array
  for (int i = 0; i < 5; i++) nested.u32(9).u64(1);  // of 1 array of 1 array ...
  expect_error(nested.s, {"metadata key k", "nested"});
  expect_error(header(0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2).s, {"metadata key k", "twice"});
  expect_error(header(0, 1).str("general.alignment").u32(4).u32(48).s, {"general.alignment", "power of two"});
  expect_error(header(0, 1).str("general.alignment").u32(4).u32(0).s, {"general.alignment"});
  expect_error(header(0, 1).str("general.alignment").u32(8).str("32").s, {"general.alignment", "u32"});
}

// Names read from the file reach messages escaped: no raw control bytes or
// invalid UTF-8 on a terminal (valid UTF-8 stays readable).
TEST(Gguf, MessagesEscapeRawBytes) {
  const std::string key = std::string("k\x1b[2J\x01\xff") + "\xc3\xa9";
  expect_error(header(0, 1).str(key).u32(13).s, {"metadata key k\\x1b[2J\\x01\\xff\xc3\xa9: unknown value type 13"});
  std::vector<uint8_t> buf;
  const std::string dup = header(0, 2).str(key).u32(4).u32(1).str(key).u32(4).u32(2).s;
  buf.assign(dup.begin(), dup.end());
  try {
    GgufFile::parse("m.gguf", buf.data(), buf.size());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    for (char c : std::string(e.what())) EXPECT_FALSE(c == '\x1b' || c == '\x01') << e.what();
  }
  Bytes t = header(1, 0);
  t.str(std::string("w\n\x7f") + std::string(300, 'x')).u32(5);
  expect_error(t.s, {"m.gguf: tensor w\\x0a\\x7f", "xxx...: has 5 dims"});
}

TEST(Gguf, MalformedTensorInfos) {
  expect_error(one_tensor(0, {1, 1, 1, 1, 1}, 0, 4), {"m.gguf: tensor w", "5 dims"});
  expect_error(one_tensor(77, {4}, 0, 16), {"tensor w", "unknown ggml type 77"});
  expect_error(one_tensor(4, {4}, 0, 16), {"tensor w", "unknown ggml type 4"});  // removed Q4_2
  expect_error(one_tensor(0, {1ULL << 32, 1ULL << 32}, 0, 4), {"tensor w", "overflow"});
  expect_error(one_tensor(0, {1ULL << 63}, 0, 4), {"tensor w", "overflow"});
  expect_error(one_tensor(0, {1ULL << 62}, 0, 4), {"tensor w", "overflow"});
  expect_error(one_tensor(0, {1ULL << 40}, 0, 4), {"tensor w", "exceeds the file's data section"});
  expect_error(one_tensor(0, {4}, 0, 12), {"tensor w", "exceeds the file's data section (12 bytes)"});
  expect_error(one_tensor(0, {4}, 16, 32), {"tensor w", "not a multiple of the alignment"});
  expect_error(one_tensor(0, {4}, 64, 32), {"tensor w", "exceeds"});
  expect_error(one_tensor(0, {4}, ~0ULL - 31, 32), {"tensor w", "exceeds"});
  expect_error(one_tensor(8, {16, 2}, 0, 68), {"tensor w", "not a multiple of the Q8_0 block size 32"});
  expect_error(one_tensor(12, {256}, 0, 100), {"tensor w", "exceeds"});  // Q4_K sizes checked too
  Bytes two = header(2, 0);
  two.str("w").u32(1).u64(4).u32(0).u64(0);
  two.str("v").u32(1).u64(16).u32(0).u64(0).pad(32);
  two.s.append(64, '\0');
  expect_error(two.s, {"overlaps"});
  Bytes dup = header(2, 0);
  dup.str("w").u32(1).u64(4).u32(0).u64(0);
  dup.str("w").u32(1).u64(4).u32(0).u64(32).pad(32);
  dup.s.append(64, '\0');
  expect_error(dup.s, {"m.gguf: tensor w", "twice"});
  // Valid: one F32 tensor, Q4_K listed with its type.
  EXPECT_EQ(parse(one_tensor(0, {4}, 0, 16)).get("w").n_elements(), 4);
  const std::string q4k_bytes = one_tensor(12, {256, 2}, 0, 288);
  GgufFile q4k = parse(q4k_bytes);
  EXPECT_EQ(q4k.tensors()[0].n_bytes, 288u);
  EXPECT_FALSE(q4k.tensors()[0].supported);
  EXPECT_EQ(q4k.tensor_type_name(q4k.tensors()[0]), "Q4_K");
}

// Truncating a valid file at every byte must throw an Error: run under ASan.
TEST(Gguf, EveryTruncationThrows) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string_array("tokenizer.ggml.tokens", {"a", "bc"});
  w.set_f32_array("s", {1.0f});
  w.set_u32("n", 7);
  float v[2] = {1, 2};
  w.add_tensor("t", DType::F32, {2}, v);
  const std::string full = w.serialize();
  ASSERT_NO_THROW(parse(full));
  // Bytes past the last tensor's data are padding: cutting them is harmless.
  const size_t data_end = full.size() - 32 + 8;
  for (size_t n = 0; n < data_end; n++) {
    std::vector<uint8_t> buf(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(GgufFile::parse("t", buf.data(), buf.size()), Error) << "length " << n;
  }
}

}  // namespace
}  // namespace loam
