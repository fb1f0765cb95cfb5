// wmma_precision.cuh: what conv2d_v7.cu and conv2d_w4.cu share. What differs between the
// tensor-core precisions: the element type staged in shared memory, the WMMA fragment's type
// tag, the WMMA k step (16 for fp16/bf16, 8 for tf32), the stage depth BK, and the rounding
// of a float32 value to the precision as it is staged; which architectures have which. And
// the warp's part of a 64x64 block tile: 2x2 accumulator fragments of 16x16, multiplied
// stage by stage and stored to shared memory.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>

// The architectures a precision needs: below them the kernel traps (the Python side checks
// the GPU's compute capability first and says which precision it lacks).
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
#define TF32_BF16_OK 1
#else
#define TF32_BF16_OK 0
#endif
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 700
#define FP16_OK 1
#else
#define FP16_OK 0
#endif

template <class T>
struct Precision;
template <>
struct Precision<__half> {
    using tag = __half;
    static constexpr int BK = 32, WK = 16;
    static __device__ __half round(float v) { return __float2half_rn(v); }
};
template <>
struct Precision<__nv_bfloat16> {
    using tag = __nv_bfloat16;
    static constexpr int BK = 32, WK = 16;
    static __device__ __nv_bfloat16 round(float v) { return __float2bfloat16_rn(v); }
};
#if TF32_BF16_OK  // mma.h declares tf32 for sm_80 and newer only
template <>
struct Precision<float> {  // tf32: stored as float, rounded to tf32's 10 mantissa bits
    using tag = nvcuda::wmma::precision::tf32;
    static constexpr int BK = 16, WK = 8;
    static __device__ float round(float v) { return nvcuda::wmma::__float_to_tf32(v); }
};
#endif

// The accumulators of one warp: a 32x32 sub-tile of the block's 64x64, as 2x2 fragments.
template <class T>
using WarpAcc = nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, Precision<T>::WK,
                                       float>[2][2];

// One staged slice of the reduction: acc[i][j] += A(rows wm + 16i, all BK) . B(all BK, columns
// wn + 16j), with A row-major in As (leading dimension LDA) and B row-major in Bs (LDB), WK at
// a time. Every fragment pointer must be 32-byte aligned (the callers' padding keeps it so).
template <class T, int BK, int LDA, int LDB>
__device__ __forceinline__ void warp_tile_mma(const T* As, const T* Bs, int wm, int wn,
                                              WarpAcc<T>& acc) {
    using P = Precision<T>;
    namespace wmma = nvcuda::wmma;
#pragma unroll
    for (int kk = 0; kk < BK; kk += P::WK) {
        wmma::fragment<wmma::matrix_a, 16, 16, P::WK, typename P::tag, wmma::row_major> fa[2];
        wmma::fragment<wmma::matrix_b, 16, 16, P::WK, typename P::tag, wmma::row_major> fb[2];
#pragma unroll
        for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(fa[i], As + (wm + 16 * i) * LDA + kk, LDA);
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(fb[j], Bs + kk * LDB + wn + 16 * j, LDB);
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
}

// The warp's accumulators to Cs (leading dimension ldc) in `layout`: through shared memory,
// because which lane holds which element of a fragment is unspecified.
template <class T>
__device__ __forceinline__ void store_warp_tile(float* Cs, int ldc, int wm, int wn,
                                                const WarpAcc<T>& acc,
                                                nvcuda::wmma::layout_t layout) {
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j)
            nvcuda::wmma::store_matrix_sync(Cs + (wm + 16 * i) * ldc + wn + 16 * j, acc[i][j], ldc,
                                            layout);
}
