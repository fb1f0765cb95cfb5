// mse_loss.cu: L = mean((pred - target)^2) over n elements, and dL/dpred.
//
//   mse_loss_partial   partial[blk] = sum of (pred - target)^2 over the elements block blk visits
//   mse_loss_finalize  loss[0]      = (sum of partial[0 .. num_partials)) * inv_count
//   mse_loss_backward  dpred[e]     = scale * (pred[e] - target[e]),   scale = 2 / n
//
// The loss is a parallel reduction in two launches:
//   1. mse_loss_partial: 256 threads a block, grid-stride over the elements; each thread
//      keeps a running sum in a register, then the block adds its 256 sums by a tree in
//      shared memory (128 threads add pairs, then 64, ... 1), each round behind a barrier.
//      Thread 0 writes the block's sum to partial[blockIdx.x].
//   2. mse_loss_finalize: one block of 256 threads reduces the partial sums the same way.
// Two launches instead of atomicAdd keep the result deterministic: the same inputs give
// the same bits on every run, which a resumed training run relies on.
//
// mse_loss_backward: one thread per element, grid-stride loop.

#define THREADS 256

__device__ void tree_sum(float* s, int tid) {
    for (int stride = THREADS / 2; stride > 0; stride >>= 1) {
        __syncthreads();
        if (tid < stride) s[tid] += s[tid + stride];
    }
}

extern "C" __global__ void mse_loss_partial(const float* __restrict__ pred,
                                            const float* __restrict__ target,
                                            float* __restrict__ partial, int n) {
    __shared__ float s[THREADS];
    const int tid = threadIdx.x;
    float sum = 0.0f;
    for (int e = blockIdx.x * THREADS + tid; e < n; e += gridDim.x * THREADS) {
        const float d = pred[e] - target[e];
        sum += d * d;
    }
    s[tid] = sum;
    tree_sum(s, tid);
    if (tid == 0) partial[blockIdx.x] = s[0];
}

extern "C" __global__ void mse_loss_finalize(const float* __restrict__ partial,
                                             float* __restrict__ loss, int num_partials,
                                             float inv_count) {
    __shared__ float s[THREADS];
    const int tid = threadIdx.x;
    float sum = 0.0f;
    for (int e = tid; e < num_partials; e += THREADS) sum += partial[e];
    s[tid] = sum;
    tree_sum(s, tid);
    if (tid == 0) loss[0] = s[0] * inv_count;
}

extern "C" __global__ void mse_loss_backward(const float* __restrict__ pred,
                                             const float* __restrict__ target,
                                             float* __restrict__ dpred, int n, float scale) {
    for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < n; e += gridDim.x * blockDim.x)
        dpred[e] = scale * (pred[e] - target[e]);
}
