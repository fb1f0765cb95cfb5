// cuda_emu_profile.h: the emulator's memory-traffic profile (a separate build, compiled with
// -DREDNET_EMU_PROFILE; Python's runtime.profiling() switches launches to it).
//
// What it counts, per launch and per source instruction, the way a GPU profiler (Nsight
// Compute's L1 requests, sectors and wavefronts) counts a warp's memory instructions:
//   * global memory: load and store requests (one per warp-level instruction) and the 32-byte
//     sectors they touch. 32 lanes reading 32 consecutive floats touch 4 sectors (coalesced);
//     32 floats 128 bytes apart touch 32. Also the bytes the lanes asked for.
//   * shared memory: load and store requests and the wavefronts (passes through the 32 banks
//     of 4 bytes) they need. Lanes reading the same word share it (a broadcast); lanes
//     touching different words of one bank are served one after another (a bank conflict).
//   * barriers: one per warp for each __syncthreads() released.
//
// How the accesses are seen: the kernel library is compiled with g++'s -fsanitize=thread
// instrumentation, which calls __tsan_readN / __tsan_writeN(address) before every load and
// store; this file defines those functions (no ThreadSanitizer runtime is linked, as for the
// race check in cuda_emu.h). The call's return address names the instruction (its pc, turned
// into file:line by emulator.py with addr2line); threadIdx names the thread.
//
// Which accesses count:
//   * global: addresses inside the buffers passed to the launch as pointer arguments (the
//     loader hands over their address ranges before each launch). A positive list, because
//     everything else the instrumented code touches is not a GPU memory access: the fibers'
//     stacks (a thread's local variables), the runtime's own heap data, the launch's argument
//     array, blockDim and gridDim (special registers on a GPU). Sectors are counted as if
//     each buffer started on a 256-byte boundary, as GPU allocations do.
//   * shared: this library's thread_local block, where the __shared__ arrays live, less the
//     runtime's own thread_locals (threadIdx, blockIdx, the worker); and the dynamic shared
//     buffer (extern __shared__).
//
// Warp-level instructions. The lanes of a warp never run in lockstep here: they run one after
// the other, as fibers between barriers, or one whole thread after another in plain-loop mode.
// So each lane counts, per warp and pc, how often it has executed that pc in the current
// barrier interval, and the k-th execution of every lane forms the k-th warp-level instance:
// what the GPU issues when the lanes take the same path. When the interval ends (a
// __syncthreads() releases the block, or the block ends) its instances are resolved:
//   * requests: one per instance; bytes: the access size times the lanes taking part.
//   * global sectors: the distinct 32-byte segments the lanes' bytes fall in. Exact.
//   * shared wavefronts: the largest number of distinct 4-byte words any one bank holds
//     among the lanes (1 when conflict-free, 32 when 32 lanes hit 32 words of one bank).
//     Exact for accesses of up to 4 bytes. Wider accesses are served in parts, as NVIDIA
//     describes them: 8-byte ones per half warp (lanes 0-15, 16-31), 16-byte ones per
//     quarter warp, each part with lanes in it taking at least one wavefront; so a
//     conflict-free float2 access takes 2 wavefronts and a float4 one 4. An approximation of
//     what a particular GPU does.
//
// Limits:
//   * A lane that runs an instruction more or fewer times than its neighbours (a loop with a
//     per-thread trip count) is grouped by execution count, not by how a GPU reconverges.
//   * What g++ optimised away (a value kept in a register, a load hoisted out of a loop) is
//     not counted; the GPU's compiler mostly does the same. This build turns off what would
//     make g++'s accesses differ from the GPU thread's (compiler.PROFILE_FLAGS): loop
//     vectorisation (SIMD loads spanning iterations) and scalar replacement of aggregates
//     (a float4 read or written member by member instead of in one 16-byte access).
//   * Atomics and library calls (memcpy, memset) are not counted.
//   * Banks are taken from the emulator's addresses. Within one array that changes nothing
//     (an offset shifts every lane's bank alike), but an instruction whose lanes touch two
//     different shared arrays may be binned differently than on a GPU.
//   * An access wider than 256 bytes (a large struct copied at once) is cut at 256 bytes in
//     the shared-memory count.
#ifndef REDNET_CUDA_EMU_PROFILE_H
#define REDNET_CUDA_EMU_PROFILE_H
#if defined(REDNET_EMU_RACECHECK)
#error "REDNET_EMU_PROFILE and REDNET_EMU_RACECHECK both define the __tsan_* hooks"
#endif

