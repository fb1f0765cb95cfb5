// wmma_precision.cuh: what differs between the tensor-core precisions of conv2d_v7.cu and
// conv2d_w4.cu: the element type staged in shared memory, the WMMA fragment's type tag, the
// WMMA k step (16 for fp16/bf16, 8 for tf32), the stage depth BK, and the rounding of a
// float32 value to the precision as it is staged. Also which architectures have which.
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
