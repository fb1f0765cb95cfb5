// conv2d_v6.cu: the forward convolution, version 6 of 7: warp tiling, tile shape tuned per layer.
//
// Computes what conv2d_v1.cu's header states, with the same kernel signature; the same
// implicit GEMM as versions 4-5 (Y = Wt . X, M = C_out, P = N*Ho*Wo pixels, K = C_in*9), with
// version 5's float4 paths and double-buffered stages. Also two fused epilogues, which save
// passes over memory that separate kernels would make:
//   conv2d_forward_relu_*       y = max(0, conv(x) + b), same signature: a conv followed by a
//                               ReLU (the separate ReLU reads and writes all of y again);
//   conv2d_forward_relu_skip_*  (x, w, b, y, skip, out, N, ...): y = max(0, conv(x) + b) and
//                               out = max(0, y + skip), RED-Net's decoder layer with a skip
//                               connection (y is kept: the backward pass needs its mask).
//                               Unfused, the ReLU, the addition and the second ReLU read
//                               3 and write 3 maps; here the store reads 1 and writes 2.
//
// What changed from version 5, and why it should be faster:
//   * Warp tiling: the BM x BN block tile is split into one WM x WN sub-tile per warp, and
//     each warp's 32 lanes (4 along channels x 8 along pixels) sweep it in 4 x 4 register
//     tiles, WM/16 x WN/32 times. A lane now holds 32 or 64 sums (version 5: 16): per
//     reduction step it does 4 x 4 x (WM/16) x (WN/32) multiply-adds for (WM/16) + (WN/32)
//     float4 reads, up to 4 multiply-adds per shared float (version 5: 2). The warp's reads
//     stay within its own sub-tile: 8 lanes cover 128 consecutive bytes of Bs (no conflicts),
//     the 4 lane rows read the same bytes (broadcast).
//   * 128 threads a block (4 warps) and 32-64 registers of sums per thread: more blocks fit
//     on a multiprocessor per thread of work, and the tile is bigger for the same threads.
//   * The block shape is a template argument, one kernel per shape: 64x128 and 128x64 for wide
//     layers, 64x64 and 32x128 for few channels or few pixels (the first and last layers of a
//     RED-Net have 1 or 3 channels). rednet_cupy/ops/conv_ladder.py times them once per layer
//     shape on a GPU and keeps the fastest; on the emulator it picks by rule.
// Every shape accumulates each output over k = 0, 1, ..., K - 1 in order, so all give
// bitwise identical results on a given device.
//
// Thread mapping: block = 128 threads, grid = (ceil(P / BN), ceil(M / BM)). Warp wid covers
// channels (wid / (BN/WN)) * WM .. +WM and pixels (wid % (BN/WN)) * WN .. +WN of the tile;
// lane (lm, ln) = (lane / 8, lane % 8) computes channels wm*16 + lm*4 .. +3 and pixels
// wn*32 + ln*4 .. +3 of that, for every wm < WM/16, wn < WN/32. Loads per stage: BM*BK/4
// weight float4 (thread tid, tid + 128, ...: row e / 2, k (e % 2) * 4), and BK*BN/128 im2col
// values of pixel tid % BN.

#define BK 8
#define TM 4
#define TN 4
#define THREADS 128

// The epilogue applied in the store: NONE, RELU, or RELU_SKIP (also out = max(0, y + skip)).
enum Epilogue { NONE, RELU, RELU_SKIP };

