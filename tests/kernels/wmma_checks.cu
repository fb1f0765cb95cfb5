// Tensor cores, half and bfloat16, asynchronous copies: small kernels whose results the tests
// (tests/test_wmma.py) compare with NumPy references written from the CUDA Programming Guide.
// Plain CUDA (sm_80+ for bfloat16, tf32 and cuda_pipeline), run on the emulator and, where
// there is one, on a GPU.
//
// requires: sm_80
//
// The GEMMs give each warp (one block of 32 threads) one M x N tile of D = A * B + C:
// blockIdx.y picks the tile's rows, blockIdx.x its columns. m, n, k are multiples of the tile.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_pipeline.h>
#include <mma.h>

using namespace nvcuda;

template <class L>
struct is_col {
  static constexpr bool value = false;
};
template <>
struct is_col<wmma::col_major> {
  static constexpr bool value = true;
};

// A is m x k, row-major (lda = k) or column-major (lda = m); B is k x n, row-major (ldb = n)
// or column-major (ldb = k); C and D are m x n row-major floats.
template <int M, int N, int K, class T, class E, class LA, class LB>
__device__ void gemm(const E* a, const E* b, const float* c, float* d, int m, int n, int k,
                     bool to_tf32) {
  constexpr bool a_col = is_col<LA>::value, b_col = is_col<LB>::value;
  const int tm = blockIdx.y * M, tn = blockIdx.x * N;
  wmma::fragment<wmma::matrix_a, M, N, K, T, LA> fa;
  wmma::fragment<wmma::matrix_b, M, N, K, T, LB> fb;
  wmma::fragment<wmma::accumulator, M, N, K, float> acc;
  wmma::load_matrix_sync(acc, c + tm * n + tn, n, wmma::mem_row_major);
  for (int kk = 0; kk < k; kk += K) {
    wmma::load_matrix_sync(fa, a_col ? a + kk * m + tm : a + tm * k + kk, a_col ? m : k);
    wmma::load_matrix_sync(fb, b_col ? b + tn * k + kk : b + kk * n + tn, b_col ? k : n);
    if (to_tf32) {  // what the Programming Guide asks of tf32 inputs
      for (int i = 0; i < fa.num_elements; ++i) fa.x[i] = wmma::__float_to_tf32(fa.x[i]);
      for (int i = 0; i < fb.num_elements; ++i) fb.x[i] = wmma::__float_to_tf32(fb.x[i]);
    }
    wmma::mma_sync(acc, fa, fb, acc);
  }
  wmma::store_matrix_sync(d + tm * n + tn, acc, n, wmma::mem_row_major);
}

extern "C" __global__ void gemm_h16_rr(const __half* a, const __half* b, const float* c,
                                       float* d, int m, int n, int k) {
  gemm<16, 16, 16, __half, __half, wmma::row_major, wmma::row_major>(a, b, c, d, m, n, k, false);
}
extern "C" __global__ void gemm_h16_cc(const __half* a, const __half* b, const float* c,
                                       float* d, int m, int n, int k) {
  gemm<16, 16, 16, __half, __half, wmma::col_major, wmma::col_major>(a, b, c, d, m, n, k, false);
}
extern "C" __global__ void gemm_h32x8_rc(const __half* a, const __half* b, const float* c,
                                         float* d, int m, int n, int k) {
  gemm<32, 8, 16, __half, __half, wmma::row_major, wmma::col_major>(a, b, c, d, m, n, k, false);
}
extern "C" __global__ void gemm_h8x32_rr(const __half* a, const __half* b, const float* c,
                                         float* d, int m, int n, int k) {
  gemm<8, 32, 16, __half, __half, wmma::row_major, wmma::row_major>(a, b, c, d, m, n, k, false);
}
extern "C" __global__ void gemm_bf16_rr(const __nv_bfloat16* a, const __nv_bfloat16* b,
                                        const float* c, float* d, int m, int n, int k) {
  gemm<16, 16, 16, __nv_bfloat16, __nv_bfloat16, wmma::row_major, wmma::row_major>(
      a, b, c, d, m, n, k, false);
}
extern "C" __global__ void gemm_tf32_rr(const float* a, const float* b, const float* c,
                                        float* d, int m, int n, int k, int to_tf32) {
  gemm<16, 16, 8, wmma::precision::tf32, float, wmma::row_major, wmma::row_major>(
      a, b, c, d, m, n, k, to_tf32 != 0);
}

extern "C" __global__ void gemm_bf16_cc(const __nv_bfloat16* a, const __nv_bfloat16* b,
                                        const float* c, float* d, int m, int n, int k) {
  gemm<16, 16, 16, __nv_bfloat16, __nv_bfloat16, wmma::col_major, wmma::col_major>(
      a, b, c, d, m, n, k, false);
}
extern "C" __global__ void gemm_tf32_cc(const float* a, const float* b, const float* c,
                                        float* d, int m, int n, int k, int to_tf32) {
  gemm<16, 16, 8, wmma::precision::tf32, float, wmma::col_major, wmma::col_major>(
      a, b, c, d, m, n, k, to_tf32 != 0);
}

// One 16 x 16 x 16 tile with the accumulators in memory column-major (C read, D written
// transposed in memory), or (half_acc) accumulating in half: c_h and d_h.
extern "C" __global__ void tile_acc_layouts(const __half* a, const __half* b, const float* c,
                                            float* d, const __half* c_h, __half* d_h) {
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> fb;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  wmma::fragment<wmma::accumulator, 16, 16, 16, __half> acc_h;
  wmma::load_matrix_sync(fa, a, 16);
  wmma::load_matrix_sync(fb, b, 16);
  wmma::load_matrix_sync(acc, c, 16, wmma::mem_col_major);
  wmma::mma_sync(acc, fa, fb, acc);
  wmma::store_matrix_sync(d, acc, 16, wmma::mem_col_major);
  wmma::load_matrix_sync(acc_h, c_h, 16, wmma::mem_row_major);
  wmma::mma_sync(acc_h, fa, fb, acc_h);
  wmma::store_matrix_sync(d_h, acc_h, 16, wmma::mem_row_major);
}

