// conv2d_v7.cu: the forward convolution, version 7 of 7: tensor cores through WMMA.
//
// Computes what conv2d_v1.cu's header states, with the same kernel signature and float32 in
// and out; the same implicit GEMM as versions 4-6:
//
//   Y (M x P) = Wt (M x K) . X (K x P),   M = C_out,  P = N * Ho * Wo,  K = C_in * 9
//
// but the products are done by the tensor cores, at a lower input precision, accumulating
// in float32. One kernel per precision, all with the same signature:
//
//   conv2d_forward_tf32  inputs rounded to tf32 (10 mantissa bits, float's range), sm_80+
//   conv2d_forward_bf16  inputs rounded to bfloat16 (7 mantissa bits, float's range), sm_80+
//   conv2d_forward_fp16  inputs rounded to half (10 mantissa bits, |v| < 65504), sm_70+
//
// and the fused epilogues of version 6 for each: conv2d_forward_relu_<precision> (y = max(0,
// conv + b)) and conv2d_forward_relu_skip_<precision> (x, w, b, y, skip, out, N, ...: also
// out = max(0, y + skip)).
//
// Each product of two rounded inputs is exact; the error is the rounding of the inputs
// (relative 2^-11 for tf32 and fp16, 2^-8 for bf16 per input) plus float accumulation.
// fp16 overflows above 65504: fine for RED-Net's activations in [0, 1]-scaled images, not for
// arbitrary data. Master weights stay float32: the rounding happens as a tile is staged.
//
// What changed from version 6, and why it should be faster: a tensor core does a 16 x 16 x 16
// (fp16/bf16) or 16 x 16 x 8 (tf32) matrix product per warp instruction: on an A100, 312
// (fp16/bf16) or 156 (tf32) TFLOP/s against 19.5 for float32 FMAs. The shared-memory traffic
// per multiply-add drops as well: a warp reads a 16 x 16 fragment once for 16 x 16 x 16
// multiply-adds. What stays: the im2col gather and the stage barriers, now the bottleneck
// (version 6's float4 and double-buffered loads are left out, to keep the step readable).
//
// Thread mapping: block = 128 threads (4 warps), grid = (ceil(P / 64), ceil(M / 64)). The
// block's 64 x 64 tile of Y is cut into four 32 x 32 warp tiles, warp w taking channels
// (w / 2) * 32 and pixels (w % 2) * 32; each warp holds 2 x 2 accumulator fragments of 16 x 16.
// Per stage the block stages BK (32 for fp16/bf16, 16 for tf32) reduction steps: As[m][k]
// (weights, rounded; neighbouring threads read neighbouring k of one row of w) and Bs[k][p]
// (the im2col gather, rounded; each thread always gathers for pixel tid % 64, neighbouring
// threads neighbouring pixels). Rows are padded by 16 bytes so that the fragment loads spread
// over the banks, and every fragment pointer stays 32-byte aligned, as WMMA requires. After
// the last stage the accumulators go through shared memory (Cs, reusing As and Bs), because
// which lane holds which element of a fragment is unspecified: the bias is added and y written
// from there, neighbouring threads writing neighbouring pixels.
// requires: sm_70 (fp16; the tf32 and bf16 kernels need sm_80 and trap below it)
#include "wmma_precision.cuh"

using namespace nvcuda;

#define BM 64        // output channels per block
#define BN 64        // pixels per block
#define THREADS 128  // 4 warps of 32 x 32
#define LDC (BN + 4) // Cs row, floats

// Bytes of shared memory the kernel needs: the stage (As + Bs), or Cs, whichever is larger.
#define SMEM_BYTES (BM * LDC * 4)

// The epilogue applied in the store: NONE, RELU, or RELU_SKIP (also out = max(0, y + skip)).
enum Epilogue { NONE, RELU, RELU_SKIP };