template <int BM, int BN, int WM, int WN, Epilogue EPI>
__device__ __forceinline__ void conv_tile(const float* __restrict__ x, const float* __restrict__ w,
                                          const float* __restrict__ b, float* __restrict__ y,
                                          const float* __restrict__ skip, float* __restrict__ out,
                                          int N, int C_in, int H, int W, int C_out, int padding) {
    constexpr int WARPS_N = BN / WN;
    constexpr int WMI = WM / (4 * TM), WNI = WN / (8 * TN);
    constexpr int A_VEC = BM * BK / 4;  // weight float4s per stage
    constexpr int A_ITERS = (A_VEC + THREADS - 1) / THREADS;
    constexpr int B_ITERS = BK * BN / THREADS;
    static_assert((BM / WM) * WARPS_N * 32 == THREADS, "the warps must cover the tile");
    static_assert(THREADS % BN == 0 && WM % 16 == 0 && WN % 32 == 0, "tile shape");
    __shared__ __align__(16) float As[2][BK][BM];
    __shared__ __align__(16) float Bs[2][BK][BN];

    const int Ho = H + 2 * padding - 2;
    const int Wo = W + 2 * padding - 2;
    const int HoWo = Ho * Wo;
    const int P = N * HoWo;
    const int K = C_in * 9;
    const int p0 = blockIdx.x * BN, m0 = blockIdx.y * BM;
    const int tid = threadIdx.x;
    const bool vec_w = K % 4 == 0 && reinterpret_cast<size_t>(w) % 16 == 0;
    const bool vec_y = HoWo % 4 == 0 && reinterpret_cast<size_t>(y) % 16 == 0 &&
                       (EPI != RELU_SKIP || (reinterpret_cast<size_t>(skip) % 16 == 0 &&
                                             reinterpret_cast<size_t>(out) % 16 == 0));

    const int lp = tid % BN;  // the pixel this thread gathers for, split once
    const int gp = p0 + lp;
    const bool p_ok = gp < P;
    const int pn = p_ok ? gp / HoWo : 0, pq = p_ok ? gp % HoWo : 0;
    const int pi = pq / Wo - padding, pj = pq % Wo - padding;
    const float* xn = x + (size_t)pn * C_in * H * W;

    float ra[A_ITERS][4], rb[B_ITERS];
    auto load_global = [&](int k0) {
#pragma unroll
        for (int r = 0; r < A_ITERS; ++r) {
            const int e = tid + r * THREADS, am = e / 2, ak = k0 + (e % 2) * 4;
            const bool row_ok = e < A_VEC && m0 + am < C_out;
            const float* wrow = w + (size_t)(m0 + am) * K;
            if (vec_w && row_ok && ak < K) {
                const float4 v = *reinterpret_cast<const float4*>(wrow + ak);
                ra[r][0] = v.x, ra[r][1] = v.y, ra[r][2] = v.z, ra[r][3] = v.w;
            } else {
#pragma unroll
                for (int q = 0; q < 4; ++q) ra[r][q] = row_ok && ak + q < K ? wrow[ak + q] : 0.0f;
            }
        }
#pragma unroll
        for (int r = 0; r < B_ITERS; ++r) {
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
#pragma unroll
        for (int r = 0; r < A_ITERS; ++r) {
            const int e = tid + r * THREADS;
            if (e < A_VEC)
#pragma unroll
                for (int q = 0; q < 4; ++q) As[buf][(e % 2) * 4 + q][e / 2] = ra[r][q];
        }
#pragma unroll
        for (int r = 0; r < B_ITERS; ++r) Bs[buf][tid / BN + r * (THREADS / BN)][lp] = rb[r];
    };

    const int warp = tid / 32, lane = tid % 32;
    const int wm0 = (warp / WARPS_N) * WM + (lane / 8) * TM;  // first channel of this lane
    const int wn0 = (warp % WARPS_N) * WN + (lane % 8) * TN;  // first pixel of this lane
    float acc[WMI * TM][WNI * TN];
#pragma unroll
    for (int a = 0; a < WMI * TM; ++a)
#pragma unroll
        for (int c = 0; c < WNI * TN; ++c) acc[a][c] = 0.0f;

    load_global(0);
    store_shared(0);
    __syncthreads();
    int buf = 0;
    for (int k0 = 0; k0 < K; k0 += BK) {
        const bool more = k0 + BK < K;
        if (more) load_global(k0 + BK);
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            float av[WMI * TM], bv[WNI * TN];
#pragma unroll
            for (int i = 0; i < WMI; ++i) {
                const float4 v = *reinterpret_cast<const float4*>(&As[buf][k][wm0 + i * 16]);
                av[i * 4] = v.x, av[i * 4 + 1] = v.y, av[i * 4 + 2] = v.z, av[i * 4 + 3] = v.w;
            }
#pragma unroll
            for (int i = 0; i < WNI; ++i) {
                const float4 v = *reinterpret_cast<const float4*>(&Bs[buf][k][wn0 + i * 32]);
                bv[i * 4] = v.x, bv[i * 4 + 1] = v.y, bv[i * 4 + 2] = v.z, bv[i * 4 + 3] = v.w;
            }
#pragma unroll
            for (int a = 0; a < WMI * TM; ++a)
#pragma unroll
                for (int c = 0; c < WNI * TN; ++c) acc[a][c] += av[a] * bv[c];
        }
        if (more) store_shared(buf ^ 1);  // the other copy's readers passed the last barrier
        __syncthreads();
        buf ^= 1;
    }

#pragma unroll
    for (int a = 0; a < WMI * TM; ++a) {
        const int m = m0 + wm0 + (a / TM) * 16 + a % TM;
        if (m >= C_out) continue;
        const float bm = b[m];
#pragma unroll
        for (int i = 0; i < WNI; ++i) {
            const int p = p0 + wn0 + i * 32;  // pixels p .. p + 3
            float v[TN];
#pragma unroll
            for (int c = 0; c < TN; ++c) {
                v[c] = acc[a][i * TN + c] + bm;
                if (EPI != NONE) v[c] = fmaxf(v[c], 0.0f);
            }
            if (vec_y) {  // P % 4 == 0: the 4 pixels all exist or none does, in one image
                if (p < P) {
                    const size_t e = ((size_t)(p / HoWo) * C_out + m) * HoWo + p % HoWo;
                    *reinterpret_cast<float4*>(&y[e]) = make_float4(v[0], v[1], v[2], v[3]);
                    if (EPI == RELU_SKIP) {
                        const float4 s = *reinterpret_cast<const float4*>(&skip[e]);
                        *reinterpret_cast<float4*>(&out[e]) =
                            make_float4(fmaxf(v[0] + s.x, 0.0f), fmaxf(v[1] + s.y, 0.0f),
                                        fmaxf(v[2] + s.z, 0.0f), fmaxf(v[3] + s.w, 0.0f));
                    }
                }
            } else {
#pragma unroll
                for (int c = 0; c < TN; ++c)
                    if (p + c < P) {
                        const size_t e =
                            ((size_t)((p + c) / HoWo) * C_out + m) * HoWo + (p + c) % HoWo;
                        y[e] = v[c];
                        if (EPI == RELU_SKIP) out[e] = fmaxf(v[c] + skip[e], 0.0f);
                    }
            }
        }
    }
}