#include <dlfcn.h>
#include <link.h>

// Everything here runs uninstrumented: an instrumented access in the profiler would call the
// profiler. No standard containers either: their out-of-line methods would be instrumented.
#define REDNET_PROF __attribute__((no_sanitize_thread))
#define REDNET_PROF_EXPORT extern "C" __attribute__((visibility("default"))) REDNET_PROF

namespace rednet_emu {
namespace profile {

enum Space : unsigned { kGlobal = 0, kShared = 1 };
constexpr int kMaxBuffers = 64;  // pointer arguments of one launch
constexpr int kSkips = 6;        // the runtime's own thread_locals

// Grows a malloc()ed array of trivially copyable T to hold at least `need` elements; new
// elements are zero.
template <class T>
REDNET_PROF inline void reserve(T*& items, std::size_t& cap, std::size_t need) {
  if (need <= cap) return;
  std::size_t n = cap ? cap : 16;
  while (n < need) n *= 2;
  void* p = std::realloc(static_cast<void*>(items), n * sizeof(T));
  if (p == nullptr) std::abort();
  std::memset(static_cast<char*>(p) + cap * sizeof(T), 0, (n - cap) * sizeof(T));
  items = static_cast<T*>(p);
  cap = n;
}

// Open addressing from a non-zero 64-bit key to an index. No destructors here (see `state`).
struct Table {
  std::uint64_t* keys = nullptr;
  std::uint32_t* values = nullptr;
  std::size_t cap = 0, used = 0;  // cap: a power of two

