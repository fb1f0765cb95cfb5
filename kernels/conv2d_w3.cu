// conv2d_w3.cu: the weight gradient, version 3 of 4: warp tiling on the split-K product.
//
// Computes what conv2d_w2.cu's header states (dW = dY . X^T, M = C_out, K = C_in * 9, summed
// over P = N * Ho * Wo pixels), with the same parameters and partials layout: each block z
// sums its `chunk` pixels into part[z], and conv2d_w2.cu's conv2d_weight_grad_reduce adds the
// partials in the fixed order z = 0, 1, ...: bitwise reproducible, no atomics.
//
// What changed from version 2, and why it should be faster (the steps of forward versions
// 4 -> 6, applied to this product):
//   * A block computes a 64 (co) x 64 (k) tile of dW, not 16 x 16: each staged dy value is
//     used for 64 reduction indices and each im2col value for 64 channels (version 2: 16).
//   * Warp and register tiling: 4 warps, each a 32 x 32 sub-tile; lane (lm, ln) = (lane / 8,
//     lane % 8) holds 2 x 1 register tiles of 4 x 4 sums (32 sums; version 2: 1). Per pixel of
//     a step it reads 3 float4 from shared memory for 32 multiply-adds (version 2: 2 scalar
//     reads per multiply-add).
//   * Double-buffered stages of 16 pixels: the next step's global loads are issued before
//     this step's arithmetic, one __syncthreads() per step.
//   Shared rows are padded to 68 floats (16-byte aligned, for the float4 reads), which spreads
//   the transposing stores of a warp over 16 banks instead of 1.
//
// Thread mapping, partial: block = 128 threads, grid = (ceil(K / 64), ceil(M / 64), splits).
// Loads per step: thread tid takes pixel tid % 16 of the step (neighbouring threads:
// neighbouring pixels) for dy channels m0 + tid / 16 + 8r and im2col rows k0 + tid / 16 + 8r,
// r < 8. Compute: warp wid covers channels (wid / 2) * 32 and indices (wid % 2) * 32 of the tile.
// Reduce: as in version 2.

#define BM 64   // channels per block
#define BN 64   // reduction indices per block
#define BP 16   // pixels per step
#define PAD 4   // shared row padding (floats)
#define THREADS 128
#define LOADS (BP * BM / THREADS)  // values of each tile a thread loads per step

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_weight_grad_partial(const float* __restrict__ dy, const float* __restrict__ x,
                           float* __restrict__ part, int N, int C_in, int H, int W, int C_out,
                           int padding, int chunk) {
    __shared__ __align__(16) float Ds[2][BP][BM + PAD];  // Ds[pixel][channel]
    __shared__ __align__(16) float Xs[2][BP][BN + PAD];  // Xs[pixel][reduction index]

    const int Ho = H + 2 * padding - 2;
    const int Wo = W + 2 * padding - 2;
    const int HoWo = Ho * Wo;
    const int P = N * HoWo;
    const int K = C_in * 9;
    const int k0 = blockIdx.x * BN, m0 = blockIdx.y * BM;
    const int pbeg = blockIdx.z * chunk, pend = min(P, pbeg + chunk);
    const int tid = threadIdx.x;
    const int lp = tid % BP, lrow = tid / BP;  // this thread's pixel and first tile row

    float rd[LOADS], rx[LOADS];  // the next step, on its way from global memory
    auto load_global = [&](int s) {
        const int gp = s + lp;
        const bool ok = gp < pend;
        const int n = ok ? gp / HoWo : 0, q = ok ? gp % HoWo : 0;
        const int pi = q / Wo - padding, pj = q % Wo - padding;
#pragma unroll
        for (int r = 0; r < LOADS; ++r) {
            const int m = m0 + lrow + r * (THREADS / BP);
            rd[r] = ok && m < C_out ? dy[((size_t)n * C_out + m) * HoWo + q] : 0.0f;
            // Recomputed each step rather than kept: 16 more live registers spill on sm_90.
            const int k = k0 + lrow + r * (THREADS / BP), ci = k / 9, t = k % 9;
            const int row = pi + t / 3, col = pj + t % 3;
            rx[r] = ok && k < K && row >= 0 && row < H && col >= 0 && col < W
                        ? x[(((size_t)n * C_in + ci) * H + row) * W + col]
                        : 0.0f;
        }
    };
    auto store_shared = [&](int buf) {
#pragma unroll
        for (int r = 0; r < LOADS; ++r) {
            Ds[buf][lp][lrow + r * (THREADS / BP)] = rd[r];
            Xs[buf][lp][lrow + r * (THREADS / BP)] = rx[r];
        }
    };

    const int warp = tid / 32, lane = tid % 32;
    const int wm0 = (warp / 2) * 32 + (lane / 8) * 4;  // first channel of this lane
    const int wn0 = (warp % 2) * 32 + (lane % 8) * 4;  // first reduction index of this lane
    float acc[8][4];
#pragma unroll
    for (int a = 0; a < 8; ++a)
#pragma unroll
        for (int c = 0; c < 4; ++c) acc[a][c] = 0.0f;

    load_global(pbeg);
    store_shared(0);
    __syncthreads();
    int buf = 0;
    for (int s = pbeg; s < pend; s += BP) {
        const bool more = s + BP < pend;
        if (more) load_global(s + BP);
#pragma unroll
        for (int pp = 0; pp < BP; ++pp) {
            const float4 a0 = *reinterpret_cast<const float4*>(&Ds[buf][pp][wm0]);
            const float4 a1 = *reinterpret_cast<const float4*>(&Ds[buf][pp][wm0 + 16]);
            const float4 bv = *reinterpret_cast<const float4*>(&Xs[buf][pp][wn0]);
            const float av[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
            const float bw[4] = {bv.x, bv.y, bv.z, bv.w};
#pragma unroll
            for (int a = 0; a < 8; ++a)
#pragma unroll
                for (int c = 0; c < 4; ++c) acc[a][c] += av[a] * bw[c];
        }
        if (more) store_shared(buf ^ 1);  // the other copy's readers passed the last barrier
        __syncthreads();
        buf ^= 1;
    }

#pragma unroll
    for (int a = 0; a < 8; ++a) {
        const int m = m0 + wm0 + (a / 4) * 16 + a % 4;
        if (m >= C_out) continue;
        float* row = part + ((size_t)blockIdx.z * C_out + m) * K;
#pragma unroll
        for (int c = 0; c < 4; ++c)
            if (k0 + wn0 + c < K) row[k0 + wn0 + c] = acc[a][c];
    }
}
