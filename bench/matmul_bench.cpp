// Matrix-product kernels on SmolLM2-135M shapes (hidden 576, kv 192,
// intermediate 1536, vocab 49152), plus the machine's read bandwidth and
// OpenBLAS sgemm as yardsticks. Results: docs/PERFORMANCE.md "## Kernels".
//
// Counters: GFLOP/s = 2*T*N*K per second; GB/s = weight bytes streamed per
// second. Decode-sized runs rotate through enough weight copies (>= 256 MB) that
// the weights come from DRAM, as in a real decode step, not from the 32 MB L3.
//
//   build-mm/bench/matmul_bench --benchmark_filter=... --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/matmul.h"
#include "kernels/quantize.h"
#include "kernels/threading.h"

namespace loam {
namespace {

constexpr size_t kColdBytes = size_t(256) << 20;

// LOAM_THREADS=n runs the kernels on n threads (default: all cores).
const bool kThreadsFromEnv = [] {
  const char* s = std::getenv("LOAM_THREADS");
  kernels_set_threads(s ? std::atoi(s) : 0);
  return true;
}();

std::vector<float> random_floats(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.05f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Enough copies of one random weight that cycling through them misses the caches.
struct WeightSet {
  DType dtype;
  int64_t n_rows, n_cols;
  std::vector<std::vector<uint8_t>> copies;
  size_t bytes() const { return copies[0].size(); }
  WeightView view(size_t i) const { return {dtype, copies[i % copies.size()].data(), n_rows, n_cols}; }
};

WeightSet make_weights(DType dt, int64_t n_rows, int64_t n_cols, bool cold) {
  auto f = random_floats(n_rows * n_cols, 1);
  std::vector<uint8_t> bytes(dtype_bytes(dt, f.size()));
  if (dt == DType::F32) std::memcpy(bytes.data(), f.data(), bytes.size());
  if (dt == DType::BF16 || dt == DType::F16)
    for (size_t i = 0; i < f.size(); i++) {
      uint16_t h = dt == DType::BF16 ? f32_to_bf16(f[i]) : f32_to_f16(f[i]);
      std::memcpy(&bytes[2 * i], &h, 2);
    }
  if (dt == DType::Q8_0)
    for (int64_t r = 0; r < n_rows; r++)
      q8_0_quantize_row(&f[r * n_cols], n_cols, &bytes[r * n_cols / 32 * 34]);
  WeightSet s{dt, n_rows, n_cols, {}};
  size_t n = cold ? std::max<size_t>(1, kColdBytes / bytes.size()) : 1;
  for (size_t i = 0; i < n; i++) s.copies.push_back(bytes);
  return s;
}

void set_counters(benchmark::State& state, double flops, double bytes) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

DType dtype_arg(int64_t a) {
  const DType t[] = {DType::F32, DType::BF16, DType::F16, DType::Q8_0};
  return t[a];
}

// Args: dtype (0 F32, 1 BF16, 2 F16, 3 Q8_0), bf16 mode, N, K, T.
void BM_Forward(benchmark::State& state) {
  const DType dt = dtype_arg(state.range(0));
  const int64_t N = state.range(2), K = state.range(3), T = state.range(4);
  matmul_set_precision(state.range(1) ? MatmulPrecision::Bf16 : MatmulPrecision::Exact);
  auto ws = make_weights(dt, N, K, /*cold=*/T <= 16);
  auto x = random_floats(T * K, 2);
  std::vector<float> y(T * N);
  size_t i = 0;
  for (auto _ : state) {
    matmul_forward(y.data(), x.data(), ws.view(i++), T);
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, 2.0 * T * N * K, ws.bytes());
  matmul_set_precision(MatmulPrecision::Exact);
}

void BM_BackwardInput(benchmark::State& state) {
  const DType dt = dtype_arg(state.range(0));
  const int64_t N = state.range(2), K = state.range(3), T = state.range(4);
  matmul_set_precision(state.range(1) ? MatmulPrecision::Bf16 : MatmulPrecision::Exact);
  auto ws = make_weights(dt, N, K, false);
  auto dy = random_floats(T * N, 2);
  std::vector<float> dx(T * K);
  for (auto _ : state) {
    matmul_backward_input(dx.data(), dy.data(), ws.view(0), T);
    benchmark::DoNotOptimize(dx.data());
  }
  set_counters(state, 2.0 * T * N * K, ws.bytes());
  matmul_set_precision(MatmulPrecision::Exact);
}

void BM_ForwardPlain(benchmark::State& state) {
  const DType dt = dtype_arg(state.range(0));
  const int64_t N = state.range(2), K = state.range(3), T = state.range(4);
  auto ws = make_weights(dt, N, K, T <= 16);
  auto x = random_floats(T * K, 2);
  std::vector<float> y(T * N);
  size_t i = 0;
  for (auto _ : state) {
    matmul_forward_plain(y.data(), x.data(), ws.view(i++), T);
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, 2.0 * T * N * K, ws.bytes());
}

// OpenBLAS sgemm on the same problem (y = x·Wᵀ, F32), its own threads.
void BM_OpenBlasSgemm(benchmark::State& state) {
  const int64_t N = state.range(2), K = state.range(3), T = state.range(4);
  auto ws = make_weights(DType::F32, N, K, T <= 16);
  auto x = random_floats(T * K, 2);
  std::vector<float> y(T * N);
  openblas_set_num_threads(kernels_threads());
  size_t i = 0;
  for (auto _ : state) {
    const float* w = reinterpret_cast<const float*>(ws.view(i++).data);
    if (T == 1)
      cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, 1.0f, w, K, x.data(), 1, 0.0f, y.data(), 1);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, N, K, 1.0f, x.data(), K, w, K, 0.0f,
                  y.data(), N);
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, 2.0 * T * N * K, ws.bytes());
}

// STREAM-like read: sum of a 512 MB array, all kernel threads, four
// independent zmm accumulators per thread (one would be add-latency bound).
void BM_MemoryRead(benchmark::State& state) {
  const size_t n = (size_t(512) << 20) / sizeof(float);
  std::unique_ptr<float[]> a(new float[n]);
  for (size_t i = 0; i < n; i++) a[i] = 1.0f;
  double total = 0;
  for (auto _ : state) {
    double s = 0;
#pragma omp parallel for reduction(+ : s) num_threads(kernels_threads()) schedule(static)
    for (size_t b = 0; b < n; b += 4096) {
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (size_t i = b; i < b + 4096; i += 64) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(&a[i]));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(&a[i + 16]));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(&a[i + 32]));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(&a[i + 48]));
      }
      s += _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    }
    total += s;
    benchmark::DoNotOptimize(total);
  }
  set_counters(state, 0, n * sizeof(float));
}

