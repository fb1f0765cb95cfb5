// cuda_emu.h: the CUDA execution model on a CPU, for rednet_cupy's "emulate" device.
//
// The runtime compiles a kernel file (kernels/<op>.cu) as ordinary C++17 with
// `g++ -fopenmp -include cuda_emu.h`, so the very source that CuPy compiles for the GPU runs
// here too. What a launch does:
//
//   * Blocks run one after another (blockIdx.x fastest, then y, then z). blockIdx, blockDim
//     and gridDim are therefore plain globals.
//   * The threads of one block run concurrently, as an OpenMP team of blockDim.x*y*z real OS
//     threads; threadIdx is thread_local (x fastest, as on a GPU). Because the threads really
//     run at the same time, a missing __syncthreads() is a real race here, as it is on a GPU.
//   * __syncthreads() is an OpenMP barrier of that team.
//   * __shared__ is `static`: with one block alive at a time, a function-static array is that
//     block's shared memory, seen by all its threads. `extern __shared__ T s[];` (dynamic
//     shared memory) is rewritten by the loader (emulator.py) into a pointer to a per-launch
//     buffer, 16-byte aligned and filled with 0xFF bytes (NaN as float) so that reading it
//     before writing it shows up.
//   * Atomics are OpenMP atomics / GCC __atomic builtins: correct, not fast.
//
// Limits (what a GPU does that this does not):
//   * No warps: __shfl*_sync, __ballot_sync, __activemask and warp-synchronous code do not
//     exist here (using one stops the build with a message). warpSize is 32 for arithmetic.
//   * Static __shared__ memory keeps its contents from one block to the next (on a GPU it is
//     undefined at block start) and is not NaN-filled; only dynamic shared memory is.
//   * Blocks are sequential, so blocks that wait for each other (spin on a flag set by another
//     block) hang. Fine for every kernel whose blocks are independent, as CUDA requires.
//   * No streams, events, textures, __constant__ uploads, cooperative groups, half floats.
//   * A __syncthreads() reached by only some threads of a block hangs (undefined on a GPU).
//   * Speed: thousands of OS-thread switches per block; made for tests, not for training.
//
// Under nvcc (__CUDACC__) this header is empty, so a kernel that includes it stays valid CUDA.
#ifndef REDNET_CUDA_EMU_H
#define REDNET_CUDA_EMU_H
#ifndef __CUDACC__

#include <math.h>
#include <omp.h>

#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

// ---- qualifiers: all meaningless on a CPU except __shared__ ------------------------------
// g++ understands __restrict__ natively, so it is left alone.
#define __global__
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static

// ---- built-in variables -----------------------------------------------------------------
struct uint3 {
  unsigned int x, y, z;
};

struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1)
      : x(x_), y(y_), z(z_) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};

// `static`: internal linkage gives the cheaper local-dynamic TLS model in a shared library.
static thread_local uint3 threadIdx;
static uint3 blockIdx;
static dim3 blockDim;
static dim3 gridDim;
static constexpr int warpSize = 32;

