// conv2d_v3.cu: the forward convolution, version 3 of 7: register blocking.
//
// Computes what conv2d_v1.cu's header states, with the same kernel signature.
//
// What changed from version 2 (kernels/conv2d.cu):
//   * Each thread computes ROWS (4) output pixels of one column x CO_T (8) output channels,
//     32 sums in registers, instead of 1 pixel x 8 channels. For one input channel and one
//     tap column kj it reads the ROWS + 2 = 6 input values under its pixels from shared memory
//     into registers once and uses each for up to 3 taps x 8 channels; each weight read from
//     shared memory is used for 4 pixels instead of 1. Per input channel a thread now does
//     4 x 8 x 9 = 288 multiply-adds for 18 + 72 = 90 shared-memory reads (version 2: 72 for
//     9 + 72 = 81), so the kernel stops being bound by shared-memory loads.
//   * Each shared-memory stage holds CI_S (4) input channels, not 1: a quarter of the
//     __syncthreads() pairs, and 4 channels' loads in flight before the block waits.
//
// Thread mapping: block = TW x (TH / ROWS) = 32 x 4 = 128 threads for a TW x TH = 32 x 16
// output tile; grid.x = tiles across Wo, grid.y = tiles down Ho, grid.z = N * ceil(C_out /
// CO_T). Thread (tx, ty) owns column tx and rows ty*ROWS .. ty*ROWS + 3 of the tile. A warp is
// one row of 32 threads, so its shared-memory reads patch[c][r][tx + kj] hit 32 consecutive
// words: no bank conflicts. The weights are stored co-fastest, wsh[c][tap][k], and every
// thread of the block reads the same word at once (a broadcast).
//
// Still wasteful: a 50 x 50 map needs 2 x 4 tiles of 32 x 16 = 4096 threads' pixels for 2500
// outputs (39% idle), and a block only has 8 output channels to reuse its patch for.
// Version 4 treats the whole layer as one matrix product instead.

#define TW 32        // output tile width = blockDim.x
#define TH 16        // output tile height = blockDim.y * ROWS
#define ROWS 4       // output rows per thread
#define CO_T 8       // output channels per block (and per thread)
#define CI_S 4       // input channels per shared-memory stage
#define PW (TW + 2)  // patch width with the halo
#define PH (TH + 2)  // patch height with the halo
#define THREADS (TW * (TH / ROWS))

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward(const float* __restrict__ x, const float* __restrict__ w,
               const float* __restrict__ b, float* __restrict__ y,
               int N, int C_in, int H, int W, int C_out, int padding) {
    __shared__ float patch[CI_S][PH][PW];
    __shared__ float wsh[CI_S][9][CO_T];

    const int Ho = H + 2 * padding - 2;
    const int Wo = W + 2 * padding - 2;
    const int co_groups = (C_out + CO_T - 1) / CO_T;
    const int n = blockIdx.z / co_groups;
    const int co0 = (blockIdx.z % co_groups) * CO_T;
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int tid = ty * TW + tx;
    const int row0 = blockIdx.y * TH - padding;  // input coordinates of the patch's corner
    const int col0 = blockIdx.x * TW - padding;

    float acc[ROWS][CO_T];
#pragma unroll
    for (int r = 0; r < ROWS; ++r)
#pragma unroll
        for (int k = 0; k < CO_T; ++k) acc[r][k] = 0.0f;

    for (int ci0 = 0; ci0 < C_in; ci0 += CI_S) {
        const int stage = min(CI_S, C_in - ci0);  // channels in this stage (the last may be short)
        for (int e = tid; e < stage * PH * PW; e += THREADS) {
            const int c = e / (PH * PW), pr = (e / PW) % PH, pc = e % PW;
            const int r = row0 + pr, col = col0 + pc;
            patch[c][pr][pc] = (r >= 0 && r < H && col >= 0 && col < W)
                                   ? x[(((size_t)n * C_in + ci0 + c) * H + r) * W + col]
                                   : 0.0f;
        }
        // Weights in global order (tap fastest, then channel, then co), so that neighbouring
        // threads read neighbouring addresses; stored transposed, co fastest.
        for (int e = tid; e < CO_T * stage * 9; e += THREADS) {
            const int k = e / (stage * 9), c = (e / 9) % stage, t = e % 9;
            const int co = co0 + k;
            wsh[c][t][k] = co < C_out ? w[((size_t)co * C_in + ci0 + c) * 9 + t] : 0.0f;
        }
        __syncthreads();  // the stage's patches and weights are complete before anyone reads
        for (int c = 0; c < stage; ++c) {
#pragma unroll
            for (int kj = 0; kj < 3; ++kj) {
                float col[ROWS + 2];  // the input column under this thread's pixels, tap kj
#pragma unroll
                for (int r = 0; r < ROWS + 2; ++r) col[r] = patch[c][ty * ROWS + r][tx + kj];
#pragma unroll
                for (int ki = 0; ki < 3; ++ki) {
                    float wv[CO_T];
#pragma unroll
                    for (int k = 0; k < CO_T; ++k) wv[k] = wsh[c][ki * 3 + kj][k];
#pragma unroll
                    for (int r = 0; r < ROWS; ++r)
#pragma unroll
                        for (int k = 0; k < CO_T; ++k) acc[r][k] += wv[k] * col[r + ki];
                }
            }
        }
        __syncthreads();  // everyone is done reading before the next stage overwrites
    }

    const int j = blockIdx.x * TW + tx;
    if (j >= Wo) return;  // a partial tile's right-hand threads loaded data, write nothing
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
        const int i = blockIdx.y * TH + ty * ROWS + r;
        if (i >= Ho) break;
#pragma unroll
        for (int k = 0; k < CO_T; ++k) {
            const int co = co0 + k;
            if (co < C_out) y[(((size_t)n * C_out + co) * Ho + i) * Wo + j] = acc[r][k] + b[co];
        }
    }
}