  REDNET_PROF std::size_t home(std::uint64_t key) const {
    return std::size_t((key * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
  }
  REDNET_PROF std::uint32_t* find(std::uint64_t key) {
    if (cap == 0) return nullptr;
    for (std::size_t i = home(key);; i = (i + 1) & (cap - 1)) {
      if (keys[i] == key) return &values[i];
      if (keys[i] == 0) return nullptr;
    }
  }
  REDNET_PROF void insert(std::uint64_t key, std::uint32_t value) {
    if (2 * (used + 1) > cap) rehash(cap ? 2 * cap : 64);
    std::size_t i = home(key);
    while (keys[i] != 0) i = (i + 1) & (cap - 1);
    keys[i] = key;
    values[i] = value;
    ++used;
  }
  REDNET_PROF void rehash(std::size_t n) {
    std::uint64_t* old_keys = keys;
    std::uint32_t* old_values = values;
    const std::size_t old_cap = cap;
    keys = static_cast<std::uint64_t*>(std::calloc(n, sizeof *keys));
    values = static_cast<std::uint32_t*>(std::calloc(n, sizeof *values));
    if (keys == nullptr || values == nullptr) std::abort();
    cap = n;
    used = 0;
    for (std::size_t i = 0; i < old_cap; ++i)
      if (old_keys[i] != 0) insert(old_keys[i], old_values[i]);
    std::free(old_keys);
    std::free(old_values);
  }
  REDNET_PROF void clear() {
    if (used) std::memset(keys, 0, cap * sizeof *keys);
    used = 0;
  }
};

// One instruction in one memory space: key = pc | space << 48 | write << 49 (user-space
// code addresses fit in 47 bits).
struct Site {
  std::uint64_t key;
  std::uint64_t size, requests, units, bytes;  // units: sectors (global) or wavefronts
};

struct Sites {
  Table index;
  Site* rows = nullptr;
  std::size_t n = 0, cap = 0;

  REDNET_PROF std::uint32_t get(std::uint64_t key, std::uint64_t size) {
    if (std::uint32_t* i = index.find(key)) return *i;
    reserve(rows, cap, n + 1);
    rows[n] = Site{key, size, 0, 0, 0};
    index.insert(key, std::uint32_t(n));
    return std::uint32_t(n++);
  }
  REDNET_PROF void add(const Site& s) {
    const std::uint32_t i = get(s.key, s.size);  // before `rows`: get() may move them
    Site& r = rows[i];
    r.requests += s.requests, r.units += s.units, r.bytes += s.bytes;
  }
  REDNET_PROF void clear() {
    index.clear();
    n = 0;
  }
};

// Barriers released, by the source line of the __syncthreads() (a string literal's address,
// __builtin_FILE()).
struct BarrierLine {
  const char* file;
  int line;
  std::uint64_t count;
};

struct Barriers {
  BarrierLine* rows = nullptr;
  std::size_t n = 0, cap = 0;

  REDNET_PROF void add(const char* file, int line, std::uint64_t count) {
    for (std::size_t i = 0; i < n; ++i)
      if (rows[i].line == line && std::strcmp(rows[i].file, file) == 0) {
        rows[i].count += count;
        return;
      }
    reserve(rows, cap, n + 1);
    rows[n++] = BarrierLine{file, line, count};
  }
};

// The k-th execution of one instruction by the lanes of one warp: each lane's address.
struct Instance {
  std::uintptr_t addr[32];
  std::uint32_t mask;  // the lanes that executed it
};

// One (warp, site) in the current barrier interval.
struct Slot {
  std::uint32_t site;
  std::uint32_t count[32];   // executions so far, per lane
  std::uint32_t* instances;  // indices into State::pool, by execution number
  std::size_t n, cap;        // (the array is kept for the slot's next use)
};

// Per worker thread.
struct State {
  bool on = false;    // inside this worker's part of a profiled launch
  bool busy = false;  // inside the profiler itself
  std::uintptr_t tls_lo = 0, tls_hi = 0, dyn_lo = 0, dyn_hi = 0;
  std::uintptr_t skip_lo[kSkips] = {}, skip_hi[kSkips] = {};
  Table slot_of;  // (warp, site) -> slot
  Slot* slots = nullptr;
  std::size_t n_slots = 0, cap_slots = 0;
  Instance* pool = nullptr;
  std::size_t n_pool = 0, cap_pool = 0;
  Sites sites;  // this worker's totals for the launch
  Barriers barriers;
};

// Constant-initialised and without a destructor (its arrays live as long as the worker
// thread, i.e. the process): a thread_local that needs a constructor or destructor is reached
// through a compiler-made wrapper, which is instrumented and would call the profiler back.
static thread_local State state;

// The launch's results (all workers merged) and its global buffers, set from Python.
static Sites launch_sites;
static Barriers launch_barriers;
static std::uintptr_t buffer_lo[kMaxBuffers], buffer_hi[kMaxBuffers];
static int buffers = 0;
static std::uintptr_t module_base = 0;

// A global address as the GPU would see it: the offset into its buffer, as if the buffer
// started on a 256-byte boundary (cudaMalloc's and CuPy's allocations do; NumPy's may start
// anywhere 16-byte aligned, which would add sectors no GPU run has), tagged with the buffer
// so that two buffers never share a sector. 0 when `a` is in no buffer.
REDNET_PROF inline std::uintptr_t global_address(std::uintptr_t a) {
  for (int i = 0; i < buffers; ++i)
    if (a >= buffer_lo[i] && a < buffer_hi[i])
      return (std::uintptr_t(i + 1) << 44) + (a - buffer_lo[i]);
  return 0;
}

// Sorts a few small integers (at most a few hundred; std::sort would be instrumented).
REDNET_PROF inline void sort(std::uint64_t* v, std::size_t n) {
  for (std::size_t i = 1; i < n; ++i) {
    const std::uint64_t x = v[i];
    std::size_t j = i;
    for (; j > 0 && v[j - 1] > x; --j) v[j] = v[j - 1];
    v[j] = x;
  }
}

// The distinct 32-byte segments that the instance's bytes fall in: merge the lanes' segment
// ranges [first, last] in order of their start.
REDNET_PROF inline std::uint64_t sectors(const Instance& in, std::uint64_t size) {
  std::uint64_t first[32];
  std::size_t n = 0;
  for (unsigned m = in.mask; m; m &= m - 1) first[n++] = in.addr[__builtin_ctz(m)];
  sort(first, n);  // by address; the segments follow in the same order
  std::uint64_t count = 0, end = 0;  // end: one past the last segment counted
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t lo = first[i] >> 5, hi = (first[i] + size - 1) >> 5;
    const std::uint64_t from = lo > end ? lo : end;  // what earlier lanes did not cover
    if (hi + 1 > from) count += hi + 1 - from;
    if (hi + 1 > end) end = hi + 1;
  }
  return count;
}

// Wavefronts of a shared-memory instance: per part of the warp (all 32 lanes for accesses of
// up to 4 bytes, half warps for 8, quarter warps for 16 and more), the most distinct words
// in one bank, at least one for a part with lanes in it.
REDNET_PROF inline std::uint64_t wavefronts(const Instance& in, std::uint64_t size) {
  const unsigned group = size <= 4 ? 32 : size <= 8 ? 16 : 8;
  const std::uint64_t max_words = 64;  // per lane: 256 bytes
  std::uint64_t words[8 * 64];         // enough for every part: 8 lanes x 64, 32 lanes x 2
  std::uint64_t total = 0;
  for (unsigned part = 0; part < 32; part += group) {
    const unsigned lanes = (group == 32 ? ~0u : ((1u << group) - 1) << part) & in.mask;
    if (lanes == 0) continue;
    std::size_t n = 0;
    for (unsigned m = lanes; m; m &= m - 1) {
      const std::uint64_t a = in.addr[__builtin_ctz(m)];
      const std::uint64_t lo = a >> 2, hi = (a + size - 1) >> 2;
      for (std::uint64_t w = lo; w <= hi && w - lo < max_words; ++w) words[n++] = w;
    }
    sort(words, n);
    unsigned per_bank[32] = {};
    unsigned most = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0 && words[i] == words[i - 1]) continue;  // the same word: one read serves all
      const unsigned c = ++per_bank[words[i] & 31];
      if (c > most) most = c;
    }
    total += most;
  }
  return total;
}

// Resolves the interval's instances into the sites' totals and starts a new interval.
REDNET_PROF inline void flush(State& s) {
  for (std::size_t i = 0; i < s.n_slots; ++i) {
    const Slot& slot = s.slots[i];
    Site& site = s.sites.rows[slot.site];
    const bool shared = (site.key >> 48) & 1u;
    for (std::size_t k = 0; k < slot.n; ++k) {
      const Instance& in = s.pool[slot.instances[k]];
      site.requests += 1;
      site.bytes += site.size * std::uint64_t(__builtin_popcount(in.mask));
      site.units += shared ? wavefronts(in, site.size) : sectors(in, site.size);
    }
  }
  s.n_slots = 0;
  s.n_pool = 0;
  s.slot_of.clear();
}

// One access by the current thread.
REDNET_PROF inline void record(State& s, std::uintptr_t a, std::uint64_t size, bool write,
                               unsigned space, const void* pc) {
  const unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const unsigned warp = t >> 5, lane = t & 31;
  const std::uint64_t site_key = std::uint64_t(std::uintptr_t(pc)) |
                                 std::uint64_t(space) << 48 | std::uint64_t(write) << 49;
  const std::uint64_t slot_key = site_key | std::uint64_t(warp) << 50;  // up to 1024 threads
  std::uint32_t index;
  if (std::uint32_t* found = s.slot_of.find(slot_key)) {
    index = *found;
  } else {
    index = std::uint32_t(s.n_slots++);
    reserve(s.slots, s.cap_slots, s.n_slots);
    Slot& fresh = s.slots[index];
    fresh.site = s.sites.get(site_key, size);
    std::memset(fresh.count, 0, sizeof fresh.count);
    fresh.n = 0;
    s.slot_of.insert(slot_key, index);
  }
  Slot& slot = s.slots[index];
  const std::uint32_t k = slot.count[lane]++;
  if (k == slot.n) {  // the first lane to get this far: a new instance
    reserve(s.pool, s.cap_pool, s.n_pool + 1);
    s.pool[s.n_pool].mask = 0;
    reserve(slot.instances, slot.cap, slot.n + 1);
    slot.instances[slot.n++] = std::uint32_t(s.n_pool++);
  }
  Instance& in = s.pool[slot.instances[k]];
  in.addr[lane] = a;
  in.mask |= 1u << lane;
}

REDNET_PROF inline void access(const void* p, std::uint64_t size, bool write, const void* pc) {
  State& s = state;
  if (!s.on || s.busy) return;
  std::uintptr_t a = std::uintptr_t(p);
  unsigned space;
  if (a >= s.tls_lo && a < s.tls_hi) {
    for (int k = 0; k < kSkips; ++k)
      if (a >= s.skip_lo[k] && a < s.skip_hi[k]) return;
    space = kShared;
  } else if (a >= s.dyn_lo && a < s.dyn_hi) {
    space = kShared;
  } else if (const std::uintptr_t g = global_address(a)) {
    space = kGlobal;
    a = g;
  } else {
    return;  // a local variable, or the runtime's own data
  }
  s.busy = true;
  record(s, a, size, write, space, pc);
  s.busy = false;
}

REDNET_PROF inline int find_tls(dl_phdr_info* info, std::size_t, void* data) {
  State& s = *static_cast<State*>(data);
  if (info->dlpi_addr != module_base) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i)
    if (info->dlpi_phdr[i].p_type == PT_TLS && info->dlpi_tls_data) {
      s.tls_lo = std::uintptr_t(info->dlpi_tls_data);
      s.tls_hi = s.tls_lo + info->dlpi_phdr[i].p_memsz;
    }
  return 1;
}

