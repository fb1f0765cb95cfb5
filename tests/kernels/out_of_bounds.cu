// A classic off-by-one: `i <= n` lets one thread write y[n], one past the end. Harmless-looking
// on a GPU too (compute-sanitizer reports it); the emulator's sanitizer mode must catch it.
extern "C" __global__ void fill_past_end(float* __restrict__ y, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n) y[i] = 1.0f;
}