// D = A * B (16 x 16 x 16, one tile), then ReLU on each element of the accumulator: fine in
// any fragment layout. With `bias`, also adds bias[column] to each element, taking element i
// of lane l to lie in column (i * 32 + l) % 16: a guess about the unspecified layout.
extern "C" __global__ void epilogue_h16(const __half* a, const __half* b, const float* bias,
                                        float* d, int guess_layout) {
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> fb;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  wmma::fill_fragment(acc, 0.0f);
  wmma::load_matrix_sync(fa, a, 16);
  wmma::load_matrix_sync(fb, b, 16);
  wmma::mma_sync(acc, fa, fb, acc);
  const int lane = threadIdx.x % 32;
  for (int i = 0; i < acc.num_elements; ++i) {
    if (guess_layout) acc.x[i] += bias[(i * 32 + lane) % 16];
    acc.x[i] = fmaxf(acc.x[i], 0.0f);
  }
  wmma::store_matrix_sync(d, acc, 16, wmma::mem_row_major);
}

// The staging tile of a real kernel: the block's threads copy A (16 x 16 floats) into
// shared memory as half, then warp 0 loads it as a fragment. `sync` 0 leaves out the
// barrier between the two (a race).
extern "C" __global__ void staged_h16(const float* a, const __half* b, float* d, int sync) {
  __shared__ __align__(32) __half tile[16 * 16];
  for (int i = threadIdx.x; i < 256; i += blockDim.x) tile[i] = __float2half(a[i]);
  if (sync) __syncthreads();
  if (threadIdx.x < 32) {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> fb;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.0f);
    wmma::load_matrix_sync(fa, tile, 16);  // MARK staged-load
    wmma::load_matrix_sync(fb, b, 16);
    wmma::mma_sync(acc, fa, fb, acc);
    wmma::store_matrix_sync(d, acc, 16, wmma::mem_row_major);
  }
}

// Mistakes the emulator must name: lanes that disagree on the leading dimension, a pointer
// off the 32-byte alignment (`offset` elements), a block of `blockDim.x` < 32 threads.
extern "C" __global__ void misuse_h16(const __half* a, float* d, int mode, int offset) {
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> fb;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  const unsigned ldm = mode == 1 && threadIdx.x == 5 ? 32 : 16;
  wmma::load_matrix_sync(fa, a + offset, ldm);  // MARK misuse-load
  wmma::load_matrix_sync(fb, a, 16);
  wmma::fill_fragment(acc, 0.0f);
  wmma::mma_sync(acc, fa, fb, acc);
  wmma::store_matrix_sync(d, acc, 16, wmma::mem_row_major);
}

// Conversions and arithmetic, one element per thread.
extern "C" __global__ void half_ops(const float* x, const float* y, __half* to_half,
                                    float* back, __half* sum, __half* prod, __half* fma_out,
                                    __nv_bfloat16* to_bf16, float* tf32, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const __half hx = __float2half(x[i]), hy = __float2half_rn(y[i]);
  to_half[i] = hx;
  back[i] = __half2float(hx);
  sum[i] = __hadd(hx, hy);
  prod[i] = hx * hy;
  fma_out[i] = __hfma(hx, hy, hx);
  to_bf16[i] = __float2bfloat16(x[i]);
  tf32[i] = wmma::__float_to_tf32(x[i]);
}

// out[t] = the value of lane t ^ delta, for half and bfloat16 shuffles.
extern "C" __global__ void shuffle_half(const __half* h, const __nv_bfloat16* b, __half* h_out,
                                        __nv_bfloat16* b_out, int delta) {
  const int t = threadIdx.x;
  h_out[t] = __shfl_xor_sync(0xffffffffu, h[t], delta);
  b_out[t] = __shfl_xor_sync(0xffffffffu, b[t], delta);
}

// Each thread copies 4 floats (16 bytes) of `src` to shared memory asynchronously, in two
// batches, the last `zfill` bytes of the second zero-filled; after the wait and a barrier,
// thread t writes shared word (4t + j + 7) % n to dst[4t + j] (someone else's copy). `early`
// reads before waiting: a bug that the emulator shows.
extern "C" __global__ void async_copy(const float* src, float* dst, int early, int zfill) {
  extern __shared__ __align__(16) float stage[];
  const int t = threadIdx.x, n = 4 * blockDim.x;
  __pipeline_memcpy_async(stage + 4 * t, src + 4 * t, 8);
  __pipeline_commit();
  __pipeline_memcpy_async(stage + 4 * t + 2, src + 4 * t + 2, 8, zfill);
  __pipeline_commit();
  if (!early) __pipeline_wait_prior(0);
  __syncthreads();
  for (int j = 0; j < 4; ++j) dst[4 * t + j] = stage[(4 * t + j + 7) % n];
  if (early) __pipeline_wait_prior(0);
}

// A wait with nothing committed: the copy is issued, the commit forgotten.
extern "C" __global__ void async_uncommitted(const float* src, float* dst) {
    extern __shared__ __align__(16) float stage[];
    __pipeline_memcpy_async(stage + threadIdx.x, src + threadIdx.x, 4);
    __pipeline_wait_prior(0);  // MARK uncommitted-wait
    __syncthreads();
    dst[threadIdx.x] = stage[threadIdx.x];
}