// Per worker and launch, before its first block: where its shared memory lies.
REDNET_PROF inline void setup(Worker& w, std::size_t shared_bytes) {
  State& s = state;
  Dl_info info;
  dladdr(reinterpret_cast<void*>(&find_tls), &info);
  module_base = std::uintptr_t(info.dli_fbase);
  s.tls_lo = s.tls_hi = 0;
  dl_iterate_phdr(find_tls, &s);
  s.dyn_lo = std::uintptr_t(w.dynamic_shared);
  s.dyn_hi = s.dyn_lo + shared_bytes;
  const void* own[kSkips] = {&threadIdx, &blockIdx, &worker, &dynamic_shared, &w, &s};
  const std::size_t sizes[kSkips] = {sizeof threadIdx, sizeof blockIdx, sizeof worker,
                                     sizeof dynamic_shared, sizeof w, sizeof s};
  for (int k = 0; k < kSkips; ++k) {
    s.skip_lo[k] = std::uintptr_t(own[k]);
    s.skip_hi[k] = s.skip_lo[k] + sizes[k];
  }
  s.sites.clear();
  s.barriers.n = 0;
  s.n_slots = s.n_pool = 0;
  s.slot_of.clear();
  s.on = true;
}

// A __syncthreads() releases the block: the interval's instructions are complete. Every
// warp's threads all wait at it (else the launch has failed), so each warp counts one.
REDNET_PROF inline void barrier_released(Worker& w) {
  State& s = state;
  flush(s);
  for (int base = 0; base < w.threads; base += 32) {
    const Fiber& f = w.fibers[std::size_t(base)];
    s.barriers.add(f.file, f.line, 1);
  }
}