// ---- small vector types (layout and alignment as in CUDA's vector_types.h) ---------------
struct alignas(8) float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(8) int2 { int x, y; };
struct alignas(16) int4 { int x, y, z, w; };
inline float2 make_float2(float x, float y) { return float2{x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline int2 make_int2(int x, int y) { return int2{x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return int4{x, y, z, w}; }

// ---- synchronisation ------------------------------------------------------------------
// An orphaned barrier: it binds to the team running the current block (see launch below).
inline void __syncthreads() {
#pragma omp barrier
}

namespace rednet_emu {
inline int sync_count(int predicate) {
  static int count;  // one block at a time, so one counter is the block's counter
#pragma omp barrier
#pragma omp single
  count = 0;  // `single` ends with a barrier: everyone sees 0 before adding
  if (predicate) {
#pragma omp atomic
    count += 1;
  }
#pragma omp barrier
  const int result = count;
#pragma omp barrier
  return result;
}
}  // namespace rednet_emu

inline int __syncthreads_count(int p) { return rednet_emu::sync_count(p); }
inline int __syncthreads_and(int p) {
  return rednet_emu::sync_count(p) == int(blockDim.x * blockDim.y * blockDim.z);
}
inline int __syncthreads_or(int p) { return rednet_emu::sync_count(p) != 0; }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// ---- atomics (return the old value, as CUDA's do) -------------------------------------
namespace rednet_emu {
template <class T>
inline T atomic_add(T* address, T value) {
  T old;
#pragma omp atomic capture
  {
    old = *address;
    *address += value;
  }
  return old;
}

template <class T, class F>
inline T atomic_update(T* address, F f) {  // compare-and-swap loop for what OpenMP lacks
  T old = __atomic_load_n(address, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(address, &old, f(old), false, __ATOMIC_SEQ_CST,
                                      __ATOMIC_RELAXED)) {
  }
  return old;
}
}  // namespace rednet_emu

inline float atomicAdd(float* a, float v) { return rednet_emu::atomic_add(a, v); }
inline double atomicAdd(double* a, double v) { return rednet_emu::atomic_add(a, v); }
inline int atomicAdd(int* a, int v) { return rednet_emu::atomic_add(a, v); }
inline unsigned int atomicAdd(unsigned int* a, unsigned int v) {
  return rednet_emu::atomic_add(a, v);
}
inline unsigned long long atomicAdd(unsigned long long* a, unsigned long long v) {
  return rednet_emu::atomic_add(a, v);
}
inline int atomicSub(int* a, int v) { return rednet_emu::atomic_add(a, -v); }
inline unsigned int atomicSub(unsigned int* a, unsigned int v) {
  return rednet_emu::atomic_add(a, 0u - v);
}
inline int atomicExch(int* a, int v) { return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST); }
inline unsigned int atomicExch(unsigned int* a, unsigned int v) {
  return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST);
}
inline float atomicExch(float* a, float v) {
  float old;
  __atomic_exchange(a, &v, &old, __ATOMIC_SEQ_CST);
  return old;
}
inline int atomicCAS(int* a, int compare, int value) {
  __atomic_compare_exchange_n(a, &compare, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return compare;  // holds the old value whether or not the swap happened
}
inline unsigned int atomicCAS(unsigned int* a, unsigned int compare, unsigned int value) {
  __atomic_compare_exchange_n(a, &compare, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return compare;
}
inline int atomicMax(int* a, int v) {
  return rednet_emu::atomic_update(a, [v](int o) { return o > v ? o : v; });
}
inline int atomicMin(int* a, int v) {
  return rednet_emu::atomic_update(a, [v](int o) { return o < v ? o : v; });
}
inline unsigned int atomicMax(unsigned int* a, unsigned int v) {
  return rednet_emu::atomic_update(a, [v](unsigned int o) { return o > v ? o : v; });
}
inline unsigned int atomicMin(unsigned int* a, unsigned int v) {
  return rednet_emu::atomic_update(a, [v](unsigned int o) { return o < v ? o : v; });
}

// ---- min/max as CUDA has them: integers in their common type, floats via fminf/fmaxf -----
template <class A, class B,
          class = std::enable_if_t<std::is_integral<A>::value && std::is_integral<B>::value>>
inline std::common_type_t<A, B> min(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(b) < C(a) ? C(b) : C(a);
}
template <class A, class B,
          class = std::enable_if_t<std::is_integral<A>::value && std::is_integral<B>::value>>
inline std::common_type_t<A, B> max(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(a) < C(b) ? C(b) : C(a);
}
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }

// ---- math: expf, sqrtf, fmaxf, fminf, fabsf, powf, ... come from <math.h> -----------------
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __fadd_rn(float x, float y) { return x + y; }
inline float __fmul_rn(float x, float y) { return x * y; }
inline float __fmaf_rn(float x, float y, float z) { return fmaf(x, y, z); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
template <class T>
inline T __ldg(const T* p) { return *p; }
[[noreturn]] inline void __trap() { std::abort(); }

// ---- warp intrinsics: not emulated; say so at compile time ------------------------------
#define REDNET_NO_WARP(name)                                                        \
  template <class... A>                                                             \
  inline unsigned int name(A...) {                                                 \
    static_assert(sizeof...(A) == 1000, #name " (a warp intrinsic) is not emulated"); \
    return 0;                                                                       \
  }
REDNET_NO_WARP(__shfl_sync)
REDNET_NO_WARP(__shfl_up_sync)
REDNET_NO_WARP(__shfl_down_sync)
REDNET_NO_WARP(__shfl_xor_sync)
REDNET_NO_WARP(__ballot_sync)
REDNET_NO_WARP(__any_sync)
REDNET_NO_WARP(__all_sync)
REDNET_NO_WARP(__activemask)
REDNET_NO_WARP(__syncwarp)
#undef REDNET_NO_WARP

// ---- launch ------------------------------------------------------------------------------
namespace rednet_emu {
// This launch's dynamic shared memory (`extern __shared__` declarations are rewritten to it).
static unsigned char* dynamic_shared = nullptr;

// Read args[i] as the kernel's i-th parameter type: the compiler fixes each width (an `int`
// is read as 4 bytes, a pointer as 8), so no signature parser is trusted with it.
template <class... P, std::size_t... I>
inline void invoke(void (*kernel)(P...), void** args, std::index_sequence<I...>) {
  kernel(*static_cast<std::remove_cv_t<P>*>(args[I])...);
  (void)args;
}

// Runs kernel<<<grid, block, shared_bytes>>>(args...). Returns 0, or 1 with a message in err.
template <class... P>
int launch(void (*kernel)(P...), const char* name, unsigned gx, unsigned gy, unsigned gz,
           unsigned bx, unsigned by, unsigned bz, std::size_t shared_bytes, void** args,
           char* err, std::size_t err_len) {
  const int threads = int(bx * by * bz);
  gridDim = dim3(gx, gy, gz);
  blockDim = dim3(bx, by, bz);
  // Exactly shared_bytes long (AddressSanitizer then sees an overrun), 16-byte aligned as
  // CUDA guarantees, and NaN-filled so that reading before writing is visible.
  dynamic_shared = static_cast<unsigned char*>(
      ::operator new[](shared_bytes ? shared_bytes : 1, std::align_val_t(16)));
  std::memset(dynamic_shared, 0xFF, shared_bytes);
  omp_set_dynamic(0);  // the runtime must not hand out a smaller team than asked for
  int team = threads;
  for (unsigned z = 0; z < gz && team == threads; ++z)
    for (unsigned y = 0; y < gy && team == threads; ++y)
      for (unsigned x = 0; x < gx && team == threads; ++x) {
        blockIdx = uint3{x, y, z};
#pragma omp parallel num_threads(threads)
        {
          // Same value in every thread: either all run the kernel or none does (a partial
          // team would deadlock at the first __syncthreads()).
          if (omp_get_num_threads() == threads) {
            const unsigned t = unsigned(omp_get_thread_num());
            threadIdx = uint3{t % bx, (t / bx) % by, t / (bx * by)};
            invoke(kernel, args, std::index_sequence_for<P...>{});
          } else if (omp_get_thread_num() == 0) {
            team = omp_get_num_threads();
          }
        }
      }
  ::operator delete[](dynamic_shared, std::align_val_t(16));
  dynamic_shared = nullptr;
  if (team != threads) {
    std::snprintf(err, err_len,
                  "%s: OpenMP ran a block of %d threads with only %d threads (is OMP_THREAD_LIMIT "
                  "set, or the process out of threads?)",
                  name, threads, team);
    return 1;
  }
  return 0;
}
}  // namespace rednet_emu

#endif  // __CUDACC__
#endif  // REDNET_CUDA_EMU_H
