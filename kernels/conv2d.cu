// conv2d.cu: 3x3, stride-1 convolution of NCHW float32 images, and its gradients.
//
// What is computed (p = padding, any of 0, 1, 2; Ho = H + 2p - 2, Wo = W + 2p - 2):
//
//   conv2d_forward      y[n,co,i,j]    = b[co] + sum_{ci,ki,kj} w[co,ci,ki,kj] * x[n,ci,i+ki-p,j+kj-p]
//                                        (x read as 0 outside the image: the zero padding)
//   conv2d_weight_grad  dw[co,ci,ki,kj] = sum_{n,i,j} dy[n,co,i,j] * x[n,ci,i+ki-p,j+kj-p]
//   conv2d_bias_grad    db[c]          = sum_{n,i,j} dy[n,c,i,j]
//   conv2d_flip_weights wf[ci,co,ki,kj] = w[co,ci,2-ki,2-kj]
//
// There is no separate input-gradient kernel: the input gradient of a padding-p convolution
// is conv2d_forward(dy, flip(w), padding 2 - p), exactly (see rednet_cupy/reference/conv2d.py).
// The same identity makes deconv2d's forward pass, and deconv2d's input gradient is
// conv2d_forward itself, so these four kernels serve both layers.
//
// Thread mapping, conv2d_forward:
//   block  = TILE x TILE threads (16 x 16), one thread per output pixel of a 16x16 tile;
//   grid.x = tiles across Wo, grid.y = tiles down Ho, grid.z = N * ceil(C_out / CO_TILE).
//   Each thread computes CO_TILE (8) output channels of its pixel. For every input channel
//   the block first copies the (TILE+2) x (TILE+2) input patch its tile needs (the halo
//   included) and the CO_TILE x 9 weights into shared memory, waits, then every thread
//   does 9 * CO_TILE multiply-adds from shared memory. Each input value loaded from global
//   memory is thus reused up to 9 * CO_TILE times instead of once.
//
// conv2d_weight_grad: one block of 256 threads per (ci, co) pair (grid = C_in x C_out).
//   Each thread walks the output pixels (n, i, j) with a stride of 256, keeping 9 running
//   sums (one per tap) in registers, then the block adds its 256 x 9 partial sums with a
//   tree reduction in shared memory. Thread t of a block reads pixel t, t + 256, ...: the
//   threads of a warp read consecutive addresses (coalesced).
//
// conv2d_bias_grad: one block of 256 threads per channel, the same reduction with 1 sum.
// conv2d_flip_weights: one thread per weight.

#define TILE 16
#define CO_TILE 8
#define HALO (TILE + 2)
#define RED_THREADS 256

extern "C" __global__ void conv2d_forward(const float* __restrict__ x, const float* __restrict__ w,
                                          const float* __restrict__ b, float* __restrict__ y,
                                          int N, int C_in, int H, int W, int C_out, int padding) {
    __shared__ float patch[HALO][HALO];
    __shared__ float wsh[CO_TILE][9];

    const int Ho = H + 2 * padding - 2;
    const int Wo = W + 2 * padding - 2;
    const int co_groups = (C_out + CO_TILE - 1) / CO_TILE;
    const int n = blockIdx.z / co_groups;
    const int co0 = (blockIdx.z % co_groups) * CO_TILE;
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int tid = ty * TILE + tx;
    const int i = blockIdx.y * TILE + ty;  // this thread's output pixel
    const int j = blockIdx.x * TILE + tx;
    // Input coordinates of the patch's top-left corner (may be negative: padding).
    const int row0 = blockIdx.y * TILE - padding;
    const int col0 = blockIdx.x * TILE - padding;

    float acc[CO_TILE];
    for (int k = 0; k < CO_TILE; ++k) acc[k] = 0.0f;

    for (int ci = 0; ci < C_in; ++ci) {
        const float* xc = x + ((size_t)n * C_in + ci) * H * W;
        // 256 threads copy the 18 x 18 = 324 patch values: some threads copy two.
        for (int e = tid; e < HALO * HALO; e += TILE * TILE) {
            const int r = row0 + e / HALO, c = col0 + e % HALO;
            patch[e / HALO][e % HALO] = (r >= 0 && r < H && c >= 0 && c < W) ? xc[r * W + c] : 0.0f;
        }
        if (tid < CO_TILE * 9) {
            const int k = tid / 9, co = co0 + k;
            wsh[k][tid % 9] = co < C_out ? w[((size_t)co * C_in + ci) * 9 + tid % 9] : 0.0f;
        }
        __syncthreads();  // the patch and weights are complete before anyone reads them
        for (int ki = 0; ki < 3; ++ki)
            for (int kj = 0; kj < 3; ++kj) {
                const float v = patch[ty + ki][tx + kj];
                for (int k = 0; k < CO_TILE; ++k) acc[k] += wsh[k][ki * 3 + kj] * v;
            }
        __syncthreads();  // everyone is done reading before the next channel overwrites them
    }
    // Threads of a partial tile at the right/bottom edge loaded data but write nothing.
    if (i < Ho && j < Wo) {
        for (int k = 0; k < CO_TILE && co0 + k < C_out; ++k)
            y[(((size_t)n * C_out + co0 + k) * Ho + i) * Wo + j] = acc[k] + b[co0 + k];
    }
}

