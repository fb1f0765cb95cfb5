// conv2d_w2.cu: the weight gradient, version 2 of 4: implicit GEMM with a deterministic split-K.
//
// What is computed (as conv2d_weight_grad in kernels/conv2d.cu, version 1; p = padding 0, 1 or
// 2; Ho = H + 2p - 2, Wo = W + 2p - 2; NCHW float32):
//
//   dw[co,ci,ki,kj] = sum_{n,i,j} dy[n,co,i,j] * x[n,ci,i+ki-p,j+kj-p]    (x is 0 outside)
//
// As a matrix product: dW (M x K) = dY (M x P) . X^T (P x K), with M = C_out, K = C_in * 9
// (k = ci*9 + ki*3 + kj, the layout of w), P = N * Ho * Wo pixels, X the im2col matrix of
// version 4 of the forward pass. The reduction runs over P, which is large (16 x 2500 = 40000
// for a batch of 50x50 patches) while M x K is small (64 x 576): too few output tiles to fill
// a GPU. So the pixels are split (split-K): block z sums its own `chunk` pixels into a partial
// dW, written to part[z] (a workspace of splits x M x K floats), and a second kernel adds the
// partials in the fixed order z = 0, 1, ... No atomics, and every sum is done in the same
// order on every run: the result is bitwise reproducible.
//
//   conv2d_weight_grad_partial  part[z][co][k] = sum over pixels z*chunk .. (z+1)*chunk - 1
//   conv2d_weight_grad_reduce   dw[e] = part[0][e] + part[1][e] + ... (in that order)
//
// What changed from version 1, and why it should be faster: version 1 runs a block per
// (c_in, c_out) pair, and each reads a whole plane of x and of dy: x is read C_out times over
// and dy C_in times. Here a block computes a 16 (co) x 16 (k) tile of dW and stages 16 pixels'
// dy and im2col values in shared memory per step, each value then used 16 times from there;
// and the parallelism comes from the split of the pixels, not from the channel counts (a
// first layer with C_in = 1 had only 64 blocks of work in version 1).
//
// Thread mapping, partial: block = 16 x 16 threads, grid = (ceil(K / 16), ceil(M / 16),
// splits). Thread (tx, ty) loads, per step, dy of channel m0 + ty and the im2col value of
// reduction index k0 + ty, both for pixel tx of the step (neighbouring threads: neighbouring
// pixels, coalesced), then adds up dW[m0 + ty][k0 + tx] over the 16 pixels. Its k0 + ty is
// the same on every step, so its (ci, ki, kj) is split once. Rows of the shared tiles are
// padded to 17 floats, so that the transposing stores hit 16 different banks.
// Reduce: one thread per element of dw, 256 a block, grid-stride, neighbours read neighbours.

#define T 16  // tile of dW: T channels x T reduction indices; also pixels per step
#define RED_THREADS 256

extern "C" __global__ void __launch_bounds__(T * T)
conv2d_weight_grad_partial(const float* __restrict__ dy, const float* __restrict__ x,
                           float* __restrict__ part, int N, int C_in, int H, int W, int C_out,
                           int padding, int chunk) {
    __shared__ float Ds[T][T + 1];  // Ds[pixel][channel]
    __shared__ float Xs[T][T + 1];  // Xs[pixel][reduction index]

    const int Ho = H + 2 * padding - 2;
    const int Wo = W + 2 * padding - 2;
    const int HoWo = Ho * Wo;
    const int P = N * HoWo;
    const int K = C_in * 9;
    const int k0 = blockIdx.x * T, m0 = blockIdx.y * T;
    const int pbeg = blockIdx.z * chunk, pend = min(P, pbeg + chunk);
    const int tx = threadIdx.x, ty = threadIdx.y;

    // This thread's loads: channel m0 + ty of dy, reduction index k0 + ty of the im2col.
    const bool m_ok = m0 + ty < C_out;
    const int lk = k0 + ty;
    const bool k_ok = lk < K;
    const int lci = k_ok ? lk / 9 : 0, lki = k_ok ? lk % 9 / 3 : 0, lkj = k_ok ? lk % 3 : 0;

    float acc = 0.0f;
    for (int s = pbeg; s < pend; s += T) {
        const int gp = s + tx;
        float d = 0.0f, v = 0.0f;
        if (gp < pend) {
            const int n = gp / HoWo, q = gp % HoWo;
            if (m_ok) d = dy[((size_t)n * C_out + m0 + ty) * HoWo + q];
            const int row = q / Wo + lki - padding, col = q % Wo + lkj - padding;
            if (k_ok && row >= 0 && row < H && col >= 0 && col < W)
                v = x[(((size_t)n * C_in + lci) * H + row) * W + col];
        }
        Ds[tx][ty] = d;
        Xs[tx][ty] = v;
        __syncthreads();  // the step's values are all in before anyone reads them
#pragma unroll
        for (int pp = 0; pp < T; ++pp) acc += Ds[pp][ty] * Xs[pp][tx];
        __syncthreads();  // all done reading before the next step overwrites them
    }
    if (m0 + ty < C_out && k0 + tx < K)
        part[((size_t)blockIdx.z * C_out + m0 + ty) * K + k0 + tx] = acc;
}

extern "C" __global__ void conv2d_weight_grad_reduce(const float* __restrict__ part,
                                                     float* __restrict__ dw, int count,
                                                     int splits) {
    for (int e = blockIdx.x * RED_THREADS + threadIdx.x; e < count; e += gridDim.x * RED_THREADS) {
        float sum = 0.0f;
        for (int z = 0; z < splits; ++z) sum += part[(size_t)z * count + e];
        dw[e] = sum;
    }
}
