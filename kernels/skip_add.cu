// skip_add.cu: s = a + b element-wise over n float32 values.
//
// RED-Net's symmetric skips add an encoder feature map to the mirrored decoder map. Its
// backward is a fork (the same gradient goes to a and b), so it needs no kernel; where two
// gradients reach one array (an encoder output that fed both the next layer and a skip),
// they are joined with this same kernel.
//
// Thread mapping: one thread per element with a grid-stride loop, as in relu.cu.

extern "C" __global__ void skip_add_forward(const float* __restrict__ a, const float* __restrict__ b,
                                            float* __restrict__ s, int n) {
    for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < n; e += gridDim.x * blockDim.x)
        s[e] = a[e] + b[e];
}
