// adam.cu: one fused, in-place, bias-corrected Adam update of n parameters.
//
//   m[e]     = beta1 * m[e] + (1 - beta1) * g[e]
//   v[e]     = beta2 * v[e] + (1 - beta2) * g[e]^2
//   param[e] = param[e] - lr * (m[e] / c1) / (sqrt(v[e] / c2) + eps)
//
// with c1 = 1 - beta1^t and c2 = 1 - beta2^t computed once on the host in double precision
// (beta2^t for t in the millions would lose digits if every thread recomputed it in float).
//
// Fused: the unfused NumPy version reads and writes each array several times through
// temporaries; here each thread reads param, g, m, v once and writes param, m, v once.
// Thread mapping: one thread per parameter, grid-stride loop.

extern "C" __global__ void adam_step(float* __restrict__ param, const float* __restrict__ grad,
                                     float* __restrict__ m, float* __restrict__ v, int n,
                                     float lr, float beta1, float beta2, float eps, float c1,
                                     float c2) {
    for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < n; e += gridDim.x * blockDim.x) {
        const float g = grad[e];
        const float me = beta1 * m[e] + (1.0f - beta1) * g;
        const float ve = beta2 * v[e] + (1.0f - beta2) * g * g;
        m[e] = me;
        v[e] = ve;
        param[e] -= lr * (me / c1) / (sqrtf(ve / c2) + eps);
    }
}