REDNET_PROF inline void block_end(Worker&) { flush(state); }

// The worker's part of the launch is done: merge its totals into the launch's.
REDNET_PROF inline void worker_end(Worker&) {
  State& s = state;
  flush(s);
  s.on = false;
#pragma omp critical(rednet_emu_profile)
  {
    for (std::size_t i = 0; i < s.sites.n; ++i) launch_sites.add(s.sites.rows[i]);
    for (std::size_t i = 0; i < s.barriers.n; ++i)
      launch_barriers.add(s.barriers.rows[i].file, s.barriers.rows[i].line,
                          s.barriers.rows[i].count);
  }
}
}  // namespace profile
}  // namespace rednet_emu

// ---- the calls Python makes around a launch ---------------------------------------------
// Before: the pointer arguments' byte ranges [lo, hi) as 2n integers; clears the results.
REDNET_PROF_EXPORT void rednet_profile_begin(const unsigned long long* ranges, int n) {
  namespace p = rednet_emu::profile;
  p::buffers = n < p::kMaxBuffers ? n : p::kMaxBuffers;
  for (int i = 0; i < p::buffers; ++i) {
    p::buffer_lo[i] = std::uintptr_t(ranges[2 * i]);
    p::buffer_hi[i] = std::uintptr_t(ranges[2 * i + 1]);
  }
  p::launch_sites.clear();
  p::launch_barriers.n = 0;
}

