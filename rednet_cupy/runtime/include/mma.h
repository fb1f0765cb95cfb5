// mma.h for the "emulate" device: nvcuda::wmma, the warp-level tensor-core API.
//
// What a GPU does, and what this does instead:
//   * A fragment is a warp's tile of a matrix spread over its 32 lanes: each lane holds
//     num_elements of them in x[]. Which lane holds which element is unspecified in CUDA (it
//     differs between architectures). Here element i of lane l is element i*32 + l of the
//     tile in row-major order ("natural"), or, under runtime.fragment_layout("scrambled"), a
//     seeded permutation of that: a kernel that treats x[i] as a known row and column gets
//     wrong results when scrambled, as it would on another GPU.
//   * load_matrix_sync, store_matrix_sync and mma_sync are collectives of all 32 lanes of a
//     warp (the ".sync.aligned" of the PTX): each lane waits until the whole warp has arrived,
//     then the last lane to arrive does the work for all (rednet_emu::warp_task). Lanes that
//     pass different pointers, leading dimensions or layouts, a pointer not 32-byte aligned,
//     a leading dimension not a multiple of 16 bytes, or a warp with lanes missing end the
//     launch with an error naming kernel, block, warp and source line.
//   * mma_sync(d, a, b, c) computes D = A*B + C. Inputs are used as the hardware uses them:
//     half and bfloat16 exactly (a fragment holds them already rounded, to nearest even, by
//     the conversions of cuda_fp16.h / cuda_bf16.h); tf32 inputs, stored as float, are cut
//     to tf32's 10 mantissa bits (the tensor core ignores the low 13 bits: convert with
//     wmma::__float_to_tf32 first, which rounds to nearest, ties away from zero, as
//     cvt.rna.tf32.f32 does). Each product is exact in float; the products are added to C
//     in float, in order of k. A GPU adds them in an unspecified order and internal
//     precision, so results agree with a GPU to float rounding of a K-term sum, not bitwise.
//   * The race check sees the loads and stores, each as done by the lane that holds the
//     element; they are not ordered by the load/store itself (put a __syncthreads() or a
//     __syncwarp() between writing a tile and loading it as a fragment, as a GPU needs).
// Shapes: m16n16k16, m32n8k16 and m8n32k16 for __half (float or half accumulators) and
// __nv_bfloat16 (float accumulators); m16n16k8 for precision::tf32 (float accumulators).
#ifndef REDNET_EMU_MMA_H
#define REDNET_EMU_MMA_H
#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cuda_bf16.h"
#include "cuda_fp16.h"

namespace nvcuda {
namespace wmma {
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
namespace precision {
struct tf32 {};
}  // namespace precision

// Round to tf32 (10 mantissa bits), to nearest, ties away from zero; the result is a float.
inline float __float_to_tf32(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7f800000u) != 0x7f800000u) x = (x + 0x1000u) & 0xffffe000u;  // NaN, inf kept
  std::memcpy(&f, &x, 4);
  return f;
}
}  // namespace wmma
}  // namespace nvcuda

#if defined(REDNET_EMU_RACECHECK)
// The tasks' own accesses are reported to the race check explicitly, with the lane and the
// kernel line that made them, instead of through g++'s instrumentation.
#define REDNET_EMU_TASK REDNET_NO_TSAN
#define REDNET_EMU_CALL_SITE __attribute__((noinline))
#else
#define REDNET_EMU_TASK
#define REDNET_EMU_CALL_SITE inline
#endif

