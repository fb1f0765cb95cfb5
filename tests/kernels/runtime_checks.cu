// Kernels that exercise the runtime itself (tests/test_runtime.py): index mapping, shared
// memory, barriers, atomics and argument widths. Each is written as ordinary CUDA.

// Every thread writes its threadIdx and blockIdx at its global linear index, so a test can
// compare the whole 3-D mapping with one computed by NumPy.
extern "C" __global__ void thread_ids(int* __restrict__ out) {
    const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    const unsigned thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    const unsigned g = block * (blockDim.x * blockDim.y * blockDim.z) + thread;
    int* o = out + 6 * g;
    o[0] = threadIdx.x; o[1] = threadIdx.y; o[2] = threadIdx.z;
    o[3] = blockIdx.x;  o[4] = blockIdx.y;  o[5] = blockIdx.z;
}

#define REVERSE_BLOCK 256

// Each block reverses its slice of 256 elements through shared memory. Thread t reads what
// thread 255 - t wrote, so the barrier between the write and the read is essential.
extern "C" __global__ void __launch_bounds__(REVERSE_BLOCK)
reverse_blocks(const float* __restrict__ x, float* __restrict__ y) {
    __shared__ float tile[REVERSE_BLOCK];
    const int base = blockIdx.x * REVERSE_BLOCK;
    tile[threadIdx.x] = x[base + threadIdx.x];
    __syncthreads();
    y[base + threadIdx.x] = tile[REVERSE_BLOCK - 1 - threadIdx.x];
}

// The same without the barrier: a race, which the emulator must show as a GPU would.
extern "C" __global__ void reverse_blocks_racy(const float* __restrict__ x,
                                               float* __restrict__ y) {
    __shared__ float tile[REVERSE_BLOCK];
    const int base = blockIdx.x * REVERSE_BLOCK;
    tile[threadIdx.x] = x[base + threadIdx.x];
    y[base + threadIdx.x] = tile[REVERSE_BLOCK - 1 - threadIdx.x];
}

// Dynamic shared memory: the slice length is blockDim.x, the buffer sized at launch.
extern "C" __global__ void reverse_dynamic(const float* __restrict__ x, float* __restrict__ y,
                                           int n) {
    extern __shared__ __align__(16) float buf[];
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    buf[threadIdx.x] = i < n ? x[i] : 0.0f;
    __syncthreads();
    const int j = blockIdx.x * blockDim.x + (blockDim.x - 1 - threadIdx.x);
    if (j < n) y[j] = buf[threadIdx.x];
}

// Reads dynamic shared memory that nobody wrote (undefined on a GPU, NaN in the emulator).
extern "C" __global__ void read_unwritten_shared(float* out) {
    extern __shared__ float scratch[];
    out[blockIdx.x * blockDim.x + threadIdx.x] = scratch[threadIdx.x];
}

// Dynamic shared memory declared at file scope, as some CUDA code does.
extern __shared__ float file_scope_shared[];

extern "C" __global__ void block_sums(const float* __restrict__ x, float* __restrict__ sums,
                                      int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    file_scope_shared[threadIdx.x] = i < n ? x[i] : 0.0f;
    __syncthreads();
    for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {  // blockDim: power of 2
        if (threadIdx.x < stride) {
            file_scope_shared[threadIdx.x] += file_scope_shared[threadIdx.x + stride];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) sums[blockIdx.x] = file_scope_shared[0];
}

// Many threads add into one float.
extern "C" __global__ void atomic_sum(float* total, float value) {
    atomicAdd(total, value);
}

// Every thread takes a ticket from one counter: the tickets must be 0..N-1, each once.
extern "C" __global__ void take_tickets(int* counter, int* tickets) {
    const int g = blockIdx.x * blockDim.x + threadIdx.x;
    tickets[g] = atomicAdd(counter, 1);
}

// Writes its scalar arguments back, to show each arrives at its own width.
extern "C" __global__ void echo_scalars(int a, long long b, float c, double d, unsigned int e,
                                        double* out) {
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        out[0] = a; out[1] = (double)b; out[2] = c; out[3] = d; out[4] = e;
    }
}

// Two barriers per block (a load, a neighbour exchange, a store): the timing benchmark.
extern "C" __global__ void two_barriers(const float* __restrict__ x, float* __restrict__ y,
                                       int n) {
    __shared__ float a[256];
    __shared__ float b[256];
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    a[threadIdx.x] = i < n ? x[i] : 0.0f;
    __syncthreads();
    b[threadIdx.x] = a[threadIdx.x] + a[(threadIdx.x + 1) % blockDim.x];
    __syncthreads();
    if (i < n) y[i] = b[threadIdx.x] + b[(threadIdx.x + blockDim.x - 1) % blockDim.x];
}

// A block-wide vote: how many threads of each block see a positive element.
extern "C" __global__ void count_positive(const float* __restrict__ x, int* __restrict__ counts,
                                          int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const int count = __syncthreads_count(i < n && x[i] > 0.0f);
    if (threadIdx.x == 0) counts[blockIdx.x] = count;
}

// CUDA's min/max overloads: floats, and integers of mixed signedness.
extern "C" __global__ void clamp_and_distance(const float* __restrict__ x, float* __restrict__ y,
                                              int* __restrict__ d, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        y[i] = max(min(x[i], 1.0f), -1.0f);
        d[i] = min(i, n - 1 - i) + (int)max(0u, blockIdx.x);  // distance to the nearer end
    }
}

// Dynamic shared memory without the barrier its use needs: thread t reads slot t + 1, which
// thread t + 1 writes (a race; the race check must name the buffer and both lines).
extern "C" __global__ void neighbour_dynamic_racy(float* y) {
    extern __shared__ float slots[];
    slots[threadIdx.x] = (float)threadIdx.x;
    y[blockIdx.x * blockDim.x + threadIdx.x] = slots[(threadIdx.x + 1) % blockDim.x];
}

// Global memory races. `shared_slot` 1: thread 0 of every block writes out[0] (blocks are not
// ordered within a launch: a race); 0: each block its own out[blockIdx.x] (none).
extern "C" __global__ void blocks_write(float* out, int shared_slot) {
    if (threadIdx.x == 0) out[shared_slot ? 0 : blockIdx.x] = (float)blockIdx.x;
}

// Within a block: thread t reads y[t + 1], which thread t + 1 writes; `sync` 0 leaves out the
// barriers between (a race), 1 keeps them.
extern "C" __global__ void neighbour_global(float* y, int sync) {
    y[threadIdx.x] = (float)threadIdx.x;
    if (sync) __syncthreads();
    const float v = y[(threadIdx.x + 1) % blockDim.x];  // MARK global-read
    if (sync) __syncthreads();
    y[threadIdx.x] += v;
}