// Tree reduction of RED_THREADS values per lane in shared memory: after it, s[lane][0] holds
// the sum. Every thread of the block must call it (it contains barriers).
__device__ void block_sum(float (*s)[RED_THREADS], int lanes, int tid) {
    for (int stride = RED_THREADS / 2; stride > 0; stride >>= 1) {
        __syncthreads();  // the previous round's writes are visible
        if (tid < stride)
            for (int l = 0; l < lanes; ++l) s[l][tid] += s[l][tid + stride];
    }
    __syncthreads();
}

extern "C" __global__ void conv2d_weight_grad(const float* __restrict__ dy, const float* __restrict__ x,
                                              float* __restrict__ dw, int N, int C_in, int H, int W,
                                              int C_out, int padding) {
    __shared__ float part[9][RED_THREADS];
    const int ci = blockIdx.x, co = blockIdx.y, tid = threadIdx.x;
    const int Ho = H + 2 * padding - 2;
    const int Wo = W + 2 * padding - 2;
    const int pixels = N * Ho * Wo;

    float sum[9];
    for (int k = 0; k < 9; ++k) sum[k] = 0.0f;
    for (int q = tid; q < pixels; q += RED_THREADS) {
        const int n = q / (Ho * Wo), i = (q / Wo) % Ho, j = q % Wo;
        const float g = dy[(((size_t)n * C_out + co) * Ho + i) * Wo + j];
        const float* xc = x + ((size_t)n * C_in + ci) * H * W;
        for (int ki = 0; ki < 3; ++ki) {
            const int r = i + ki - padding;
            if (r < 0 || r >= H) continue;
            for (int kj = 0; kj < 3; ++kj) {
                const int c = j + kj - padding;
                if (c >= 0 && c < W) sum[ki * 3 + kj] += g * xc[r * W + c];
            }
        }
    }
    for (int k = 0; k < 9; ++k) part[k][tid] = sum[k];
    block_sum(part, 9, tid);
    if (tid < 9) dw[((size_t)co * C_in + ci) * 9 + tid] = part[tid][0];
}

extern "C" __global__ void conv2d_bias_grad(const float* __restrict__ dy, float* __restrict__ db,
                                            int N, int C, int HW) {
    __shared__ float part[1][RED_THREADS];
    const int c = blockIdx.x, tid = threadIdx.x;
    float sum = 0.0f;
    for (int q = tid; q < N * HW; q += RED_THREADS) {
        const int n = q / HW, p = q % HW;
        sum += dy[((size_t)n * C + c) * HW + p];
    }
    part[0][tid] = sum;
    block_sum(part, 1, tid);
    if (tid == 0) db[c] = part[0][0];
}

extern "C" __global__ void conv2d_flip_weights(const float* __restrict__ w, float* __restrict__ wf,
                                               int C_out, int C_in) {
    const int e = blockIdx.x * blockDim.x + threadIdx.x;  // index into wf
    if (e >= C_out * C_in * 9) return;
    const int k = e % 9, co = (e / 9) % C_out, ci = e / (9 * C_out);
    wf[e] = w[((size_t)co * C_in + ci) * 9 + (8 - k)];
}
