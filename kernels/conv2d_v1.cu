// conv2d_v1.cu: the forward convolution, version 1 of 7 (see kernels/README.md): naive.
//
// What every version computes (the same as conv2d_forward in kernels/conv2d.cu, with the same
// parameters; p = padding, any of 0, 1, 2; Ho = H + 2p - 2, Wo = W + 2p - 2; NCHW float32):
//
//   y[n,co,i,j] = b[co] + sum_{ci,ki,kj} w[co,ci,ki,kj] * x[n,ci,i+ki-p,j+kj-p]
//                 (x read as 0 outside the image: the zero padding)
//
// It also serves as the input gradient (dy with flipped weights, padding 2 - p) and as
// deconv2d's forward pass, exactly as version 2 does (see kernels/conv2d.cu's header).
//
// Thread mapping: one thread per output value. A 1-D grid of 256-thread blocks covers
// N * C_out * Ho * Wo values; thread e computes y.flat[e], split as (n, co, i, j) with j
// fastest, so the threads of a warp write consecutive addresses of y and read neighbouring
// addresses of x.
//
// Why it is slow: each multiply-add needs two loads from global memory (an input and a
// weight) and nothing is shared between threads except through the caches. Neighbouring
// threads read overlapping 3x3 windows and the same weights, so the L1/L2 caches absorb much
// of it, but the kernel stays bound by load instructions, not by arithmetic. Version 2 copies
// each input patch into shared memory once and reuses it for 9 taps x 8 output channels.

#define THREADS 256

extern "C" __global__ void conv2d_forward(const float* __restrict__ x, const float* __restrict__ w,
                                          const float* __restrict__ b, float* __restrict__ y,
                                          int N, int C_in, int H, int W, int C_out, int padding) {
    const int Ho = H + 2 * padding - 2;
    const int Wo = W + 2 * padding - 2;
    const size_t total = (size_t)N * C_out * Ho * Wo;
    const size_t e = (size_t)blockIdx.x * THREADS + threadIdx.x;
    if (e >= total) return;  // the last block is partial
    const int j = (int)(e % Wo);
    const int i = (int)((e / Wo) % Ho);
    const int co = (int)((e / ((size_t)Wo * Ho)) % C_out);
    const int n = (int)(e / ((size_t)Wo * Ho * C_out));

    float acc = 0.0f;
    for (int ci = 0; ci < C_in; ++ci) {
        const float* xc = x + ((size_t)n * C_in + ci) * H * W;
        const float* wc = w + ((size_t)co * C_in + ci) * 9;
        for (int ki = 0; ki < 3; ++ki) {
            const int r = i + ki - padding;
            if (r < 0 || r >= H) continue;  // a padding row: contributes 0
            for (int kj = 0; kj < 3; ++kj) {
                const int c = j + kj - padding;
                if (c >= 0 && c < W) acc += wc[ki * 3 + kj] * xc[r * W + c];
            }
        }
    }
    y[e] = acc + b[co];
}
