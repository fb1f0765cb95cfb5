// Kernels with known memory-access patterns, for the emulator's memory-traffic profile
// (tests/test_profile.py): coalesced and strided global accesses, float4, shared-memory
// strides (bank conflicts and broadcasts), partial warps, loops, local arrays, barriers.
// Lines the tests look up carry `// MARK <name>`. Plain CUDA: they also run on a GPU.

// y[i] = x[i]: one request and 4 sectors per full warp, for each of the load and the store.
extern "C" __global__ void copy(const float* __restrict__ x, float* __restrict__ y, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i];  // MARK copy
}

// y[i] = x[i * stride]: the load touches one sector per lane once stride >= 8.
extern "C" __global__ void gather(const float* __restrict__ x, float* __restrict__ y,
                                  int stride, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float v = x[i * stride];  // MARK gather load
    y[i] = v;                       // MARK gather store
}

// The same copy through __ldg(): the load belongs to this line, not to the runtime's header.
extern "C" __global__ void copy_ldg(const float* __restrict__ x, float* __restrict__ y, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = __ldg(&x[i]);  // MARK ldg
}

// 16 bytes per thread: one request and 16 sectors per full warp.
extern "C" __global__ void copy4(const float* __restrict__ x, float* __restrict__ y, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        reinterpret_cast<float4*>(y)[i] = reinterpret_cast<const float4*>(x)[i];  // MARK copy4
}

// Each thread reads `reps` elements, a block-wide stride apart: `reps` coalesced requests per
// warp (the k-th iteration of every lane forms the k-th request).
extern "C" __global__ void sum_rows(const float* __restrict__ x, float* __restrict__ y,
                                    int reps) {
    const int stride = gridDim.x * blockDim.x;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    float acc = 0.0f;
    for (int k = 0; k < reps; ++k) acc += x[k * stride + i];  // MARK sum_rows
    y[i] = acc;
}

// A local array indexed at run time lives on the thread's stack: not global memory.
extern "C" __global__ void local_array(const float* __restrict__ x, float* __restrict__ y,
                                       int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float a[8];
    const float v = x[i];
    for (int k = 0; k < 8; ++k) a[k] = v * float(k);
    y[i] = a[(i * 5 + n) & 7];
}

#define SHARED_WORDS 1024

// Every thread stores to and then loads from word (t * stride) mod 1024 of a shared array:
// the bank conflicts are those of that pattern (stride 0: one word for all, a broadcast).
extern "C" __global__ void shared_stride(float* __restrict__ y, int stride) {
    __shared__ float s[SHARED_WORDS];
    const int t = threadIdx.x;
    const int word = (t * stride) & (SHARED_WORDS - 1);
    s[word] = float(t);  // MARK shared store
    __syncthreads();     // MARK shared barrier
    y[blockIdx.x * blockDim.x + t] = s[word];  // MARK shared load
}

// The same on dynamic shared memory (extern __shared__).
extern "C" __global__ void dynamic_stride(float* __restrict__ y, int stride) {
    extern __shared__ float d[];
    const int t = threadIdx.x;
    const int word = (t * stride) & (SHARED_WORDS - 1);
    d[word] = float(t);
    __syncthreads();
    y[blockIdx.x * blockDim.x + t] = d[word];
}

// 8- and 16-byte shared accesses with a stride in elements: float2 and float4 stored whole
// (built from values, and copied) and loaded whole, each one access per thread.
extern "C" __global__ void shared_wide(const float* __restrict__ x, float* __restrict__ y,
                                       int stride) {
    __shared__ float2 s2[256];
    __shared__ float4 s4[256];
    const int t = threadIdx.x;
    const int e = (t * stride) & 255;
    s2[e] = make_float2(x[t], 1.0f);                // MARK wide store2
    s4[e] = reinterpret_cast<const float4*>(x)[t];  // MARK wide store4
    __syncthreads();
    const float2 a = s2[e];  // MARK wide load2
    const float4 b = s4[e];  // MARK wide load4
    y[blockIdx.x * blockDim.x + t] = a.x + a.y + b.x + b.w;
}

// Two barriers per pass, `passes` passes: 2 * passes barriers per warp.
extern "C" __global__ void barriers(float* __restrict__ y, int passes) {
    __shared__ float s[256];
    const int t = threadIdx.x;
    float acc = 0.0f;
    for (int p = 0; p < passes; ++p) {
        s[t] = float(t + p);
        __syncthreads();  // MARK barrier one
        acc += s[(t + 1) % blockDim.x];
        __syncthreads();  // MARK barrier two
    }
    y[blockIdx.x * blockDim.x + t] = acc;
}

// The classic shared-memory transpose of a 32x32 tile, one block of 32x32 threads: thread
// (tx, ty) writes tile[ty][tx] (a row: conflict-free), then reads tile[tx][ty] (a column).
// Without padding a column's 32 floats lie in one bank: 32 wavefronts per request; one
// float of padding per row (PAD 1) spreads them over all 32 banks: 1 wavefront.
template <int PAD>
__device__ void transpose_tile(const float* __restrict__ x, float* __restrict__ y) {
    __shared__ float tile[32][32 + PAD];
    const int tx = threadIdx.x, ty = threadIdx.y;
    tile[ty][tx] = x[ty * 32 + tx];
    __syncthreads();
    y[ty * 32 + tx] = tile[tx][ty];  // MARK transpose-read
}
extern "C" __global__ void transpose(const float* __restrict__ x, float* __restrict__ y) {
    transpose_tile<0>(x, y);
}
extern "C" __global__ void transpose_padded(const float* __restrict__ x, float* __restrict__ y) {
    transpose_tile<1>(x, y);
}
