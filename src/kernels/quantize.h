// Row conversions between fp32 and the stored weight formats.
//
// Q8_0 is llama.cpp's / GGUF's block format: blocks of 32 values, each an
// fp16 scale d followed by 32 int8 q; value = d * q (see core/dtype.h).
#pragma once

#include <cstdint>

namespace loam {

// llama.cpp's quantize_row_q8_0_ref: d = max|x|/127 stored as f16, q = round(x/d)
// (round half away from zero), q = 0 where d == 0. REQUIRES: n % 32 == 0;
// out holds n/32*34 bytes.
void q8_0_quantize_row(const float* x, int64_t n, uint8_t* out);
// out[i] = f16(d) * q. REQUIRES: n % 32 == 0.
void q8_0_dequantize_row(const uint8_t* in, int64_t n, float* out);

// Round to nearest even (as f32_to_bf16 in core/dtype.h; NaN stays NaN).
void f32_to_bf16_row(const float* x, int64_t n, uint16_t* out);
// Exact widening.
void bf16_to_f32_row(const uint16_t* x, int64_t n, float* out);
// Exact widening of IEEE half.
void f16_to_f32_row(const uint16_t* x, int64_t n, float* out);

}  // namespace loam