void model_shapes(benchmark::internal::Benchmark* b, std::vector<int64_t> dtypes, int64_t bf16,
                  std::vector<int64_t> tokens) {
  const int64_t shapes[][2] = {{576, 576}, {192, 576}, {1536, 576}, {576, 1536}, {49152, 576}};
  for (int64_t dt : dtypes)
    for (int64_t T : tokens)
      for (auto& s : shapes) b->Args({dt, bf16, s[0], s[1], T});
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_MemoryRead)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Forward)->Apply([](auto* b) { model_shapes(b, {0, 1, 2, 3}, 0, {1, 4, 8, 9, 16, 32, 512}); });
BENCHMARK(BM_Forward)->Apply([](auto* b) { model_shapes(b, {1}, 1, {1, 4, 8, 9, 16, 32, 512}); });
BENCHMARK(BM_BackwardInput)->Apply([](auto* b) { model_shapes(b, {0, 1, 3}, 0, {512}); });
BENCHMARK(BM_BackwardInput)->Apply([](auto* b) { model_shapes(b, {1}, 1, {512}); });
BENCHMARK(BM_OpenBlasSgemm)->Apply([](auto* b) { model_shapes(b, {0}, 0, {1, 16, 512}); });
BENCHMARK(BM_ForwardPlain)->Apply([](auto* b) { model_shapes(b, {0, 1}, 0, {1}); });

}  // namespace
}  // namespace loam

BENCHMARK_MAIN();
