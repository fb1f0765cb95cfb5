// conv2d_v4.cu: the forward convolution, version 4 of 7: implicit GEMM over flattened pixels.
//
// Computes what conv2d_v1.cu's header states, with the same kernel signature.
//
// The convolution as one matrix product, never built in memory ("implicit"):
//
//   Y (M x P) = Wt (M x K) . X (K x P),   M = C_out,  P = N * Ho * Wo,  K = C_in * 9
//   Wt[m][k]  = w[m, ci, ki, kj]            (w as stored: row m is contiguous, k = ci*9 + ki*3 + kj)
//   X[k][p]   = x[n, ci, i + ki - pad, j + kj - pad], 0 outside the image   (the im2col matrix)
//   Y[m][p]   = y[n, m, i, j],   p = (n * Ho + i) * Wo + j
//
// What changed from version 3, and why it should be faster:
//   * The pixel dimension is flattened over (n, i, j): a block's BN = 64 pixels run on across
//     rows and images, so only the very last block of the whole layer is partial. A 50 x 50
//     map no longer pays for whole 2-D tiles: 16 x 2500 pixels fill 625 blocks, all full
//     (version 3: 4096 thread-pixels per 2500 outputs, 39% idle).
//   * A block computes BM = 64 output channels x BN = 64 pixels, so each input value staged in
//     shared memory serves 64 channels (version 3: 8) and each weight 64 pixels.
//   * Register tiling of the product: each of the 256 threads computes TM x TN = 4 x 4 outputs;
//     per reduction step k it reads 4 values of Wt and 4 of X from shared memory for 16
//     multiply-adds.
//   What it gives up: X is gathered, not tiled, so every input value is loaded once per tap
//   (up to 9 times, mostly from L1) instead of once per patch, and there are 0.5 shared reads
//   per multiply-add (version 3: 0.31). The gain is the shape: no idle pixels, any channel
//   count fills the tile the same way, and the loop is a plain GEMM that versions 5 and 6
//   make fast.
//
// Thread mapping: block = 256 threads, grid = (ceil(P / BN), ceil(M / BM)). Per stage the block
// stages a BK = 8 slice of the reduction: As[k][m] (weights, 2 per thread, neighbouring threads
// reading neighbouring k of one row) and Bs[k][p] (the im2col gather, 2 per thread: each
// thread always gathers for the same pixel p = tid % 64, whose (n, i, j) it splits once, and
// neighbouring threads gather neighbouring pixels). Then thread (tx, ty) = (tid % 16, tid / 16)
// computes channels ty + 16a and pixels tx + 16b (a, b < 4): strided, so that a warp's reads of
// Bs and its writes of y fall on consecutive addresses.
//
// Still wasteful: every shared-memory read is a 4-byte load, two __syncthreads() per stage,
// and the loads of the next stage do not start until the current one is used. Version 5.

#define BM 64  // output channels per block
#define BN 64  // pixels per block
#define BK 8   // reduction steps per shared-memory stage
#define TM 4   // channels per thread
#define TN 4   // pixels per thread
#define THREADS 256

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward(const float* __restrict__ x, const float* __restrict__ w,
               const float* __restrict__ b, float* __restrict__ y,
               int N, int C_in, int H, int W, int C_out, int padding) {
    __shared__ float As[BK][BM];
    __shared__ float Bs[BK][BN];

    const int Ho = H + 2 * padding - 2;
    const int Wo = W + 2 * padding - 2;
    const int HoWo = Ho * Wo;
    const int P = N * HoWo;  // the GEMM's N dimension (fits an int for any map this code serves)
    const int K = C_in * 9;
    const int p0 = blockIdx.x * BN, m0 = blockIdx.y * BM;
    const int tid = threadIdx.x;

    // The pixel this thread gathers for, split once: (n, i, j) -> where its 3x3 window starts.
    const int lp = tid % BN;
    const int gp = p0 + lp;
    const bool p_ok = gp < P;
    const int pn = p_ok ? gp / HoWo : 0, pq = p_ok ? gp % HoWo : 0;
    const int pi = pq / Wo - padding, pj = pq % Wo - padding;  // window corner, may be < 0
    const float* xn = x + (size_t)pn * C_in * H * W;

    const int tx = tid % 16, ty = tid / 16;
    float acc[TM][TN];
#pragma unroll
    for (int a = 0; a < TM; ++a)
#pragma unroll
        for (int c = 0; c < TN; ++c) acc[a][c] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += BK) {
#pragma unroll
        for (int r = 0; r < BM * BK / THREADS; ++r) {  // weights: row m, 8 neighbouring k
            const int e = tid + r * THREADS, m = e / BK, k = e % BK;
            As[k][m] = (m0 + m < C_out && k0 + k < K) ? w[(size_t)(m0 + m) * K + k0 + k] : 0.0f;
        }
#pragma unroll
        for (int r = 0; r < BK * BN / THREADS; ++r) {  // im2col: rows tid/64 and tid/64 + 4
            const int k = tid / BN + r * (THREADS / BN), gk = k0 + k;
            float v = 0.0f;
            if (p_ok && gk < K) {
                const int ci = gk / 9, t = gk % 9;
                const int row = pi + t / 3, col = pj + t % 3;
                if (row >= 0 && row < H && col >= 0 && col < W)
                    v = xn[((size_t)ci * H + row) * W + col];
            }
            Bs[k][lp] = v;
        }
        __syncthreads();  // the stage is complete before anyone reads it
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            float a[TM], bv[TN];
#pragma unroll
            for (int q = 0; q < TM; ++q) a[q] = As[k][ty + 16 * q];
#pragma unroll
            for (int q = 0; q < TN; ++q) bv[q] = Bs[k][tx + 16 * q];
#pragma unroll
            for (int q = 0; q < TM; ++q)
#pragma unroll
                for (int c = 0; c < TN; ++c) acc[q][c] += a[q] * bv[c];
        }
        __syncthreads();  // everyone is done reading before the next stage overwrites
    }

#pragma unroll
    for (int c = 0; c < TN; ++c) {
        const int p = p0 + tx + 16 * c;
        if (p >= P) continue;
        const int n = p / HoWo, q = p % HoWo;
#pragma unroll
        for (int a = 0; a < TM; ++a) {
            const int m = m0 + ty + 16 * a;
            if (m < C_out) y[((size_t)n * C_out + m) * HoWo + q] = acc[a][c] + b[m];
        }
    }
}
