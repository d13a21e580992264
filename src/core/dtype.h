// Element types of stored tensors and scalar conversions between them.
//
// Weights keep their stored type in memory (F32, F16, BF16, Q8_0); kernels
// convert on the fly and compute in fp32. Q8_0 is GGUF's block format:
// blocks of 32 values, each an fp16 scale d followed by 32 int8 q, value = d*q.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace loam {

enum class DType : uint8_t { F32, F16, BF16, Q8_0, F64, I64, I32, I16, I8, U8, BOOL };

constexpr int kQ8BlockSize = 32;                  // values per Q8_0 block
constexpr int kQ8BlockBytes = 2 + kQ8BlockSize;   // fp16 scale + 32 int8

// Bytes taken by n elements of `t` (n must be a multiple of 32 for Q8_0).
inline size_t dtype_bytes(DType t, size_t n) {
  switch (t) {
    case DType::F64: case DType::I64: return 8 * n;
    case DType::F32: case DType::I32: return 4 * n;
    case DType::F16: case DType::BF16: case DType::I16: return 2 * n;
    case DType::I8: case DType::U8: case DType::BOOL: return n;
    case DType::Q8_0: return n / kQ8BlockSize * kQ8BlockBytes;
  }
  return 0;
}

const char* dtype_name(DType t);                          // "F32", "BF16", "Q8_0", ...
std::optional<DType> dtype_from_name(std::string_view s);  // safetensors names

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even, as PyTorch does; NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

}  // namespace loam
