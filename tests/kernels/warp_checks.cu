// Kernels that exercise warp-level intrinsics (tests/test_warps.py): shuffles of every kind
// and type, votes, __syncwarp, __activemask, a warp reduction, and the mistakes the emulator
// must report instead of hanging. Each is ordinary CUDA.

// Lanes named in `mask` shuffle x with a per-lane operand arg (srcLane, delta or laneMask);
// the others exit at once, so they are no part of the collective. op: 0 __shfl_sync,
// 1 __shfl_up_sync, 2 __shfl_down_sync, 3 __shfl_xor_sync.
template <class T>
__device__ void shuffle(const T* x, const int* arg, T* y, int op, int width, unsigned mask) {
    const int g = blockIdx.x * blockDim.x + threadIdx.x;
    if (!((mask >> (threadIdx.x % 32)) & 1u)) return;
    const T v = x[g];
    T r = v;
    if (op == 0) r = __shfl_sync(mask, v, arg[g], width);
    if (op == 1) r = __shfl_up_sync(mask, v, (unsigned)arg[g], width);
    if (op == 2) r = __shfl_down_sync(mask, v, (unsigned)arg[g], width);
    if (op == 3) r = __shfl_xor_sync(mask, v, arg[g], width);
    y[g] = r;
}

extern "C" __global__ void shuffle_i32(const int* x, const int* arg, int* y, int op, int width,
                                       unsigned mask) {
    shuffle(x, arg, y, op, width, mask);
}
extern "C" __global__ void shuffle_u32(const unsigned* x, const int* arg, unsigned* y, int op,
                                       int width, unsigned mask) {
    shuffle(x, arg, y, op, width, mask);
}
extern "C" __global__ void shuffle_f32(const float* x, const int* arg, float* y, int op,
                                       int width, unsigned mask) {
    shuffle(x, arg, y, op, width, mask);
}
extern "C" __global__ void shuffle_i64(const long long* x, const int* arg, long long* y, int op,
                                       int width, unsigned mask) {
    shuffle(x, arg, y, op, width, mask);
}
extern "C" __global__ void shuffle_f64(const double* x, const int* arg, double* y, int op,
                                       int width, unsigned mask) {
    shuffle(x, arg, y, op, width, mask);
}

// Votes of the lanes named in `mask` (the others exit): each writes what it got.
extern "C" __global__ void votes(const int* pred, unsigned* ballot, int* any, int* all,
                                 unsigned mask) {
    const int g = blockIdx.x * blockDim.x + threadIdx.x;
    if (!((mask >> (threadIdx.x % 32)) & 1u)) return;
    ballot[g] = __ballot_sync(mask, pred[g]);
    any[g] = __any_sync(mask, pred[g]);
    all[g] = __all_sync(mask, pred[g]);
}

// Sum of each warp's 32 values by a shuffle tree; lane 0 writes it. Block size: a multiple of 32.
extern "C" __global__ void warp_sums(const float* x, float* sums) {
    const int g = blockIdx.x * blockDim.x + threadIdx.x;
    float v = x[g];
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
    if (threadIdx.x % 32 == 0) sums[g / 32] = v;
}

// Neighbours swap through shared memory, ordered by __syncwarp (no block barrier).
extern "C" __global__ void syncwarp_swap(const float* x, float* y) {
    __shared__ float s[64];
    const int t = threadIdx.x, g = blockIdx.x * blockDim.x + t;
    s[t] = x[g];
    __syncwarp();
    y[g] = s[t ^ 1];
}

// The same without __syncwarp: a race between the lanes of a warp.
extern "C" __global__ void syncwarp_swap_racy(const float* x, float* y) {
    __shared__ float s[64];
    const int t = threadIdx.x, g = blockIdx.x * blockDim.x + t;
    s[t] = x[g];
    y[g] = s[t ^ 1];
}

// Each thread writes the __activemask() of its warp (all lanes present and running).
extern "C" __global__ void active_masks(unsigned* out) {
    out[blockIdx.x * blockDim.x + threadIdx.x] = __activemask();
}

// ---- mistakes: each must end the launch with an error naming where ----------------------

// Lane 0 names only lane 1 in its mask.
extern "C" __global__ void lane_outside_mask(int* y) {
    y[threadIdx.x] = __shfl_sync(threadIdx.x == 0 ? 0x2u : 0xffffffffu, 1, 0);  // MARK outside
}

// Lanes 0-15 shuffle with the whole warp while lanes 16-31 wait at a block barrier.
extern "C" __global__ void partners_at_barrier(int* y) {
    if (threadIdx.x % 32 < 16) {
        y[threadIdx.x] = __shfl_sync(0xffffffffu, (int)threadIdx.x, 0);  // MARK shuffle
    } else {
        __syncthreads();  // MARK barrier
    }
}

// Even lanes vote with __ballot_sync, odd lanes with __any_sync: neither ever completes.
extern "C" __global__ void mismatched_votes(int* y) {
    if (threadIdx.x % 2 == 0) y[threadIdx.x] = __ballot_sync(0xffffffffu, 1);  // MARK ballot
    else y[threadIdx.x] = __any_sync(0xffffffffu, 1);  // MARK any
}

// Threads 40 and up return before the barrier the others wait at.
extern "C" __global__ void partial_barrier(int* y) {
    if (threadIdx.x >= 40) return;
    __syncthreads();  // MARK partial
    y[threadIdx.x] = 1;
}

// A width that is not a power of two.
extern "C" __global__ void bad_width(int* y) {
    y[threadIdx.x] = __shfl_sync(0xffffffffu, 1, 0, 3);  // MARK width
}