namespace rednet_emu {
namespace wm = nvcuda::wmma;

// Rows and columns of a fragment's tile: A is M x K, B is K x N, C and D are M x N.
template <class Use, int M, int N, int K>
struct tile;
template <int M, int N, int K>
struct tile<wm::matrix_a, M, N, K> {
  static constexpr int rows = M, cols = K, use = 0;
};
template <int M, int N, int K>
struct tile<wm::matrix_b, M, N, K> {
  static constexpr int rows = K, cols = N, use = 1;
};
template <int M, int N, int K>
struct tile<wm::accumulator, M, N, K> {
  static constexpr int rows = M, cols = N, use = 2;
};

template <class T>
struct stored {
  using type = T;
};
template <>
struct stored<wm::precision::tf32> {
  using type = float;
};

template <int M, int N, int K>
constexpr bool mnk16 = (M == 16 && N == 16 && K == 16) || (M == 32 && N == 8 && K == 16) ||
                       (M == 8 && N == 32 && K == 16);

template <class Use, int M, int N, int K, class T, class Layout>
constexpr bool supported() {
  constexpr bool input = !std::is_same<Use, wm::accumulator>::value;
  constexpr bool layout = std::is_same<Layout, wm::row_major>::value ||
                          std::is_same<Layout, wm::col_major>::value;
  if (input && !layout) return false;  // A and B fragments carry their memory layout
  if (!input && !std::is_same<Layout, void>::value) return false;
  if (std::is_same<T, wm::precision::tf32>::value) return input && M == 16 && N == 16 && K == 8;
  if (std::is_same<T, __half>::value || std::is_same<T, __nv_bfloat16>::value)
    return input ? mnk16<M, N, K> : (std::is_same<T, __half>::value && mnk16<M, N, K>);
  if (std::is_same<T, float>::value)
    return !input && (mnk16<M, N, K> || (M == 16 && N == 16 && K == 8));
  return false;
}

// Which tile element (row-major index) element i of lane l holds: map[i * 32 + l].
// One table per fragment kind for all workers (not thread_local, which is where shared memory
// lives); built by the first worker that needs it in a launch, under a lock.
template <int Use, int Rows, int Cols>
REDNET_EMU_TASK inline const short* fragment_map() {
  constexpr int count = Rows * Cols;
  static std::atomic<std::uint64_t> built{~std::uint64_t(0)};
  static short map[count];
  if (built.load(std::memory_order_acquire) == fragment_seed) return map;
#pragma omp critical(rednet_emu_fragment_map)
  if (built.load(std::memory_order_relaxed) != fragment_seed) {
    for (int e = 0; e < count; ++e) map[e] = short(e);
    std::uint64_t z = fragment_seed * 0x9E3779B97F4A7C15ull + std::uint64_t(Use * 4096 + count);
    for (int e = count; fragment_seed && e > 1; --e) {  // Fisher-Yates with splitmix64
      std::uint64_t r = (z += 0x9E3779B97F4A7C15ull);
      r = (r ^ (r >> 30)) * 0xBF58476D1CE4E5B9ull;
      r = (r ^ (r >> 27)) * 0x94D049BB133111EBull;
      r ^= r >> 31;
      std::swap(map[e - 1], map[r % std::uint64_t(e)]);
    }
    built.store(fragment_seed, std::memory_order_release);
  }
  return map;
}

// One lane's operands of a load or a store.
struct MemCall {
  void* frag;
  void* ptr;
  unsigned ldm;
  int col_major;
  const void* pc;  // the call's return address in the kernel (for the race check's message)
};

inline float tf32_cut(float v) {
  std::uint32_t x;
  std::memcpy(&x, &v, 4);
  if ((x & 0x7f800000u) != 0x7f800000u) x &= 0xffffe000u;
  std::memcpy(&v, &x, 4);
  return v;
}

[[noreturn]] inline void wmma_fail(Worker& w, int base, const char* what) {
  const Fiber& f = w.fibers[std::size_t(base)];
  Text t;
  t.block(w).add(", warp %d: %s at %s:%d: %s", base / 32, op_name(f.op), f.file, f.line, what);
  fail(w, t.s);
}

// Every lane must pass the same pointer, leading dimension and layout; the pointer must be
// 256-bit aligned and the leading dimension a multiple of 16 bytes, as the PTX requires.
template <class E>
inline const MemCall& check_mem(Worker& w, int base) {
  const MemCall& c0 = *reinterpret_cast<const MemCall*>(w.fibers[std::size_t(base)].value);
  for (int l = 1; l < 32; ++l) {
    const MemCall& c = *reinterpret_cast<const MemCall*>(w.fibers[std::size_t(base + l)].value);
    if (c.ptr != c0.ptr || c.ldm != c0.ldm || c.col_major != c0.col_major) {
      char m[320];
      std::snprintf(m, sizeof m, "lane 0 passes pointer %p, ldm %u, %s but lane %d passes "
                    "%p, ldm %u, %s (every lane of the warp must pass the same arguments)",
                    c0.ptr, c0.ldm, c0.col_major ? "col_major" : "row_major", l, c.ptr, c.ldm,
                    c.col_major ? "col_major" : "row_major");
      wmma_fail(w, base, m);
    }
  }
  if (std::uintptr_t(c0.ptr) % 32 != 0) {
    char m[200];
    std::snprintf(m, sizeof m, "pointer %p is not 32-byte (256-bit) aligned", c0.ptr);
    wmma_fail(w, base, m);
  }
  if (c0.ldm * sizeof(E) % 16 != 0) {
    char m[200];
    std::snprintf(m, sizeof m, "ldm %u is not a multiple of 16 bytes (%u elements of %u "
                  "bytes)", c0.ldm, unsigned(16 / sizeof(E)), unsigned(sizeof(E)));
    wmma_fail(w, base, m);
  }
  return c0;
}

// Loads (Store false) or stores (Store true) a fragment for all 32 lanes, each lane's
// elements under that lane's threadIdx (what the race check attributes them to).
template <class Frag, bool Store>
REDNET_EMU_TASK void mem_task(Worker& w, int base) {
  using E = typename Frag::element_type;
  constexpr int rows = Frag::tile_rows, cols = Frag::tile_cols, n = Frag::num_elements;
  const MemCall& c0 = check_mem<E>(w, base);
  const short* map = fragment_map<Frag::tile_use, rows, cols>();
  E* p = static_cast<E*>(c0.ptr);
  const uint3 own = threadIdx;
  for (int l = 0; l < 32; ++l) {
    const Fiber& g = w.fibers[std::size_t(base + l)];
    const MemCall& call = *reinterpret_cast<const MemCall*>(g.value);
    Frag& frag = *static_cast<Frag*>(call.frag);
    threadIdx = g.tid;  // whose access the race check and the profile see
    // Keep that store: the profile build's hooks, which read threadIdx, are inserted after
    // the optimiser has run, and would otherwise find it dropped as dead.
    __asm__ __volatile__("" ::: "memory");
    for (int i = 0; i < n; ++i) {
      const int e = map[i * 32 + l], r = e / cols, c = e % cols;
      E& m = p[c0.col_major ? std::size_t(c) * c0.ldm + r : std::size_t(r) * c0.ldm + c];
#if defined(REDNET_EMU_RACECHECK)
      race_access(&m, sizeof(E), Store, call.pc);
#endif
      if (Store) m = frag.x[i];
      else frag.x[i] = m;
    }
  }
  threadIdx = own;
}

struct MmaCall {
  void* d;
  const void* a;
  const void* b;
  const void* c;
};

template <class FD, class FA, class FB, class FC>
REDNET_EMU_TASK void mma_task(Worker& w, int base) {
  constexpr int M = FA::tile_rows, K = FA::tile_cols, N = FB::tile_cols;
  constexpr bool tf32 = FA::is_tf32;
  float A[M * K], B[K * N], D[M * N];
  const short* ma = fragment_map<0, M, K>();
  const short* mb = fragment_map<1, K, N>();
  const short* mc = fragment_map<2, M, N>();
  for (int l = 0; l < 32; ++l) {
    const auto& call = *reinterpret_cast<const MmaCall*>(w.fibers[std::size_t(base + l)].value);
    const FA& a = *static_cast<const FA*>(call.a);
    const FB& b = *static_cast<const FB*>(call.b);
    const FC& c = *static_cast<const FC*>(call.c);
    for (int i = 0; i < FA::num_elements; ++i) {
      const float v = float(a.x[i]);
      A[ma[i * 32 + l]] = tf32 ? tf32_cut(v) : v;
    }
    for (int i = 0; i < FB::num_elements; ++i) {
      const float v = float(b.x[i]);
      B[mb[i * 32 + l]] = tf32 ? tf32_cut(v) : v;
    }
    for (int i = 0; i < FC::num_elements; ++i) D[mc[i * 32 + l]] = float(c.x[i]);
  }
  for (int r = 0; r < M; ++r)
    for (int col = 0; col < N; ++col) {
      float acc = D[r * N + col];
      for (int k = 0; k < K; ++k) acc += A[r * K + k] * B[k * N + col];  // products exact
      D[r * N + col] = acc;
    }
  // Written only now: d may be the same fragment as c (mma_sync(acc, a, b, acc)).
  for (int l = 0; l < 32; ++l) {
    const auto& call = *reinterpret_cast<const MmaCall*>(w.fibers[std::size_t(base + l)].value);
    FD& d = *static_cast<FD*>(call.d);
    for (int i = 0; i < FD::num_elements; ++i)
      d.x[i] = typename FD::element_type(D[mc[i * 32 + l]]);
  }
}
}  // namespace rednet_emu