template <class T, Epilogue EPI>
__device__ void forward(const float* __restrict__ x, const float* __restrict__ w,
                        const float* __restrict__ b, float* __restrict__ y,
                        const float* __restrict__ skip, float* __restrict__ out, int N, int C_in,
                        int H, int W, int C_out, int padding, unsigned char* smem) {
    using P = Precision<T>;
    constexpr int BK = P::BK;
    constexpr int LDA = BK + 16 / sizeof(T), LDB = BN + 16 / sizeof(T);
    static_assert(BM * LDA * sizeof(T) + BK * LDB * sizeof(T) <= SMEM_BYTES, "stage too big");
    T* As = reinterpret_cast<T*>(smem);                          // [BM][LDA]
    T* Bs = reinterpret_cast<T*>(smem + BM * LDA * sizeof(T));   // [BK][LDB]
    float* Cs = reinterpret_cast<float*>(smem);                   // [BM][LDC], after the loop

    const int Ho = H + 2 * padding - 2, Wo = W + 2 * padding - 2, HoWo = Ho * Wo;
    const int Ptotal = N * HoWo, K = C_in * 9;
    const int p0 = blockIdx.x * BN, m0 = blockIdx.y * BM;
    const int tid = threadIdx.x, warp = tid / 32;
    const int wm = (warp / 2) * 32, wn = (warp % 2) * 32;

    // The pixel this thread gathers for, split once (as in version 4).
    const int lp = tid % BN, gp = p0 + lp;
    const bool p_ok = gp < Ptotal;
    const int pn = p_ok ? gp / HoWo : 0, pq = p_ok ? gp % HoWo : 0;
    const int pi = pq / Wo - padding, pj = pq % Wo - padding;
    const float* xn = x + (size_t)pn * C_in * H * W;

    WarpAcc<T> acc;
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    for (int k0 = 0; k0 < K; k0 += BK) {
#pragma unroll 4
        for (int r = 0; r < BM * BK / THREADS; ++r) {  // weights, row m, neighbouring k
            const int e = tid + r * THREADS, m = e / BK, k = e % BK;
            const float v = (m0 + m < C_out && k0 + k < K) ? w[(size_t)(m0 + m) * K + k0 + k] : 0.0f;
            As[m * LDA + k] = P::round(v);
        }
#pragma unroll 4
        for (int r = 0; r < BK * BN / THREADS; ++r) {  // im2col rows tid/64, tid/64 + 2, ...
            const int k = tid / BN + r * (THREADS / BN), gk = k0 + k;
            float v = 0.0f;
            if (p_ok && gk < K) {
                const int ci = gk / 9, t = gk % 9;
                const int row = pi + t / 3, col = pj + t % 3;
                if (row >= 0 && row < H && col >= 0 && col < W)
                    v = xn[((size_t)ci * H + row) * W + col];
            }
            Bs[k * LDB + lp] = P::round(v);
        }
        __syncthreads();  // the stage is complete before any warp loads a fragment of it
        warp_tile_mma<T, BK, LDA, LDB>(As, Bs, wm, wn, acc);
        __syncthreads();  // every warp is done with the stage before the next overwrites it
    }

    store_warp_tile<T>(Cs, LDC, wm, wn, acc, wmma::mem_row_major);
    __syncthreads();
    if (!p_ok) return;
    const float* crow = Cs + lp;
#pragma unroll 4
    for (int m = tid / BN; m < BM; m += THREADS / BN) {  // pixel lp, channels m, m + 2, ...
        if (m0 + m >= C_out) continue;
        const size_t e = ((size_t)pn * C_out + m0 + m) * HoWo + pq;
        float v = crow[m * LDC] + b[m0 + m];
        if (EPI != NONE) v = fmaxf(v, 0.0f);
        y[e] = v;
        if (EPI == RELU_SKIP) out[e] = fmaxf(v + skip[e], 0.0f);
    }
}

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_tf32(const float* __restrict__ x, const float* __restrict__ w,
                    const float* __restrict__ b, float* __restrict__ y,
                    int N, int C_in, int H, int W, int C_out, int padding) {
    __shared__ __align__(128) unsigned char smem[SMEM_BYTES];
#if TF32_BF16_OK
    forward<float, NONE>(x, w, b, y, nullptr, nullptr, N, C_in, H, W, C_out, padding, smem);
#else
    __trap();
#endif
}

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_relu_tf32(const float* __restrict__ x, const float* __restrict__ w,
                         const float* __restrict__ b, float* __restrict__ y,
                         int N, int C_in, int H, int W, int C_out, int padding) {
    __shared__ __align__(128) unsigned char smem[SMEM_BYTES];
#if TF32_BF16_OK
    forward<float, RELU>(x, w, b, y, nullptr, nullptr, N, C_in, H, W, C_out, padding, smem);
#else
    __trap();
#endif
}

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_relu_skip_tf32(const float* __restrict__ x, const float* __restrict__ w,
                              const float* __restrict__ b, float* __restrict__ y,
                              const float* __restrict__ skip, float* __restrict__ out,
                              int N, int C_in, int H, int W, int C_out, int padding) {
    __shared__ __align__(128) unsigned char smem[SMEM_BYTES];
#if TF32_BF16_OK
    forward<float, RELU_SKIP>(x, w, b, y, skip, out, N, C_in, H, W, C_out, padding, smem);
#else
    __trap();
#endif
}

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_bf16(const float* __restrict__ x, const float* __restrict__ w,
                    const float* __restrict__ b, float* __restrict__ y,
                    int N, int C_in, int H, int W, int C_out, int padding) {
    __shared__ __align__(128) unsigned char smem[SMEM_BYTES];
#if TF32_BF16_OK
    forward<__nv_bfloat16, NONE>(x, w, b, y, nullptr, nullptr, N, C_in, H, W, C_out, padding, smem);
#else
    __trap();
#endif
}

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_relu_bf16(const float* __restrict__ x, const float* __restrict__ w,
                         const float* __restrict__ b, float* __restrict__ y,
                         int N, int C_in, int H, int W, int C_out, int padding) {
    __shared__ __align__(128) unsigned char smem[SMEM_BYTES];
#if TF32_BF16_OK
    forward<__nv_bfloat16, RELU>(x, w, b, y, nullptr, nullptr, N, C_in, H, W, C_out, padding, smem);
#else
    __trap();
#endif
}

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_relu_skip_bf16(const float* __restrict__ x, const float* __restrict__ w,
                              const float* __restrict__ b, float* __restrict__ y,
                              const float* __restrict__ skip, float* __restrict__ out,
                              int N, int C_in, int H, int W, int C_out, int padding) {
    __shared__ __align__(128) unsigned char smem[SMEM_BYTES];
#if TF32_BF16_OK
    forward<__nv_bfloat16, RELU_SKIP>(x, w, b, y, skip, out, N, C_in, H, W, C_out, padding, smem);
#else
    __trap();
#endif
}

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_fp16(const float* __restrict__ x, const float* __restrict__ w,
                    const float* __restrict__ b, float* __restrict__ y,
                    int N, int C_in, int H, int W, int C_out, int padding) {
    __shared__ __align__(128) unsigned char smem[SMEM_BYTES];
#if FP16_OK
    forward<__half, NONE>(x, w, b, y, nullptr, nullptr, N, C_in, H, W, C_out, padding, smem);
#else
    __trap();
#endif
}

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_relu_fp16(const float* __restrict__ x, const float* __restrict__ w,
                         const float* __restrict__ b, float* __restrict__ y,
                         int N, int C_in, int H, int W, int C_out, int padding) {
    __shared__ __align__(128) unsigned char smem[SMEM_BYTES];
#if FP16_OK
    forward<__half, RELU>(x, w, b, y, nullptr, nullptr, N, C_in, H, W, C_out, padding, smem);
#else
    __trap();
#endif
}

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_relu_skip_fp16(const float* __restrict__ x, const float* __restrict__ w,
                              const float* __restrict__ b, float* __restrict__ y,
                              const float* __restrict__ skip, float* __restrict__ out,
                              int N, int C_in, int H, int W, int C_out, int padding) {
    __shared__ __align__(128) unsigned char smem[SMEM_BYTES];
#if FP16_OK
    forward<__half, RELU_SKIP>(x, w, b, y, skip, out, N, C_in, H, W, C_out, padding, smem);
#else
    __trap();
#endif
}