// After: 7 integers per site (pc as an offset into the library, space (0 global, 1 shared),
// write, size, requests, sectors or wavefronts, bytes) for up to `cap` sites; returns how
// many there are.
REDNET_PROF_EXPORT long rednet_profile_sites(unsigned long long* out, long cap) {
  namespace p = rednet_emu::profile;
  const long n = long(p::launch_sites.n);
  for (long i = 0; i < n && i < cap; ++i) {
    const p::Site& s = p::launch_sites.rows[i];
    const std::uint64_t pc = s.key & ((std::uint64_t(1) << 48) - 1);
    // The return address of the hook's call, minus one: inside the call instruction, whose
    // line is the access's.
    const unsigned long long row[7] = {pc - p::module_base - 1, (s.key >> 48) & 1u,
                                       (s.key >> 49) & 1u, s.size, s.requests, s.units,
                                       s.bytes};
    std::memcpy(out + 7 * i, row, sizeof row);
  }
  return n;
}

// After: the barriers released per source line, for up to `cap` lines; returns how many.
REDNET_PROF_EXPORT long rednet_profile_barriers(const char** files, int* lines,
                                                unsigned long long* counts, long cap) {
  namespace p = rednet_emu::profile;
  const long n = long(p::launch_barriers.n);
  for (long i = 0; i < n && i < cap; ++i) {
    files[i] = p::launch_barriers.rows[i].file;
    lines[i] = p::launch_barriers.rows[i].line;
    counts[i] = p::launch_barriers.rows[i].count;
  }
  return n;
}

// ---- the instrumentation's entry points ---------------------------------------------------
#define REDNET_PROF_ACCESS(N)                                                           \
  extern "C" REDNET_PROF void __tsan_read##N(void* p) {                                 \
    rednet_emu::profile::access(p, N, false, __builtin_return_address(0));             \
  }                                                                                     \
  extern "C" REDNET_PROF void __tsan_write##N(void* p) {                                \
    rednet_emu::profile::access(p, N, true, __builtin_return_address(0));              \
  }                                                                                     \
  extern "C" REDNET_PROF void __tsan_unaligned_read##N(void* p) {                       \
    rednet_emu::profile::access(p, N, false, __builtin_return_address(0));             \
  }                                                                                     \
  extern "C" REDNET_PROF void __tsan_unaligned_write##N(void* p) {                      \
    rednet_emu::profile::access(p, N, true, __builtin_return_address(0));              \
  }
