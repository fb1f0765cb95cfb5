// conv2d_v5.cu: the forward convolution, version 5 of 7: float4 loads, double-buffered stages.
//
// Computes what conv2d_v1.cu's header states, with the same kernel signature; the same
// implicit GEMM as version 4 (Y = Wt . X, M = C_out, P = N*Ho*Wo pixels, K = C_in*9), same
// 64 x 64 block tile, 256 threads, 4 x 4 outputs per thread.
//
// What changed from version 4, and why it should be faster:
//   * Each thread's 4 channels and 4 pixels are now contiguous (channels 4ty..4ty+3, pixels
//     4tx..4tx+3), so its 8 shared-memory reads per reduction step become two 16-byte loads
//     (LDS.128): a quarter of the load instructions.
//   * Weights are loaded from global memory as float4 (4 neighbouring k of one row) when they
//     can be: K = 9 C_in a multiple of 4 (C_in % 4 == 0) and w 16-byte aligned, checked once
//     in the kernel; otherwise 4 scalar loads. The im2col gather stays scalar: the 3x3 window
//     shifts each tap by one column, so 4 neighbouring pixels' inputs start at an address that
//     is 16-byte aligned for at most one tap in three.
//   * y is stored as float4 (4 neighbouring pixels of one channel) when Ho*Wo % 4 == 0 (50 x 50
//     maps qualify): then a group of 4 pixels never straddles two images, and the 4 values are
//     contiguous in y even where they straddle two rows.
//   * Double buffering: two copies of each shared tile. While the block computes on one, every
//     thread has already issued the global loads of the next stage into registers; it writes
//     them to the other copy after computing. One __syncthreads() per stage instead of two,
//     and the memory latency of stage s+1 hides behind the arithmetic of stage s.
//
// Thread mapping: block = 256 threads, grid = (ceil(P / BN), ceil(M / BM)). Loads per stage:
// threads 0..127 each 4 neighbouring weights of row tid / 2; every thread 2 im2col values of
// pixel tid % 64 (rows tid / 64 and tid / 64 + 4). Compute: thread (tx, ty) = (tid % 16,
// tid / 16). A warp's Bs reads are 16 float4 on 256 consecutive bytes (no conflicts); its As
// reads are 2 distinct float4 (broadcast).
//
// Still wasteful: all 256 threads share one 64 x 64 tile, and a thread's 16 outputs make for
// 8 shared loads per 16 multiply-adds. Version 6 gives each warp its own sub-tile and each
// thread 32-64 outputs, with the block shape tuned per layer.

#define BM 64  // output channels per block
#define BN 64  // pixels per block
#define BK 8   // reduction steps per stage
#define TM 4   // channels per thread (contiguous)
#define TN 4   // pixels per thread (contiguous)
#define THREADS 256

extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward(const float* __restrict__ x, const float* __restrict__ w,
               const float* __restrict__ b, float* __restrict__ y,
               int N, int C_in, int H, int W, int C_out, int padding) {
    __shared__ __align__(16) float As[2][BK][BM];
    __shared__ __align__(16) float Bs[2][BK][BN];

    const int Ho = H + 2 * padding - 2;
    const int Wo = W + 2 * padding - 2;
    const int HoWo = Ho * Wo;
    const int P = N * HoWo;
    const int K = C_in * 9;
    const int p0 = blockIdx.x * BN, m0 = blockIdx.y * BM;
    const int tid = threadIdx.x;
    // The same answer in every thread of the grid: the float4 paths are all-or-nothing.
    const bool vec_w = K % 4 == 0 && reinterpret_cast<size_t>(w) % 16 == 0;
    const bool vec_y = HoWo % 4 == 0 && reinterpret_cast<size_t>(y) % 16 == 0;

    // Weights this thread loads: row am of the tile, k = ak .. ak + 3 of each stage.
    const int am = tid / 2, ak = (tid % 2) * 4;
    const bool a_loads = tid < BM * BK / 4;
    const bool a_row_ok = a_loads && m0 + am < C_out;
    const float* wrow = w + (size_t)(m0 + am) * K;
    // The pixel this thread gathers for, split once.
    const int lp = tid % BN;
    const int gp = p0 + lp;
    const bool p_ok = gp < P;
    const int pn = p_ok ? gp / HoWo : 0, pq = p_ok ? gp % HoWo : 0;
    const int pi = pq / Wo - padding, pj = pq % Wo - padding;
    const float* xn = x + (size_t)pn * C_in * H * W;

    float ra[4], rb[BK * BN / THREADS];  // the next stage, on its way from global memory
    auto load_global = [&](int k0) {
        if (a_loads) {
            if (vec_w && a_row_ok && k0 + ak < K) {
                const float4 v = *reinterpret_cast<const float4*>(wrow + k0 + ak);
                ra[0] = v.x, ra[1] = v.y, ra[2] = v.z, ra[3] = v.w;
            } else {
#pragma unroll
                for (int q = 0; q < 4; ++q)
                    ra[q] = a_row_ok && k0 + ak + q < K ? wrow[k0 + ak + q] : 0.0f;
            }
        }
#pragma unroll
        for (int r = 0; r < BK * BN / THREADS; ++r) {
            const int gk = k0 + tid / BN + r * (THREADS / BN);
            float v = 0.0f;
            if (p_ok && gk < K) {
                const int ci = gk / 9, t = gk % 9;
                const int row = pi + t / 3, col = pj + t % 3;
                if (row >= 0 && row < H && col >= 0 && col < W)
                    v = xn[((size_t)ci * H + row) * W + col];
            }
            rb[r] = v;
        }
    };
    auto store_shared = [&](int buf) {
        if (a_loads) {
#pragma unroll
            for (int q = 0; q < 4; ++q) As[buf][ak + q][am] = ra[q];
        }
#pragma unroll
        for (int r = 0; r < BK * BN / THREADS; ++r) Bs[buf][tid / BN + r * (THREADS / BN)][lp] = rb[r];
    };

    const int tx = tid % 16, ty = tid / 16;
    float acc[TM][TN];
#pragma unroll
    for (int a = 0; a < TM; ++a)
#pragma unroll
        for (int c = 0; c < TN; ++c) acc[a][c] = 0.0f;

    load_global(0);
    store_shared(0);
    __syncthreads();
    int buf = 0;
    for (int k0 = 0; k0 < K; k0 += BK) {
        const bool more = k0 + BK < K;
        if (more) load_global(k0 + BK);  // issued now, used after the arithmetic below
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            const float4 a = *reinterpret_cast<const float4*>(&As[buf][k][ty * TM]);
            const float4 bv = *reinterpret_cast<const float4*>(&Bs[buf][k][tx * TN]);
            const float av[TM] = {a.x, a.y, a.z, a.w}, bw[TN] = {bv.x, bv.y, bv.z, bv.w};
#pragma unroll
            for (int q = 0; q < TM; ++q)
#pragma unroll
                for (int c = 0; c < TN; ++c) acc[q][c] += av[q] * bw[c];
        }
        // The other copy was last read in the previous stage, before its closing barrier.
        if (more) store_shared(buf ^ 1);
        __syncthreads();  // the next copy is complete, and this one free to be overwritten
        buf ^= 1;
    }

    const int p = p0 + tx * TN;
    if (vec_y) {
        if (p >= P) return;  // P % 4 == 0 here: pixels p .. p + 3 all exist, in one image
        const int n = p / HoWo, q = p % HoWo;
#pragma unroll
        for (int a = 0; a < TM; ++a) {
            const int m = m0 + ty * TM + a;
            if (m >= C_out) break;
            const float bm = b[m];
            *reinterpret_cast<float4*>(&y[((size_t)n * C_out + m) * HoWo + q]) =
                make_float4(acc[a][0] + bm, acc[a][1] + bm, acc[a][2] + bm, acc[a][3] + bm);
        }
        return;
    }
#pragma unroll
    for (int c = 0; c < TN; ++c) {
        if (p + c >= P) break;
        const int n = (p + c) / HoWo, q = (p + c) % HoWo;
#pragma unroll
        for (int a = 0; a < TM; ++a) {
            const int m = m0 + ty * TM + a;
            if (m < C_out) y[((size_t)n * C_out + m) * HoWo + q] = acc[a][c] + b[m];
        }
    }
}
