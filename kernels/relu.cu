// relu.cu: the rectified linear unit, element-wise over a float32 array of n elements.
//
//   relu_forward    y[e]  = max(x[e], 0)
//   relu_backward   dx[e] = y[e] > 0 ? dy[e] : 0      (y is the forward output: y > 0 iff x > 0)
//
// Thread mapping: one thread per element, 256 threads a block, as many blocks as needed
// (capped by the wrapper); if there are fewer threads than elements each thread strides
// through the array by the total number of threads ("grid-stride loop"), so any grid size
// is correct. Neighbouring threads touch neighbouring elements: coalesced reads and writes.

extern "C" __global__ void relu_forward(const float* __restrict__ x, float* __restrict__ y, int n) {
    for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < n; e += gridDim.x * blockDim.x)
        y[e] = fmaxf(x[e], 0.0f);
}

extern "C" __global__ void relu_backward(const float* __restrict__ dy, const float* __restrict__ y,
                                         float* __restrict__ dx, int n) {
    for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < n; e += gridDim.x * blockDim.x)
        dx[e] = y[e] > 0.0f ? dy[e] : 0.0f;
}