REDNET_PROF_ACCESS(1)
REDNET_PROF_ACCESS(2)
REDNET_PROF_ACCESS(4)
REDNET_PROF_ACCESS(8)
REDNET_PROF_ACCESS(16)
#undef REDNET_PROF_ACCESS
extern "C" REDNET_PROF void __tsan_read_range(void* p, unsigned long size) {
  rednet_emu::profile::access(p, size, false, __builtin_return_address(0));
}
extern "C" REDNET_PROF void __tsan_write_range(void* p, unsigned long size) {
  rednet_emu::profile::access(p, size, true, __builtin_return_address(0));
}
extern "C" REDNET_PROF void __tsan_init() {}
extern "C" REDNET_PROF void __tsan_func_entry(void*) {}
extern "C" REDNET_PROF void __tsan_func_exit() {}

// Atomics are done for real and not counted (the same stubs as the race check's).
#define REDNET_PROF_ATOMICS(N, T)                                                            \
  extern "C" REDNET_PROF T __tsan_atomic##N##_load(const volatile void* a, int) {            \
    return __atomic_load_n(static_cast<const volatile T*>(a), __ATOMIC_SEQ_CST);            \
  }                                                                                          \
  extern "C" REDNET_PROF void __tsan_atomic##N##_store(volatile void* a, T v, int) {         \
    __atomic_store_n(static_cast<volatile T*>(a), v, __ATOMIC_SEQ_CST);                     \
  }                                                                                          \
  REDNET_PROF_RMW(N, T, exchange, __atomic_exchange_n)                                       \
  REDNET_PROF_RMW(N, T, fetch_add, __atomic_fetch_add)                                       \
  REDNET_PROF_RMW(N, T, fetch_sub, __atomic_fetch_sub)                                       \
  REDNET_PROF_RMW(N, T, fetch_and, __atomic_fetch_and)                                       \
  REDNET_PROF_RMW(N, T, fetch_or, __atomic_fetch_or)                                         \
  REDNET_PROF_RMW(N, T, fetch_xor, __atomic_fetch_xor)                                       \
  REDNET_PROF_RMW(N, T, fetch_nand, __atomic_fetch_nand)                                     \
  extern "C" REDNET_PROF bool __tsan_atomic##N##_compare_exchange_strong(                    \
      volatile void* a, void* c, T v, int, int) {                                            \
    return __atomic_compare_exchange_n(static_cast<volatile T*>(a), static_cast<T*>(c), v,   \
                                       false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);           \
  }                                                                                          \
  extern "C" REDNET_PROF bool __tsan_atomic##N##_compare_exchange_weak(                      \
      volatile void* a, void* c, T v, int, int) {                                            \
    return __atomic_compare_exchange_n(static_cast<volatile T*>(a), static_cast<T*>(c), v,   \
                                       false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);           \
  }                                                                                          \
  extern "C" REDNET_PROF T __tsan_atomic##N##_compare_exchange_val(volatile void* a, T c,    \
                                                                   T v, int, int) {          \
    __atomic_compare_exchange_n(static_cast<volatile T*>(a), &c, v, false, __ATOMIC_SEQ_CST,  \
                                __ATOMIC_SEQ_CST);                                           \
    return c;                                                                                \
  }
#define REDNET_PROF_RMW(N, T, op, builtin)                                                   \
  extern "C" REDNET_PROF T __tsan_atomic##N##_##op(volatile void* a, T v, int) {             \
    return builtin(static_cast<volatile T*>(a), v, __ATOMIC_SEQ_CST);                       \
  }
REDNET_PROF_ATOMICS(8, unsigned char)
REDNET_PROF_ATOMICS(16, unsigned short)
REDNET_PROF_ATOMICS(32, unsigned int)
REDNET_PROF_ATOMICS(64, unsigned long)
#undef REDNET_PROF_ATOMICS
#undef REDNET_PROF_RMW
extern "C" REDNET_PROF void __tsan_atomic_thread_fence(int) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
extern "C" REDNET_PROF void __tsan_atomic_signal_fence(int) {}

#endif  // REDNET_CUDA_EMU_PROFILE_H