// One kernel per tile shape (BM x BN, warp tile WM x WN) and epilogue.
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_64x128(const float* __restrict__ x, const float* __restrict__ w,
                      const float* __restrict__ b, float* __restrict__ y,
                      int N, int C_in, int H, int W, int C_out, int padding) {
    conv_tile<64, 128, 32, 64, NONE>(x, w, b, y, nullptr, nullptr, N, C_in, H, W, C_out, padding);
}
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_128x64(const float* __restrict__ x, const float* __restrict__ w,
                      const float* __restrict__ b, float* __restrict__ y,
                      int N, int C_in, int H, int W, int C_out, int padding) {
    conv_tile<128, 64, 64, 32, NONE>(x, w, b, y, nullptr, nullptr, N, C_in, H, W, C_out, padding);
}
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_64x64(const float* __restrict__ x, const float* __restrict__ w,
                     const float* __restrict__ b, float* __restrict__ y,
                     int N, int C_in, int H, int W, int C_out, int padding) {
    conv_tile<64, 64, 32, 32, NONE>(x, w, b, y, nullptr, nullptr, N, C_in, H, W, C_out, padding);
}
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_32x128(const float* __restrict__ x, const float* __restrict__ w,
                      const float* __restrict__ b, float* __restrict__ y,
                      int N, int C_in, int H, int W, int C_out, int padding) {
    conv_tile<32, 128, 32, 32, NONE>(x, w, b, y, nullptr, nullptr, N, C_in, H, W, C_out, padding);
}
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_relu_64x128(const float* __restrict__ x, const float* __restrict__ w,
                           const float* __restrict__ b, float* __restrict__ y,
                           int N, int C_in, int H, int W, int C_out, int padding) {
    conv_tile<64, 128, 32, 64, RELU>(x, w, b, y, nullptr, nullptr, N, C_in, H, W, C_out, padding);
}
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_relu_128x64(const float* __restrict__ x, const float* __restrict__ w,
                           const float* __restrict__ b, float* __restrict__ y,
                           int N, int C_in, int H, int W, int C_out, int padding) {
    conv_tile<128, 64, 64, 32, RELU>(x, w, b, y, nullptr, nullptr, N, C_in, H, W, C_out, padding);
}
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_relu_64x64(const float* __restrict__ x, const float* __restrict__ w,
                          const float* __restrict__ b, float* __restrict__ y,
                          int N, int C_in, int H, int W, int C_out, int padding) {
    conv_tile<64, 64, 32, 32, RELU>(x, w, b, y, nullptr, nullptr, N, C_in, H, W, C_out, padding);
}
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_relu_32x128(const float* __restrict__ x, const float* __restrict__ w,
                           const float* __restrict__ b, float* __restrict__ y,
                           int N, int C_in, int H, int W, int C_out, int padding) {
    conv_tile<32, 128, 32, 32, RELU>(x, w, b, y, nullptr, nullptr, N, C_in, H, W, C_out, padding);
}
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_relu_skip_64x128(const float* __restrict__ x, const float* __restrict__ w,
                                const float* __restrict__ b, float* __restrict__ y,
                                const float* __restrict__ skip, float* __restrict__ out,
                                int N, int C_in, int H, int W, int C_out, int padding) {
    conv_tile<64, 128, 32, 64, RELU_SKIP>(x, w, b, y, skip, out, N, C_in, H, W, C_out, padding);
}
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_relu_skip_128x64(const float* __restrict__ x, const float* __restrict__ w,
                                const float* __restrict__ b, float* __restrict__ y,
                                const float* __restrict__ skip, float* __restrict__ out,
                                int N, int C_in, int H, int W, int C_out, int padding) {
    conv_tile<128, 64, 64, 32, RELU_SKIP>(x, w, b, y, skip, out, N, C_in, H, W, C_out, padding);
}
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_relu_skip_64x64(const float* __restrict__ x, const float* __restrict__ w,
                               const float* __restrict__ b, float* __restrict__ y,
                               const float* __restrict__ skip, float* __restrict__ out,
                               int N, int C_in, int H, int W, int C_out, int padding) {
    conv_tile<64, 64, 32, 32, RELU_SKIP>(x, w, b, y, skip, out, N, C_in, H, W, C_out, padding);
}
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward_relu_skip_32x128(const float* __restrict__ x, const float* __restrict__ w,
                                const float* __restrict__ b, float* __restrict__ y,
                                const float* __restrict__ skip, float* __restrict__ out,
                                int N, int C_in, int H, int W, int C_out, int padding) {
    conv_tile<32, 128, 32, 32, RELU_SKIP>(x, w, b, y, skip, out, N, C_in, H, W, C_out, padding);
}
