// conv2d_w4.cu: the weight gradient, version 4 of 4: tensor cores through WMMA, split-K.
//
// Computes what conv2d_w2.cu's header states (dW (M x K) = dY (M x P) . X^T (P x K), with
// M = C_out, K = C_in * 9, P = N * Ho * Wo and X the im2col matrix), with the same split of
// the pixels into chunks, each block writing a partial dW to part[z] and conv2d_w2.cu's
// conv2d_weight_grad_reduce adding the partials in the fixed order z = 0, 1, ...: bitwise
// reproducible. What changed from version 3: the products are done by the tensor cores at a
// lower input precision, accumulating in float32, one kernel per precision with the same
// signature (see conv2d_v7.cu for the precisions and what they cost):
//
//   conv2d_weight_grad_partial_tf32 / _bf16 (sm_80+) / _fp16 (sm_70+)
//
// dY and x are rounded as they are staged; dW and the partials stay float32.
//
// Thread mapping: block = 128 threads (4 warps), grid = (ceil(K / 64), ceil(M / 64), splits).
// The block's 64 (channels) x 64 (reduction indices) tile of dW is cut into four 32 x 32 warp
// tiles of 2 x 2 accumulator fragments, as in conv2d_v7.cu. Per stage, BK pixels (32 for
// fp16/bf16, 16 for tf32) are staged: As[m][p] = dY (neighbouring threads read neighbouring
// pixels of one channel: coalesced) and Bs[p][k] = the im2col value of pixel p for reduction
// index k (neighbouring threads: neighbouring taps). The pixels of a chunk are a multiple of
// BK (conv_ladder.split_pixels), except at the end of the layer, where the rest is zero.
// requires: sm_70 (fp16; the tf32 and bf16 kernels need sm_80 and trap below it)
#include "wmma_precision.cuh"

using namespace nvcuda;

#define BM 64        // output channels per block
#define BN 64        // reduction indices (ci, ki, kj) per block
#define THREADS 128
#define LDC (BN + 4)
#define SMEM_BYTES (BM * LDC * 4)

template <class T>
__device__ void partial(const float* __restrict__ dy, const float* __restrict__ x,
                        float* __restrict__ part, int N, int C_in, int H, int W, int C_out,
                        int padding, int chunk, unsigned char* smem) {
    using P = Precision<T>;
    constexpr int BK = P::BK;
    constexpr int LDA = BK + 16 / sizeof(T), LDB = BN + 16 / sizeof(T);
    static_assert(BM * LDA * sizeof(T) + BK * LDB * sizeof(T) <= SMEM_BYTES, "stage too big");
    T* As = reinterpret_cast<T*>(smem);                         // [BM][LDA]: dY[m][pixel]
    T* Bs = reinterpret_cast<T*>(smem + BM * LDA * sizeof(T));  // [BK][LDB]: X^T[pixel][k]
    float* Cs = reinterpret_cast<float*>(smem);

    const int Ho = H + 2 * padding - 2, Wo = W + 2 * padding - 2, HoWo = Ho * Wo;
    const int Ptotal = N * HoWo, K = C_in * 9;
    const int k0 = blockIdx.x * BN, m0 = blockIdx.y * BM;
    const int pbeg = blockIdx.z * chunk, pend = min(Ptotal, pbeg + chunk);
    const int tid = threadIdx.x, warp = tid / 32;
    const int wm = (warp / 2) * 32, wn = (warp % 2) * 32;

    WarpAcc<T> acc;
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    for (int s = pbeg; s < pend; s += BK) {
#pragma unroll 4
        for (int r = 0; r < BM * BK / THREADS; ++r) {  // dY: channel m, neighbouring pixels
            const int e = tid + r * THREADS, m = e / BK, q = e % BK, p = s + q;
            float v = 0.0f;
            if (m0 + m < C_out && p < pend) {
                const int n = p / HoWo, pq = p % HoWo;
                v = dy[((size_t)n * C_out + m0 + m) * HoWo + pq];
            }
            As[m * LDA + q] = P::round(v);
        }
#pragma unroll 4
        for (int r = 0; r < BK * BN / THREADS; ++r) {  // im2col: pixel q, neighbouring k
            const int e = tid + r * THREADS, q = e / BN, k = e % BN, p = s + q, gk = k0 + k;
            float v = 0.0f;
            if (p < pend && gk < K) {
                const int n = p / HoWo, pq = p % HoWo, ci = gk / 9, t = gk % 9;
                const int row = pq / Wo - padding + t / 3, col = pq % Wo - padding + t % 3;
                if (row >= 0 && row < H && col >= 0 && col < W)
                    v = x[(((size_t)n * C_in + ci) * H + row) * W + col];
            }
            Bs[q * LDB + k] = P::round(v);
        }
        __syncthreads();  // the stage is complete before any warp loads a fragment of it
        warp_tile_mma<T, BK, LDA, LDB>(As, Bs, wm, wn, acc);
        __syncthreads();  // every warp is done with the stage before the next overwrites it
    }

    store_warp_tile<T>(Cs, LDC, wm, wn, acc, wmma::mem_row_major);
    __syncthreads();
    // part[z][m][k]: neighbouring threads write neighbouring k.
    float* out = part + (size_t)blockIdx.z * C_out * K;
    for (int e = tid; e < BM * BN; e += THREADS) {
        const int m = e / BN, k = e % BN;
        if (m0 + m < C_out && k0 + k < K) out[(size_t)(m0 + m) * K + k0 + k] = Cs[m * LDC + k];
    }
}

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_weight_grad_partial_tf32(const float* __restrict__ dy, const float* __restrict__ x,
                                float* __restrict__ part, int N, int C_in, int H, int W,
                                int C_out, int padding, int chunk) {
    __shared__ __align__(128) unsigned char smem[SMEM_BYTES];
#if TF32_BF16_OK
    partial<float>(dy, x, part, N, C_in, H, W, C_out, padding, chunk, smem);
#else
    __trap();
#endif
}

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_weight_grad_partial_bf16(const float* __restrict__ dy, const float* __restrict__ x,
                                float* __restrict__ part, int N, int C_in, int H, int W,
                                int C_out, int padding, int chunk) {
    __shared__ __align__(128) unsigned char smem[SMEM_BYTES];
#if TF32_BF16_OK
    partial<__nv_bfloat16>(dy, x, part, N, C_in, H, W, C_out, padding, chunk, smem);
#else
    __trap();
#endif
}

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_weight_grad_partial_fp16(const float* __restrict__ dy, const float* __restrict__ x,
                                float* __restrict__ part, int N, int C_in, int H, int W,
                                int C_out, int padding, int chunk) {
    __shared__ __align__(128) unsigned char smem[SMEM_BYTES];
#if FP16_OK
    partial<__half>(dy, x, part, N, C_in, H, W, C_out, padding, chunk, smem);
#else
    __trap();
#endif
}