namespace nvcuda {
namespace wmma {
template <class Use, int M, int N, int K, class T, class Layout = void>
class fragment {
  static_assert(rednet_emu::supported<Use, M, N, K, T, Layout>(),
                "wmma::fragment: this use/shape/type/layout is not one a tensor core has "
                "(half: m16n16k16, m32n8k16, m8n32k16 with float or half accumulators; "
                "__nv_bfloat16: the same shapes, float accumulators; precision::tf32: "
                "m16n16k8, float accumulators; A and B fragments need row_major or "
                "col_major, accumulators no layout)");

 public:
  using element_type = typename rednet_emu::stored<T>::type;
  using storage_element_type = element_type;
  static constexpr int tile_rows = rednet_emu::tile<Use, M, N, K>::rows;
  static constexpr int tile_cols = rednet_emu::tile<Use, M, N, K>::cols;
  static constexpr int tile_use = rednet_emu::tile<Use, M, N, K>::use;
  static constexpr bool is_tf32 = std::is_same<T, precision::tf32>::value;
  enum { num_elements = tile_rows * tile_cols / 32 };
  element_type x[num_elements];
};

template <class Use, int M, int N, int K, class T, class L, class V>
inline void fill_fragment(fragment<Use, M, N, K, T, L>& f, const V& v) {
  using E = typename fragment<Use, M, N, K, T, L>::element_type;
  const E e = E(v);
  for (int i = 0; i < f.num_elements; ++i) f.x[i] = e;
}

template <class Use, int M, int N, int K, class T, class L>
REDNET_EMU_CALL_SITE void load_matrix_sync(fragment<Use, M, N, K, T, L>& f,
                             const typename fragment<Use, M, N, K, T, L>::element_type* p,
                             unsigned ldm, const char* file = __builtin_FILE(),
                             int line = __builtin_LINE()) {
  static_assert(!std::is_same<Use, accumulator>::value,
                "an accumulator is loaded with a layout: load_matrix_sync(acc, p, ldm, "
                "wmma::mem_row_major or wmma::mem_col_major)");
  rednet_emu::MemCall call{&f, const_cast<void*>(static_cast<const void*>(p)), ldm,
                           std::is_same<L, col_major>::value,
                           __builtin_return_address(0)};
  rednet_emu::warp_task(rednet_emu::kWmmaLoad,
                        &rednet_emu::mem_task<fragment<Use, M, N, K, T, L>, false>, &call, file,
                        line);
}

template <int M, int N, int K, class T>
REDNET_EMU_CALL_SITE void load_matrix_sync(fragment<accumulator, M, N, K, T>& f, const T* p, unsigned ldm,
                             layout_t layout, const char* file = __builtin_FILE(),
                             int line = __builtin_LINE()) {
  rednet_emu::MemCall call{&f, const_cast<void*>(static_cast<const void*>(p)), ldm,
                           layout == mem_col_major,
                           __builtin_return_address(0)};
  rednet_emu::warp_task(rednet_emu::kWmmaLoad,
                        &rednet_emu::mem_task<fragment<accumulator, M, N, K, T>, false>, &call,
                        file, line);
}

template <int M, int N, int K, class T>
REDNET_EMU_CALL_SITE void store_matrix_sync(T* p, const fragment<accumulator, M, N, K, T>& f, unsigned ldm,
                              layout_t layout, const char* file = __builtin_FILE(),
                              int line = __builtin_LINE()) {
  rednet_emu::MemCall call{const_cast<fragment<accumulator, M, N, K, T>*>(&f), p, ldm,
                           layout == mem_col_major,
                           __builtin_return_address(0)};
  rednet_emu::warp_task(rednet_emu::kWmmaStore,
                        &rednet_emu::mem_task<fragment<accumulator, M, N, K, T>, true>, &call,
                        file, line);
}

template <int M, int N, int K, class TA, class LA, class LB, class TC, class TD>
inline void mma_sync(fragment<accumulator, M, N, K, TD>& d,
                     const fragment<matrix_a, M, N, K, TA, LA>& a,
                     const fragment<matrix_b, M, N, K, TA, LB>& b,
                     const fragment<accumulator, M, N, K, TC>& c,
                     const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  static_assert(!std::is_same<TA, __nv_bfloat16>::value ||
                    (std::is_same<TC, float>::value && std::is_same<TD, float>::value),
                "wmma::mma_sync: __nv_bfloat16 inputs accumulate in float");
  rednet_emu::MmaCall call{&d, &a, &b, &c};
  rednet_emu::warp_task(
      rednet_emu::kWmmaMma,
      &rednet_emu::mma_task<fragment<accumulator, M, N, K, TD>,
                            fragment<matrix_a, M, N, K, TA, LA>,
                            fragment<matrix_b, M, N, K, TA, LB>, fragment<accumulator, M, N, K, TC>>,
      &call, file, line);
}
}  // namespace wmma
}  // namespace nvcuda

#endif  // REDNET_EMU_MMA_H
