// cuda_emu.h: the CUDA execution model on a CPU, for rednet_cupy's "emulate" device.
//
// The runtime compiles a kernel file (kernels/<op>.cu) as ordinary C++17 with
// `g++ -fopenmp -include cuda_emu.h`, so the very source that CuPy compiles for the GPU runs
// here too. What a launch does:
//
//   * Blocks are spread over the cores: an OpenMP team of workers (omp_get_max_threads(), at
//     most one per block) takes blocks from a shared counter, each worker running one block
//     at a time. blockIdx and threadIdx are thread_local (x fastest, as on a GPU); blockDim
//     and gridDim are plain globals (one launch at a time in a process).
//   * __shared__ is `static thread_local`: each worker has its own copy of every shared array,
//     and a worker runs one block at a time, so that copy is the running block's shared
//     memory. `extern __shared__ T s[];` (dynamic shared memory) is rewritten by the loader
//     (emulator.py) into a pointer to the worker's buffer: exactly as long as the launch asks,
//     16-byte aligned, and filled with 0xFF bytes (NaN as float) at the start of every block,
//     so that reading it before writing it shows up.
//   * The threads of a block are user-level fibers, one per CUDA thread, each on its own
//     stack (64 KiB, 256 KiB under AddressSanitizer, REDNET_EMU_STACK_KIB to change) with an
//     inaccessible guard page below it. A fiber runs until it reaches a barrier, a warp
//     collective or its end; then the worker switches to the next fiber (a few instructions
//     on x86-64, hand-written below; ucontext elsewhere). So a barrier costs a context switch
//     per thread, not an OS wake-up.
//   * __syncthreads() (and _count/_and/_or): when every fiber of the block waits at a barrier,
//     all are released. A barrier reached by only some threads while the others have exited
//     ends the launch with an error naming kernel, block, threads and source lines.
//   * Warps: threads form warps of 32 by linear thread index, as on a GPU. __shfl_sync,
//     __shfl_up_sync, __shfl_down_sync, __shfl_xor_sync (with width), __ballot_sync,
//     __any_sync, __all_sync and __syncwarp are collectives of the lanes named in the mask:
//     a lane waits until every named lane that has not exited arrives at the same intrinsic
//     with the same mask, then all get the GPU's result (shfl_up/down/xor from a lane outside
//     the width segment returns the caller's own value; __shfl_sync takes srcLane modulo
//     width). Reading from a named lane that has exited, or from a lane outside the mask,
//     is undefined on a GPU and returns all-one bits here (NaN as float, -1 as int). A lane
//     that leaves itself out of its mask, a width that is not a power of two up to 32, and
//     lanes whose partners never arrive (they wait at a barrier or at a different
//     collective) end the launch with an error naming kernel, block, warp, lanes and source
//     lines: never a hang. __activemask() has no divergence to observe here: it waits until
//     no fiber of the block can run, then returns the lanes of the warp that called it from
//     the same source line (so a warp that is all there gets all its lanes, a partial warp
//     its existing lanes, and lanes that went another way are left out).
//   * Schedules: the order in which the worker runs the ready fibers, set per launch from
//     Python (REDNET_EMU_SCHEDULE or runtime.schedule()): forward (thread 0 first), reverse,
//     or random (a new seeded permutation at every barrier). A kernel correct on a GPU gives
//     the same result under every schedule; a missing barrier usually does not.
//   * Plain-loop mode: a kernel file that uses no barrier and no warp intrinsic (the loader
//     looks at its text) runs each block as a loop over its threads, without fibers.
//   * Race check (REDNET_EMU_RACECHECK=1, a separate build): every shared-memory access, and
//     every access to the kernel's pointer arguments (global memory), is checked against the
//     other threads' accesses of the same barrier interval (for global memory: and against
//     every other block's, since blocks are not ordered within a launch); a unit
//     written by one thread and read or written by another with no __syncthreads() between
//     them (two lanes of a warp are also ordered by a warp collective both completed) ends
//     the launch naming kernel, block, array and byte offset, both threads and both source
//     lines. See the section "race check" below.
//   * Tensor cores, half and bfloat16, asynchronous copies: the emulator's own <mma.h>,
//     <cuda_fp16.h>, <cuda_bf16.h> and <cuda_pipeline.h> (runtime/include/, on the include
//     path) implement nvcuda::wmma (load/store/mma_sync are warp tasks: the last lane of the
//     warp to arrive does the work for all 32), __half / __nv_bfloat16 with the hardware's
//     rounding, and __pipeline_memcpy_async copies that land only when waited for. Each
//     header's comment says exactly what it computes. A fragment's element-to-lane layout is
//     natural or, per launch, scrambled (runtime.fragment_layout / REDNET_EMU_FRAGMENTS).
//   * Pointer arguments arrive 256-byte aligned, as cudaMalloc's are (emulator.py stages a
//     NumPy array that is not through an aligned copy).
//   * Memory-traffic profile (runtime.profiling(), a separate build with REDNET_EMU_PROFILE):
//     global-memory requests and 32-byte sectors, shared-memory requests and wavefronts
//     (bank conflicts) and barriers, per warp-level instruction. See cuda_emu_profile.h.
//   * Atomics are OpenMP atomics / GCC __atomic builtins: correct across workers.
//
// Limits (what a GPU does that this does not):
//   * Static __shared__ memory keeps its contents from one block to the next on the same
//     worker (on a GPU it is undefined at block start) and is not NaN-filled; only dynamic
//     shared memory is.
//   * Blocks that wait for each other (spin on a flag set by another block) may hang: a worker
//     runs its block to the end before it takes another. Fine for every kernel whose blocks
//     are independent, as CUDA requires.
//   * No streams, events, textures, __constant__ uploads, cooperative groups, libcu++'s
//     cuda::pipeline / cuda::memcpy_async, mma.h's sub-byte and double precision shapes,
//     __match_any_sync / __reduce_*_sync.
//   * A fiber's stack is small: a kernel with large local arrays, or deep recursion, hits the
//     guard page (a segmentation fault) unless REDNET_EMU_STACK_KIB is raised.
//   * The race check sees global memory through the pointer arguments only (up to 256 MiB
//     of them), keeps one reader per location (a race between two readers' blocks and a
//     later writer can go unseen), and does not see accesses made inside library calls
//     (memcpy, memset) or atomics (which cannot race).
//   * Speed: the kernels' arithmetic runs one thread at a time on a core, as scalar code
//     (RED10 forward + backward is tens of times slower than the NumPy `cpu` device); a
//     barrier costs one context switch per thread.
//
// Under nvcc (__CUDACC__) this header is empty, so a kernel that includes it stays valid CUDA.
#ifndef REDNET_CUDA_EMU_H
#define REDNET_CUDA_EMU_H
#ifndef __CUDACC__

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cassert>
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#if !defined(__x86_64__) || defined(REDNET_EMU_UCONTEXT)
#define REDNET_EMU_USE_UCONTEXT 1
#include <ucontext.h>
#else
#define REDNET_EMU_USE_UCONTEXT 0
#endif

#if defined(REDNET_EMU_RACECHECK)
#include <dlfcn.h>
#include <link.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

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
#define __shared__ static thread_local

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
// threadIdx is set by the worker each time it switches to a fiber.
static thread_local uint3 threadIdx;
static thread_local uint3 blockIdx;
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

// ---- fibers --------------------------------------------------------------------------------
// The context switch saves the callee-saved registers on the old stack, stores the stack
// pointer, loads the new one and pops the registers saved there: everything else the C++
// calling convention already lets a call clobber. A new fiber's stack is prepared so that
// the first switch to it "returns" into rednet_emu_fiber_entry, which calls r13(r12).
#if !REDNET_EMU_USE_UCONTEXT
extern "C" void rednet_emu_swap(void** save_sp, void* load_sp);
extern "C" void rednet_emu_fiber_entry();
asm(R"(
  .text
  .p2align 4
  .globl rednet_emu_swap
  .hidden rednet_emu_swap
  .type rednet_emu_swap, @function
rednet_emu_swap:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size rednet_emu_swap, .-rednet_emu_swap
  .p2align 4
  .globl rednet_emu_fiber_entry
  .hidden rednet_emu_fiber_entry
  .type rednet_emu_fiber_entry, @function
rednet_emu_fiber_entry:
  movq %r12, %rdi
  callq *%r13
  ud2
  .size rednet_emu_fiber_entry, .-rednet_emu_fiber_entry
)");
#endif

namespace rednet_emu {

enum State : unsigned char { kRun, kBarrier, kWarp, kDone };
enum Op : unsigned char {
  kSyncwarp, kShfl, kShflUp, kShflDown, kShflXor, kBallot, kAny, kAll, kActive,
  kWmmaLoad, kWmmaStore, kWmmaMma  // warp tasks (mma.h): run once for the whole warp
};
inline const char* op_name(Op op) {
  static const char* const names[] = {
      "__syncwarp",       "__shfl_sync",         "__shfl_up_sync",          "__shfl_down_sync",
      "__shfl_xor_sync",  "__ballot_sync",       "__any_sync",              "__all_sync",
      "__activemask",     "wmma::load_matrix_sync", "wmma::store_matrix_sync", "wmma::mma_sync"};
  return names[op];
}
struct Worker;
// A warp task (a tensor-core operation) runs once, for all 32 lanes, when the last one arrives;
// it finds each lane's operands through that lane's Fiber::value.
using WarpTask = void (*)(Worker& w, int base);

// An asynchronous copy (cuda_pipeline.h) issued and not yet waited for: the source bytes are
// read when it is issued, the destination written when a __pipeline_wait_prior() covers it.
struct AsyncCopy {
  void* dst;
  unsigned size;
  unsigned batch;
  unsigned char bytes[16];
};
enum Schedule { kForward = 0, kReverse = 1, kRandom = 2 };
// Which lane holds which element of a WMMA fragment (mma.h): 0 for the natural layout, else
// the seed of a scrambled one. Set per launch; CUDA leaves the layout unspecified.
static std::uint64_t fragment_seed = 0;
enum Mode { kLoop = 0, kFibers = 1 };

struct Fiber {
  void* sp = nullptr;
  unsigned char* stack = nullptr;  // lowest usable byte; the guard page lies just below
  std::size_t stack_size = 0;
  uint3 tid{};
  int index = 0;  // linear thread index in the block
  State state = kDone;
  Op op = kSyncwarp;  // what it waits in (kWarp), with which operands
  unsigned mask = 0;
  int width = 32;
  unsigned arg = 0;
  std::uint64_t value = 0, out = 0;
  int pred = 0, result = 0;  // barrier predicate, and what __syncthreads_count returns
  const char* file = "";     // where it waits
  int line = 0;
  WarpTask task = nullptr;   // the warp task it waits in (op kWmma*)
  std::vector<AsyncCopy> copies;  // cuda_pipeline.h: issued, not yet completed
  unsigned batch = 0;             // the batch that __pipeline_commit() closes next
  void* fake_stack = nullptr;  // AddressSanitizer's bookkeeping for this stack
#if REDNET_EMU_USE_UCONTEXT
  ucontext_t context;
#endif
};

struct LaunchInfo {
  const char* name;
  void (*body)(void*);  // runs the kernel for the current threadIdx/blockIdx
  void* ctx;
  int mode, schedule;
  std::uint64_t seed;
};

// Raised in plain-loop mode, where no fiber can be abandoned instead.
struct Failure {};

struct Worker {
  std::vector<Fiber> fibers;  // stacks are kept from launch to launch
  std::vector<int> queue;     // fibers to run, in schedule order
  std::size_t head = 0;
  void* sched_sp = nullptr;
  void* dead_sp = nullptr;  // where a fiber that never resumes saves its stack pointer
  Fiber* current = nullptr;
  const LaunchInfo* launch = nullptr;
  int threads = 0;
  std::vector<unsigned> warp_waiting;  // per warp: the lanes that wait in a collective
  std::vector<std::uint32_t> warp_gen;  // per warp: collectives completed (race check)
  std::uint32_t epoch = 0;              // barrier intervals begun by this worker (race check)
  int at_barrier = 0, exited = 0, votes = 0;  // this barrier interval's counts
  bool failed = false;
  char error[4096] = {};
  std::uint64_t rng = 0;  // the random schedule's state (splitmix64)
  unsigned char* dynamic_shared = nullptr;
  std::size_t dynamic_bytes = 0;
  const void* sched_stack = nullptr;  // AddressSanitizer: the worker thread's own stack
  std::size_t sched_stack_size = 0;
  void* sched_fake = nullptr;
#if REDNET_EMU_USE_UCONTEXT
  ucontext_t sched_context, dead_context;
#endif
#if defined(REDNET_EMU_RACECHECK)
  struct ShadowWord {  // the last write to a 2-byte unit of shared memory, and its readers
    std::uint32_t w_epoch, r_epoch;
    std::int32_t writer, reader, reader2;
    std::uint32_t w_gen, r_gen, r2_gen;
    const void *w_pc, *r_pc, *r2_pc;
  };
  bool race_on = false;
  std::uintptr_t tls_lo = 0, tls_hi = 0, dyn_lo = 0, dyn_hi = 0, module_base = 0;
  std::uintptr_t skip_lo[5] = {}, skip_hi[5] = {};  // the runtime's own thread_locals
  std::vector<ShadowWord> shadow_store;
  ShadowWord* shadow = nullptr;
  std::size_t shadow_words = 0;
  char race_message[1024] = {};
#endif
  ~Worker() {
    const std::size_t page = std::size_t(sysconf(_SC_PAGESIZE));
    for (Fiber& f : fibers)
      if (f.stack) munmap(f.stack - page, f.stack_size + page);
  }
};

static thread_local Worker* worker = nullptr;

// This launch's dynamic shared memory for the calling worker (`extern __shared__`
// declarations are rewritten to it).
static thread_local unsigned char* dynamic_shared = nullptr;

inline Worker& this_worker() {
  static thread_local Worker w;
  worker = &w;
#if defined(__SANITIZE_ADDRESS__)
  if (!w.sched_stack) {  // AddressSanitizer must be told the worker thread's stack
    pthread_attr_t attr;
    void* addr = nullptr;
    pthread_getattr_np(pthread_self(), &attr);
    pthread_attr_getstack(&attr, &addr, &w.sched_stack_size);
    pthread_attr_destroy(&attr);
    w.sched_stack = addr;
  }
#endif
  return w;
}

inline std::size_t stack_bytes() {
  static const std::size_t bytes = [] {
    std::size_t kib = 64;
#if defined(__SANITIZE_ADDRESS__)
    kib = 256;  // instrumented frames carry red zones
#endif
    if (const char* e = std::getenv("REDNET_EMU_STACK_KIB"))
      if (std::atol(e) > 0) kib = std::size_t(std::atol(e));
    const std::size_t page = std::size_t(sysconf(_SC_PAGESIZE));
    return (kib * 1024 + page - 1) / page * page;
  }();
  return bytes;
}

inline void asan_start_switch(void** fake, const void* bottom, std::size_t size) {
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_start_switch_fiber(fake, bottom, size);
#else
  (void)fake, (void)bottom, (void)size;
#endif
}
inline void asan_finish_switch(void* fake, const void** bottom, std::size_t* size) {
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_finish_switch_fiber(fake, bottom, size);
#else
  (void)fake, (void)bottom, (void)size;
#endif
}

// Scheduler -> fiber; returns when no fiber of the queue is left to run, or one failed.
inline void enter(Worker& w, Fiber& f) {
  w.current = &f;
  threadIdx = f.tid;
  asan_start_switch(&w.sched_fake, f.stack, f.stack_size);
#if REDNET_EMU_USE_UCONTEXT
  swapcontext(&w.sched_context, &f.context);
#else
  rednet_emu_swap(&w.sched_sp, f.sp);
#endif
  asan_finish_switch(w.sched_fake, nullptr, nullptr);
  w.current = nullptr;
}

// Fiber f stops (waits, or `final`: exits or fails, never to be resumed): switch straight to
// the next runnable fiber of the queue, or back to the scheduler when there is none. One
// switch per fiber and barrier, not two.
inline void leave(Worker& w, Fiber& f, bool final) {
  Fiber* next = nullptr;
  while (!w.failed && w.head < w.queue.size()) {
    Fiber& g = w.fibers[std::size_t(w.queue[w.head++])];
    if (g.state == kRun) {
      next = &g;
      break;
    }
  }
  void** fake = final ? nullptr : &f.fake_stack;
  if (next) {
    w.current = next;
    threadIdx = next->tid;
    asan_start_switch(fake, next->stack, next->stack_size);
#if REDNET_EMU_USE_UCONTEXT
    swapcontext(final ? &w.dead_context : &f.context, &next->context);
#else
    rednet_emu_swap(final ? &w.dead_sp : &f.sp, next->sp);
#endif
  } else {
    asan_start_switch(fake, w.sched_stack, w.sched_stack_size);
#if REDNET_EMU_USE_UCONTEXT
    swapcontext(final ? &w.dead_context : &f.context, &w.sched_context);
#else
    rednet_emu_swap(final ? &w.dead_sp : &f.sp, w.sched_sp);
#endif
  }
  asan_finish_switch(f.fake_stack, nullptr, nullptr);  // resumed, by whichever fiber
}

// A message under construction (no <string>: it would double the time to build a kernel).
struct Text {
  char s[4096];
  std::size_t n = 0;
  Text() { s[0] = '\0'; }
  __attribute__((format(printf, 2, 3))) Text& add(const char* format, ...) {
    va_list args;
    va_start(args, format);
    if (n < sizeof s) {
      const int k = std::vsnprintf(s + n, sizeof s - n, format, args);
      if (k > 0) n = n + std::size_t(k) < sizeof s ? n + std::size_t(k) : sizeof s - 1;
    }
    va_end(args);
    return *this;
  }
  // Items (sorted) as "0-15, 17, 20-31".
  Text& ranges(const int* items, std::size_t count) {
    for (std::size_t i = 0; i < count;) {
      std::size_t j = i;
      while (j + 1 < count && items[j + 1] == items[j] + 1) ++j;
      add(i ? ", " : "");
      if (j == i) add("%d", items[i]);
      else add("%d-%d", items[i], items[j]);
      i = j + 1;
    }
    return *this;
  }
  Text& block(const Worker& w) {
    return add("%s: block (%u, %u, %u)", w.launch->name, blockIdx.x, blockIdx.y, blockIdx.z);
  }
};

// ---- race check (REDNET_EMU_RACECHECK) ---------------------------------------------------
// Built with `-fsanitize=thread`, g++ puts a call to __tsan_readN / __tsan_writeN before
// every memory access of the kernel; the emulator defines those functions itself (no
// ThreadSanitizer runtime is linked). Each access to shared memory (this library's
// thread_local block, where the __shared__ arrays live, and the dynamic shared buffer) is
// checked against a shadow word per 2 bytes (so that threads writing neighbouring halves of
// a word, as __half arrays have, do not race): the last writer and up to two readers in the
// current barrier interval. A write and another thread's read or write of the same word in
// one interval, with no __syncthreads() between them, is a race (two lanes of one warp are
// ordered by a warp collective completed between their accesses). The first race ends the
// launch; its message carries placeholders {pc:0x...} (code offsets) and {tls:0x...}
// (thread_local offsets) that emulator.py turns into source lines and array names.
#if defined(REDNET_EMU_RACECHECK)
#define REDNET_NO_TSAN __attribute__((no_sanitize_thread))

REDNET_NO_TSAN inline void race_where(const Worker& w, std::uintptr_t a, char* out,
                                      std::size_t len) {
  if (a >= w.dyn_lo && a < w.dyn_hi)
    std::snprintf(out, len, "dynamic shared memory (extern __shared__), byte offset %lu",
                  static_cast<unsigned long>(a - w.dyn_lo));
  else std::snprintf(out, len, "{tls:0x%lx}", static_cast<unsigned long>(a - w.tls_lo));
}

REDNET_NO_TSAN inline void race_report(Worker& w, std::uintptr_t a, const char* first_kind,
                                       int first, const void* first_pc, const char* second_kind,
                                       int second, const void* second_pc) {
  if (w.failed) return;
  char where[160];
  race_where(w, a, where, sizeof where);
  std::snprintf(w.race_message, sizeof w.race_message,
                "%s: race on shared memory in block (%u, %u, %u): %s was %s by thread %d "
                "(warp %d, lane %d) at {pc:0x%lx} and %s by thread %d (warp %d, lane %d) at "
                "{pc:0x%lx} in the same barrier interval (no __syncthreads() between them)",
                w.launch->name, blockIdx.x, blockIdx.y, blockIdx.z, where, first_kind, first,
                first / 32, first % 32,
                static_cast<unsigned long>(std::uintptr_t(first_pc) - w.module_base - 1),
                second_kind, second, second / 32, second % 32,
                static_cast<unsigned long>(std::uintptr_t(second_pc) - w.module_base - 1));
  w.failed = true;  // the scheduler stops the block at the next switch
}

// thread_locals that are not shared memory although they lie beside it: the guard variables
// g++ gives a `__shared__` array whose element type has a constructor (such as __half). Set
// by the loader from the library's symbol table (offsets into the thread_local block).
static std::uintptr_t tls_ignored_lo[16], tls_ignored_hi[16];
static int tls_ignored = 0;
extern "C" __attribute__((visibility("default"))) REDNET_NO_TSAN void rednet_emu_ignore_tls(
    const unsigned long* offsets, const unsigned long* sizes, int n) {
  tls_ignored = n < 16 ? n : 16;
  for (int i = 0; i < tls_ignored; ++i)
    tls_ignored_lo[i] = offsets[i], tls_ignored_hi[i] = offsets[i] + sizes[i];
}

// ---- global memory: the kernel's pointer arguments (their ranges set by emulator.py) ----
// Blocks have no barrier between them, so an element written by one block and read or
// written by another in the same launch is a race whatever the order; within a block the
// rules of shared memory apply. One shadow entry per 2 bytes of each argument, shared by the
// workers, each entry guarded by one of a set of spin locks. An entry remembers the last
// writer and one reader (the first reader from another block is kept), so a race between
// two readers' blocks and a later writer may go unseen; what is reported is always a race.
struct GlobalWord {
  std::int64_t w_block, r_block;  // linear block index, -1: none yet
  std::int32_t writer, reader;
  std::uint32_t w_epoch, r_epoch, w_gen, r_gen;
  const void *w_pc, *r_pc;
};
static constexpr int kGlobalArgs = 32;
static std::uintptr_t global_lo[kGlobalArgs], global_hi[kGlobalArgs];
static std::size_t global_base[kGlobalArgs];  // first shadow entry of each argument
static int global_args = 0;
static std::vector<GlobalWord> global_shadow;
static std::atomic_flag global_locks[4096];
static constexpr std::size_t kGlobalLimit = std::size_t(1) << 28;  // bytes of arguments checked

// Set before each launch: the byte ranges of the pointer arguments (argument i at index i;
// an empty range for the others). Above kGlobalLimit bytes in all, global memory is not
// checked (the shadow would take 24 times the memory).
extern "C" __attribute__((visibility("default"))) REDNET_NO_TSAN void rednet_race_globals(
    const unsigned long long* ranges, int n) {
  std::size_t total = 0;
  global_args = n < kGlobalArgs ? n : kGlobalArgs;
  for (int i = 0; i < global_args; ++i) {
    global_lo[i] = std::uintptr_t(ranges[2 * i]), global_hi[i] = std::uintptr_t(ranges[2 * i + 1]);
    global_base[i] = total / 2;
    total += (global_hi[i] - global_lo[i] + 1) & ~std::size_t(1);
  }
  if (total > kGlobalLimit) {
    global_args = 0;
    total = 0;
  }
  global_shadow.assign(total / 2, GlobalWord{-1, -1, 0, 0, 0, 0, 0, 0, nullptr, nullptr});
}

REDNET_NO_TSAN inline void global_report(Worker& w, int arg, std::uintptr_t a,
                                         const char* first_kind, std::int64_t first_block,
                                         int first, const void* first_pc,
                                         const char* second_kind, int second,
                                         const void* second_pc) {
  if (w.failed) return;
  const std::uint64_t gx = gridDim.x, gy = gridDim.y;
  const std::uint64_t fb = std::uint64_t(first_block);
  std::snprintf(w.race_message, sizeof w.race_message,
                "%s: race on global memory: {arg:%d}, byte offset %lu, was %s by block (%lu, "
                "%lu, %lu) thread %d at {pc:0x%lx} and %s by block (%u, %u, %u) thread %d at "
                "{pc:0x%lx} %s",
                w.launch->name, arg, static_cast<unsigned long>(a - global_lo[arg]), first_kind,
                static_cast<unsigned long>(fb % gx), static_cast<unsigned long>(fb / gx % gy),
                static_cast<unsigned long>(fb / (gx * gy)), first,
                static_cast<unsigned long>(std::uintptr_t(first_pc) - w.module_base - 1),
                second_kind, blockIdx.x, blockIdx.y, blockIdx.z, second,
                static_cast<unsigned long>(std::uintptr_t(second_pc) - w.module_base - 1),
                std::int64_t(fb) == std::int64_t(blockIdx.x + gx * (blockIdx.y + gy * blockIdx.z))
                    ? "in the same barrier interval (no __syncthreads() between them)"
                    : "(blocks are not ordered within a launch)");
  w.failed = true;
}

REDNET_NO_TSAN inline void global_access(Worker& w, int arg, std::uintptr_t a, unsigned size,
                                         bool write, const void* pc) {
  const int t = int(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
  const std::int64_t block = std::int64_t(blockIdx.x) +
      std::int64_t(gridDim.x) * (blockIdx.y + std::int64_t(gridDim.y) * blockIdx.z);
  const std::uint32_t e = w.epoch, gen = w.warp_gen[std::size_t(t / 32)];
  auto unordered = [&](std::int64_t other_block, int other, std::uint32_t other_epoch,
                       std::uint32_t other_gen) REDNET_NO_TSAN {
    if (other_block != block) return true;
    return other_epoch == e && other != t && (other / 32 != t / 32 || other_gen == gen);
  };
  const std::size_t first = global_base[arg] + (a - global_lo[arg]) / 2;
  const std::size_t last = global_base[arg] + (a + size - 1 - global_lo[arg]) / 2;
  for (std::size_t i = first; i <= last && i < global_shadow.size(); ++i) {
    std::atomic_flag& lock = global_locks[i % 4096];
    while (lock.test_and_set(std::memory_order_acquire)) {
    }
    GlobalWord& s = global_shadow[i];
    bool raced = false;
    if (s.w_block >= 0 && unordered(s.w_block, s.writer, s.w_epoch, s.w_gen)) {
      global_report(w, arg, a, "written", s.w_block, s.writer, s.w_pc,
                    write ? "written" : "read", t, pc);
      raced = true;
    } else if (write && s.r_block >= 0 && unordered(s.r_block, s.reader, s.r_epoch, s.r_gen)) {
      global_report(w, arg, a, "read", s.r_block, s.reader, s.r_pc, "written", t, pc);
      raced = true;
    } else if (write) {
      s.w_block = block, s.writer = t, s.w_epoch = e, s.w_gen = gen, s.w_pc = pc;
    } else if (s.r_block < 0 || s.r_block == block) {
      s.r_block = block, s.reader = t, s.r_epoch = e, s.r_gen = gen, s.r_pc = pc;
    }
    lock.clear(std::memory_order_release);
    if (raced) return;
  }
}

REDNET_NO_TSAN inline void race_access(const void* p, unsigned size, bool write,
                                       const void* pc) {
  Worker* wp = worker;
  if (wp == nullptr || !wp->race_on) return;
  Worker& w = *wp;
  const std::uintptr_t a = std::uintptr_t(p);
  for (int k = 0; k < global_args; ++k)
    if (a >= global_lo[k] && a < global_hi[k]) return global_access(w, k, a, size, write, pc);
  std::size_t index;
  if (a >= w.tls_lo && a < w.tls_hi) {
    for (int k = 0; k < 5; ++k)
      if (a >= w.skip_lo[k] && a < w.skip_hi[k]) return;
    for (int k = 0; k < tls_ignored; ++k)
      if (a - w.tls_lo >= tls_ignored_lo[k] && a - w.tls_lo < tls_ignored_hi[k]) return;
    index = (a - w.tls_lo) / 2;
  } else if (a >= w.dyn_lo && a < w.dyn_hi) {
    index = (w.tls_hi - w.tls_lo + 1) / 2 + (a - w.dyn_lo) / 2;
  } else {
    return;
  }
  const int t = int(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
  const std::uint32_t e = w.epoch, gen = w.warp_gen[std::size_t(t / 32)];
  // Another thread's access is ordered with ours if it is in our warp and a collective of
  // the warp completed since.
  auto unordered = [&](int other, std::uint32_t other_gen) REDNET_NO_TSAN {
    return other != t && (other / 32 != t / 32 || other_gen == gen);
  };
  const std::size_t words = (a + size - 1) / 2 - a / 2 + 1;
  for (std::size_t i = 0; i < words && index + i < w.shadow_words; ++i) {
    Worker::ShadowWord& s = w.shadow[index + i];
    if (write) {
      if (s.w_epoch == e && unordered(s.writer, s.w_gen))
        return race_report(w, a, "written", s.writer, s.w_pc, "written", t, pc);
      if (s.r_epoch == e && unordered(s.reader, s.r_gen))
        return race_report(w, a, "read", s.reader, s.r_pc, "written", t, pc);
      if (s.r_epoch == e && s.reader2 >= 0 && unordered(s.reader2, s.r2_gen))
        return race_report(w, a, "read", s.reader2, s.r2_pc, "written", t, pc);
      s.w_epoch = e, s.writer = t, s.w_gen = gen, s.w_pc = pc;
    } else {
      if (s.w_epoch == e && unordered(s.writer, s.w_gen))
        return race_report(w, a, "written", s.writer, s.w_pc, "read", t, pc);
      if (s.r_epoch != e) {
        s.r_epoch = e, s.reader = t, s.r_gen = gen, s.r_pc = pc, s.reader2 = -1;
      } else if (s.reader != t && s.reader2 < 0) {
        s.reader2 = t, s.r2_gen = gen, s.r2_pc = pc;
      }
    }
  }
}

REDNET_NO_TSAN inline int find_tls(dl_phdr_info* info, std::size_t, void* data) {
  Worker& w = *static_cast<Worker*>(data);
  if (info->dlpi_addr != w.module_base) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i)
    if (info->dlpi_phdr[i].p_type == PT_TLS && info->dlpi_tls_data) {
      w.tls_lo = std::uintptr_t(info->dlpi_tls_data);
      w.tls_hi = w.tls_lo + info->dlpi_phdr[i].p_memsz;
    }
  return 1;
}

// Per worker and launch: where this worker's shared memory lies, and a shadow for it.
REDNET_NO_TSAN inline void race_setup(Worker& w, std::size_t shared_bytes) {
  Dl_info info;
  dladdr(reinterpret_cast<void*>(&find_tls), &info);
  w.module_base = std::uintptr_t(info.dli_fbase);
  w.tls_lo = w.tls_hi = 0;
  dl_iterate_phdr(find_tls, &w);
  w.dyn_lo = std::uintptr_t(w.dynamic_shared);
  w.dyn_hi = w.dyn_lo + shared_bytes;
  const void* own[5] = {&threadIdx, &blockIdx, &worker, &dynamic_shared, &w};
  const std::size_t sizes[5] = {sizeof threadIdx, sizeof blockIdx, sizeof worker,
                                sizeof dynamic_shared, sizeof w};
  for (int k = 0; k < 5; ++k) {
    w.skip_lo[k] = std::uintptr_t(own[k]);
    w.skip_hi[k] = w.skip_lo[k] + sizes[k];
  }
  w.shadow_words = (w.tls_hi - w.tls_lo + 1) / 2 + (shared_bytes + 1) / 2;
  if (w.shadow_store.size() < w.shadow_words) w.shadow_store.resize(w.shadow_words);
  w.shadow = w.shadow_store.data();
  w.race_message[0] = '\0';
}

#define REDNET_TSAN_ACCESS(N)                                                               \
  extern "C" REDNET_NO_TSAN void __tsan_read##N(void* p) {                                  \
    rednet_emu::race_access(p, N, false, __builtin_return_address(0));                     \
  }                                                                                         \
  extern "C" REDNET_NO_TSAN void __tsan_write##N(void* p) {                                 \
    rednet_emu::race_access(p, N, true, __builtin_return_address(0));                      \
  }                                                                                         \
  extern "C" REDNET_NO_TSAN void __tsan_unaligned_read##N(void* p) {                        \
    rednet_emu::race_access(p, N, false, __builtin_return_address(0));                     \
  }                                                                                         \
  extern "C" REDNET_NO_TSAN void __tsan_unaligned_write##N(void* p) {                       \
    rednet_emu::race_access(p, N, true, __builtin_return_address(0));                      \
  }
REDNET_TSAN_ACCESS(1)
REDNET_TSAN_ACCESS(2)
REDNET_TSAN_ACCESS(4)
REDNET_TSAN_ACCESS(8)
REDNET_TSAN_ACCESS(16)
#undef REDNET_TSAN_ACCESS
extern "C" REDNET_NO_TSAN void __tsan_read_range(void* p, unsigned long size) {
  rednet_emu::race_access(p, unsigned(size), false, __builtin_return_address(0));
}
extern "C" REDNET_NO_TSAN void __tsan_write_range(void* p, unsigned long size) {
  rednet_emu::race_access(p, unsigned(size), true, __builtin_return_address(0));
}
extern "C" REDNET_NO_TSAN void __tsan_init() {}
extern "C" REDNET_NO_TSAN void __tsan_func_entry(void*) {}
extern "C" REDNET_NO_TSAN void __tsan_func_exit() {}

// Atomics are checked by no one (they cannot race) and done for real.
#define REDNET_TSAN_ATOMICS(N, T)                                                            \
  extern "C" REDNET_NO_TSAN T __tsan_atomic##N##_load(const volatile void* a, int) {         \
    return __atomic_load_n(static_cast<const volatile T*>(a), __ATOMIC_SEQ_CST);            \
  }                                                                                          \
  extern "C" REDNET_NO_TSAN void __tsan_atomic##N##_store(volatile void* a, T v, int) {      \
    __atomic_store_n(static_cast<volatile T*>(a), v, __ATOMIC_SEQ_CST);                     \
  }                                                                                          \
  REDNET_TSAN_RMW(N, T, exchange, __atomic_exchange_n)                                       \
  REDNET_TSAN_RMW(N, T, fetch_add, __atomic_fetch_add)                                       \
  REDNET_TSAN_RMW(N, T, fetch_sub, __atomic_fetch_sub)                                       \
  REDNET_TSAN_RMW(N, T, fetch_and, __atomic_fetch_and)                                       \
  REDNET_TSAN_RMW(N, T, fetch_or, __atomic_fetch_or)                                         \
  REDNET_TSAN_RMW(N, T, fetch_xor, __atomic_fetch_xor)                                       \
  REDNET_TSAN_RMW(N, T, fetch_nand, __atomic_fetch_nand)                                     \
  extern "C" REDNET_NO_TSAN bool __tsan_atomic##N##_compare_exchange_strong(                 \
      volatile void* a, void* c, T v, int, int) {                                            \
    return __atomic_compare_exchange_n(static_cast<volatile T*>(a), static_cast<T*>(c), v,   \
                                       false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);           \
  }                                                                                          \
  extern "C" REDNET_NO_TSAN bool __tsan_atomic##N##_compare_exchange_weak(                   \
      volatile void* a, void* c, T v, int, int) {                                            \
    return __atomic_compare_exchange_n(static_cast<volatile T*>(a), static_cast<T*>(c), v,   \
                                       false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);           \
  }                                                                                          \
  extern "C" REDNET_NO_TSAN T __tsan_atomic##N##_compare_exchange_val(volatile void* a, T c, \
                                                                      T v, int, int) {       \
    __atomic_compare_exchange_n(static_cast<volatile T*>(a), &c, v, false, __ATOMIC_SEQ_CST,  \
                                __ATOMIC_SEQ_CST);                                           \
    return c;                                                                                \
  }
#define REDNET_TSAN_RMW(N, T, op, builtin)                                                  \
  extern "C" REDNET_NO_TSAN T __tsan_atomic##N##_##op(volatile void* a, T v, int) {          \
    return builtin(static_cast<volatile T*>(a), v, __ATOMIC_SEQ_CST);                       \
  }
REDNET_TSAN_ATOMICS(8, unsigned char)
REDNET_TSAN_ATOMICS(16, unsigned short)
REDNET_TSAN_ATOMICS(32, unsigned int)
REDNET_TSAN_ATOMICS(64, unsigned long)
#undef REDNET_TSAN_ATOMICS
#undef REDNET_TSAN_RMW
extern "C" REDNET_NO_TSAN void __tsan_atomic_thread_fence(int) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
extern "C" REDNET_NO_TSAN void __tsan_atomic_signal_fence(int) {}
#endif  // REDNET_EMU_RACECHECK

#if defined(REDNET_EMU_PROFILE)  // the memory-traffic profile, a separate build
}  // namespace rednet_emu
#include "cuda_emu_profile.h"
namespace rednet_emu {
#endif

// Ends the launch with `message`. In a fiber, the fiber is abandoned (its stack is reused by
// the next launch); in plain-loop mode the C++ exception unwinds to the launch.
[[noreturn]] inline void fail(Worker& w, const char* message) {
  w.failed = true;
  std::snprintf(w.error, sizeof w.error, "%s", message);
  if (w.current == nullptr) throw Failure{};
  Fiber& f = *w.current;
  f.state = kDone;
  leave(w, f, true);
  __builtin_unreachable();
}

[[noreturn]] inline void fail_no_fibers(Worker& w, const char* what, const char* file,
                                        int line) {
  Text t;
  t.block(w).add(": %s at %s:%d in a kernel file run in plain-loop mode (the loader saw no "
                 "barrier or warp intrinsic in its text; name the intrinsic directly rather "
                 "than through a macro that builds its name)",
                 what, file, line);
  fail(w, t.s);
}

inline std::uint64_t shuffle_result(const Worker& w, int base, unsigned part, const Fiber& g) {
  const int lane = g.index - base;
  const int segmask = 32 - g.width;  // the bits of a lane id that name its width segment
  const int min_lane = lane & segmask;
  const std::int64_t max_lane = min_lane | (31 & ~segmask);
  std::int64_t j = lane;
  bool in_range = true;
  switch (g.op) {
    case kShfl: j = min_lane | (g.arg & unsigned(31 & ~segmask)); break;
    case kShflUp: j = std::int64_t(lane) - std::int64_t(g.arg); in_range = j >= min_lane; break;
    case kShflDown: j = std::int64_t(lane) + std::int64_t(g.arg); in_range = j <= max_lane; break;
    case kShflXor: j = std::int64_t(unsigned(lane) ^ g.arg); in_range = j <= max_lane; break;
    default: break;
  }
  if (!in_range) j = lane;  // outside the segment: the caller's own value, as on a GPU
  if (!((part >> j) & 1u)) return ~std::uint64_t(0);  // an absent lane: undefined on a GPU
  return w.fibers[std::size_t(base + j)].value;
}

// A tensor-core operation reached by only some lanes of a warp (the others exited, or the
// warp is cut short by the block size): a GPU requires all 32.
[[noreturn]] inline void report_partial_warp_task(Worker& w, int base, unsigned part, Op op) {
  const Fiber& f = w.fibers[std::size_t(base + __builtin_ctz(part))];
  int present[32], absent[32], n = 0, m = 0;
  for (int l = 0; l < 32; ++l) ((part >> l) & 1u ? present[n++] : absent[m++]) = l;
  Text t;
  t.block(w).add(", warp %d: %s at %s:%d is reached by lanes ", base / 32, op_name(op), f.file,
                 f.line).ranges(present, std::size_t(n));
  t.add(" only; lanes ").ranges(absent, std::size_t(m));
  t.add(base + 32 > w.threads ? " do not exist (the block's size is not a multiple of 32)"
                              : " have exited");
  t.add(" (a tensor-core operation needs all 32 lanes of the warp)");
  fail(w, t.s);
}

// The lanes named in `mask` of the warp starting at thread `base`: if every one that has not
// exited waits in `op` with this mask, compute all their results and make them runnable.
inline bool try_complete(Worker& w, int base, unsigned mask, Op op) {
  unsigned part = 0;
  WarpTask task = nullptr;
  for (int l = 0; l < 32; ++l) {
    if (!((mask >> l) & 1u) || base + l >= w.threads) continue;
    const Fiber& g = w.fibers[std::size_t(base + l)];
    if (g.state == kDone) continue;
    if (g.state != kWarp || g.op != op || g.mask != mask) return false;
    if (op >= kWmmaLoad) {
      if (task && g.task != task) return false;  // the same call with other fragment types
      task = g.task;
    }
    part |= 1u << l;
  }
  if (op >= kWmmaLoad) {
    if (part != 0xffffffffu) report_partial_warp_task(w, base, part, op);
    task(w, base);
  }
  unsigned votes = 0;
  for (int l = 0; l < 32; ++l)
    if ((part >> l) & 1u && w.fibers[std::size_t(base + l)].value != 0) votes |= 1u << l;
  for (int l = 0; l < 32; ++l) {
    if (!((part >> l) & 1u)) continue;
    Fiber& g = w.fibers[std::size_t(base + l)];
    switch (op) {
      case kSyncwarp: g.out = 0; break;
      case kBallot: g.out = votes; break;
      case kAny: g.out = votes != 0; break;
      case kAll: g.out = votes == part; break;
      default: g.out = shuffle_result(w, base, part, g); break;
    }
  }
  for (int l = 0; l < 32; ++l) {
    if (!((part >> l) & 1u)) continue;
    Fiber& g = w.fibers[std::size_t(base + l)];
    g.state = kRun;
    if (&g != w.current) w.queue.push_back(base + l);
  }
  w.warp_waiting[std::size_t(base / 32)] &= ~part;
  ++w.warp_gen[std::size_t(base / 32)];
  return true;
}

inline std::uint64_t collective(Op op, unsigned mask, std::uint64_t value, unsigned arg,
                                int width, const char* file, int line) {
  Worker& w = *worker;
  if (w.launch->mode != kFibers) fail_no_fibers(w, op_name(op), file, line);
  Fiber& f = *w.current;
  const int lane = f.index & 31;
  if (!((mask >> lane) & 1u)) {
    Text t;
    t.block(w).add(", warp %d, lane %d (thread %d): %s(mask 0x%08x) at %s:%d leaves the "
                   "calling lane out of its mask (every lane must name itself)",
                   f.index / 32, lane, f.index, op_name(op), mask, file, line);
    fail(w, t.s);
  }
  if (width < 1 || width > 32 || (width & (width - 1))) {
    Text t;
    t.block(w).add(", warp %d, lane %d: %s(width %d) at %s:%d: width must be a power of two "
                   "from 1 to 32",
                   f.index / 32, lane, op_name(op), width, file, line);
    fail(w, t.s);
  }
  f.op = op, f.mask = mask, f.value = value, f.arg = arg, f.width = width;
  f.file = file, f.line = line;
  f.state = kWarp;
  w.warp_waiting[std::size_t(f.index / 32)] |= 1u << lane;
  if (!try_complete(w, f.index - lane, mask, op)) leave(w, f, false);
  return f.out;
}

// A tensor-core operation: every lane of the warp calls it with its own operands (`call`,
// on its stack); the last to arrive runs `task` for all 32 while the others wait.
inline void warp_task(Op op, WarpTask task, void* call, const char* file, int line) {
  Worker& w = *worker;
  if (w.launch->mode != kFibers) fail_no_fibers(w, op_name(op), file, line);
  w.current->task = task;
  collective(op, 0xffffffffu, std::uint64_t(std::uintptr_t(call)), 0, 32, file, line);
}

inline int barrier(int pred, const char* file, int line) {
  Worker& w = *worker;
  if (w.launch->mode != kFibers) fail_no_fibers(w, "__syncthreads()", file, line);
  Fiber& f = *w.current;
  f.pred = pred != 0, f.file = file, f.line = line;
  f.state = kBarrier;
  ++w.at_barrier;
  w.votes += f.pred;
  leave(w, f, false);
  return f.result;
}

// A fiber's first and only frame below the entry code.
inline void fiber_main(Worker* wp) {
  Worker& w = *wp;
  asan_finish_switch(nullptr, nullptr, nullptr);
  Fiber& f = *w.current;
  w.launch->body(w.launch->ctx);
  f.state = kDone;
  ++w.exited;
  // Lanes waiting for this one in a collective no longer do.
  const int lane = f.index & 31, base = f.index - lane;
  for (unsigned waiting = w.warp_waiting[std::size_t(base / 32)]; waiting;
       waiting &= waiting - 1) {
    const Fiber& g = w.fibers[std::size_t(base + __builtin_ctz(waiting))];
    if (g.state == kWarp && ((g.mask >> lane) & 1u)) try_complete(w, base, g.mask, g.op);
  }
  leave(w, f, true);
  __builtin_unreachable();
}

#if REDNET_EMU_USE_UCONTEXT
inline void fiber_main_ucontext() { fiber_main(worker); }
#endif

inline void prepare(Worker& w, Fiber& f) {
#if defined(__SANITIZE_ADDRESS__)
  // An abandoned or finished fiber leaves its frames' red zones poisoned on the stack.
  __asan_unpoison_memory_region(f.stack, f.stack_size);
#endif
#if REDNET_EMU_USE_UCONTEXT
  getcontext(&f.context);
  f.context.uc_stack.ss_sp = f.stack;
  f.context.uc_stack.ss_size = f.stack_size;
  f.context.uc_link = nullptr;
  makecontext(&f.context, fiber_main_ucontext, 0);
  (void)w;
#else
  // Stack tops staggered by a few cache lines per fiber: at the same page offset, the hot
  // top frames of hundreds of fibers would all fall into the same cache sets.
  const std::uintptr_t color = std::uintptr_t(f.index % 64) * 320 % 4096;
  const std::uintptr_t top =
      (std::uintptr_t(f.stack) + f.stack_size - color) & ~std::uintptr_t(15);
  void** sp = reinterpret_cast<void**>(top - 56);  // entry code starts with rsp % 16 == 0
  sp[0] = sp[1] = nullptr;                                            // r15, r14
  sp[2] = reinterpret_cast<void*>(&fiber_main);                       // r13
  sp[3] = &w;                                                         // r12
  sp[4] = sp[5] = nullptr;                                            // rbx, rbp
  sp[6] = reinterpret_cast<void*>(&rednet_emu_fiber_entry);           // return address
  f.sp = sp;
#endif
}

inline bool grow(Worker& w, int n) {
  const std::size_t page = std::size_t(sysconf(_SC_PAGESIZE)), size = stack_bytes();
  while (int(w.fibers.size()) < n) {
    void* base = mmap(nullptr, size + page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) return false;
    mprotect(base, page, PROT_NONE);  // the guard page: a stack overflow faults at once
    w.fibers.emplace_back();
    w.fibers.back().stack = static_cast<unsigned char*>(base) + page;
    w.fibers.back().stack_size = size;
  }
  return true;
}

inline void describe_wait(Text& t, const Fiber& g) {
  if (g.state == kBarrier) t.add("wait at __syncthreads() at %s:%d", g.file, g.line);
  else t.add("wait in %s(mask 0x%08x) at %s:%d", op_name(g.op), g.mask, g.file, g.line);
}

inline bool same_wait(const Fiber& a, const Fiber& b) {
  return a.state == b.state && a.line == b.line && std::strcmp(a.file, b.file) == 0 &&
         (a.state == kBarrier || (a.op == b.op && a.mask == b.mask));
}

// No fiber can run, and some wait in a warp collective: name them and what holds them up.
inline void report_stuck_warp(Worker& w) {
  const Fiber* first = nullptr;
  for (int i = 0; i < w.threads && !first; ++i)
    if (w.fibers[std::size_t(i)].state == kWarp) first = &w.fibers[std::size_t(i)];
  const int base = first->index & ~31;
  int waiting[32], n_waiting = 0;
  unsigned absent = 0;  // named lanes that wait somewhere else
  for (int l = 0; l < 32 && base + l < w.threads; ++l) {
    const Fiber& g = w.fibers[std::size_t(base + l)];
    if (!((first->mask >> l) & 1u) || g.state == kDone) continue;
    if (g.state == kWarp && g.op == first->op && g.mask == first->mask) waiting[n_waiting++] = l;
    else absent |= 1u << l;
  }
  Text t;
  t.block(w).add(", warp %d: lanes ", base / 32).ranges(waiting, std::size_t(n_waiting));
  t.add(" ");
  describe_wait(t, *first);
  t.add(", but lanes named in the mask never arrive: ");
  for (bool next = false; absent; next = true) {  // one group per place they wait at
    const Fiber& g = w.fibers[std::size_t(base + __builtin_ctz(absent))];
    int group[32], n = 0;
    for (unsigned o = absent; o; o &= o - 1) {
      const int l = __builtin_ctz(o);
      if (same_wait(w.fibers[std::size_t(base + l)], g)) group[n++] = l;
    }
    for (int i = 0; i < n; ++i) absent &= ~(1u << group[i]);
    t.add(next ? "; lanes " : "lanes ").ranges(group, std::size_t(n)).add(" ");
    describe_wait(t, g);
  }
  t.add(" (a warp collective needs every named lane that has not exited)");
  fail(w, t.s);
}

inline void report_partial_barrier(Worker& w) {
  std::vector<int> exited, group;
  std::vector<char> told(std::size_t(w.threads), 0);
  Text t;
  t.block(w).add(": __syncthreads() reached by only some threads: ");
  bool next = false;
  for (int i = 0; i < w.threads; ++i) {
    const Fiber& g = w.fibers[std::size_t(i)];
    if (g.state == kDone) exited.push_back(i);
    if (g.state == kDone || told[std::size_t(i)]) continue;
    group.clear();
    for (int j = i; j < w.threads; ++j)
      if (!told[std::size_t(j)] && w.fibers[std::size_t(j)].state == kBarrier &&
          same_wait(w.fibers[std::size_t(j)], g)) {
        group.push_back(j);
        told[std::size_t(j)] = 1;
      }
    t.add(next ? "; threads " : "threads ").ranges(group.data(), group.size());
    t.add(" wait at %s:%d", g.file, g.line);
    next = true;
  }
  t.add("; threads ").ranges(exited.data(), exited.size());
  t.add(" exited without reaching it (every thread of a block must reach each "
        "__syncthreads(); warps are threads 32w to 32w+31)");
  fail(w, t.s);
}

// The schedule's order for the fibers in w.queue.
inline void permute(Worker& w) {
  const std::size_t n = w.queue.size();
  if (w.launch->schedule == kReverse) {
    for (std::size_t i = 0; i < n / 2; ++i) std::swap(w.queue[i], w.queue[n - 1 - i]);
  } else if (w.launch->schedule == kRandom) {
    for (std::size_t i = n; i > 1; --i) {  // Fisher-Yates with splitmix64
      std::uint64_t z = (w.rng += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      std::swap(w.queue[i - 1], w.queue[std::size_t(z % i)]);
    }
  }
}

inline void order_queue(Worker& w) {
  w.queue.clear();
  w.head = 0;
  for (int i = 0; i < w.threads; ++i)
    if (w.fibers[std::size_t(i)].state == kRun) w.queue.push_back(i);
  permute(w);
}

inline uint3 thread_index(int t) {
  const unsigned u = unsigned(t);
  return uint3{u % blockDim.x, (u / blockDim.x) % blockDim.y, u / (blockDim.x * blockDim.y)};
}

// __activemask() is answered once no fiber of the block can run any more: every lane of the
// warp has then exited or waits somewhere, and the lanes waiting in __activemask() at the same
// source line stand for the lanes a GPU would run there together. True if any were waiting.
inline bool answer_activemask(Worker& w) {
  bool any = false;
  for (std::size_t warp = 0; warp < w.warp_waiting.size(); ++warp) {
    const int base = int(warp) * 32;
    for (unsigned waiting = w.warp_waiting[warp]; waiting; waiting &= waiting - 1) {
      const Fiber& f = w.fibers[std::size_t(base + __builtin_ctz(waiting))];
      if (f.state != kWarp || f.op != kActive) continue;
      unsigned group = 0;
      for (unsigned o = waiting; o; o &= o - 1) {
        const Fiber& g = w.fibers[std::size_t(base + __builtin_ctz(o))];
        if (g.state == kWarp && g.op == kActive && g.line == f.line &&
            std::strcmp(g.file, f.file) == 0)
          group |= 1u << (g.index & 31);
      }
      for (unsigned o = group; o; o &= o - 1) {
        Fiber& g = w.fibers[std::size_t(base + __builtin_ctz(o))];
        g.out = group;
        g.state = kRun;
        w.queue.push_back(g.index);
      }
      w.warp_waiting[warp] &= ~group;
      any = true;
    }
  }
  return any;
}

// Runs the block blockIdx on fibers. False (with w.error) when it fails.
inline bool run_block_fibers(Worker& w) {
  for (int i = 0; i < w.threads; ++i) {
    Fiber& f = w.fibers[std::size_t(i)];
    f.index = i;
    f.tid = thread_index(i);
    f.state = kRun;
    f.copies.clear();
    f.batch = 0;
    prepare(w, f);
  }
  w.warp_waiting.assign(std::size_t((w.threads + 31) / 32), 0u);
  w.warp_gen.assign(w.warp_waiting.size(), 0u);
  w.exited = 0;
  for (;;) {
    order_queue(w);
    w.at_barrier = w.votes = 0;
    ++w.epoch;  // a new barrier interval
    do {
      while (w.head < w.queue.size()) {
        Fiber& f = w.fibers[std::size_t(w.queue[w.head++])];
        if (f.state != kRun) continue;
        enter(w, f);
        if (w.failed) return false;
      }
    } while (answer_activemask(w));
    const int at_barrier = w.at_barrier, done = w.exited, count = w.votes;
    if (at_barrier + done < w.threads) {
      // Reports switch to no fiber: w.current is null, so fail() throws.
      try {
        report_stuck_warp(w);
      } catch (const Failure&) {
      }
      return false;
    }
    if (at_barrier == 0) return true;
    if (done) {
      try {
        report_partial_barrier(w);
      } catch (const Failure&) {
      }
      return false;
    }
#if defined(REDNET_EMU_PROFILE)
    profile::barrier_released(w);
#endif
    for (int i = 0; i < w.threads; ++i) {
      Fiber& f = w.fibers[std::size_t(i)];
      f.result = count;
      f.state = kRun;
    }
  }
}

// Runs the block blockIdx as a loop over its threads (no barrier, no warp intrinsic).
inline bool run_block_loop(Worker& w) {
  ++w.epoch;
  w.warp_gen.assign(std::size_t((w.threads + 31) / 32), 0u);
  w.queue.clear();
  for (int i = 0; i < w.threads; ++i) w.queue.push_back(i);
  permute(w);
  try {
    for (int t : w.queue) {
      threadIdx = thread_index(t);
      w.launch->body(w.launch->ctx);
      if (w.failed) return false;  // the race check found a race
    }
  } catch (const Failure&) {
    return false;
  }
  return true;
}
}  // namespace rednet_emu

// ---- synchronisation ------------------------------------------------------------------
// The default arguments capture the caller's file and line, for the error messages.
inline void __syncthreads(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  rednet_emu::barrier(0, file, line);
}
inline int __syncthreads_count(int p, const char* file = __builtin_FILE(),
                               int line = __builtin_LINE()) {
  return rednet_emu::barrier(p, file, line);
}
inline int __syncthreads_and(int p, const char* file = __builtin_FILE(),
                             int line = __builtin_LINE()) {
  return rednet_emu::barrier(p, file, line) == int(blockDim.x * blockDim.y * blockDim.z);
}
inline int __syncthreads_or(int p, const char* file = __builtin_FILE(),
                            int line = __builtin_LINE()) {
  return rednet_emu::barrier(p, file, line) != 0;
}
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// ---- warp intrinsics --------------------------------------------------------------------
namespace rednet_emu {
template <class T>
inline std::uint64_t to_bits(T v) {
  static_assert(sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8,
                "a shuffled value has 2, 4 or 8 bytes");
  std::uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <class T>
inline T from_bits(std::uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof(T));
  return v;
}
}  // namespace rednet_emu

#define REDNET_SHUFFLES(T)                                                                 \
  inline T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize,            \
                       const char* file = __builtin_FILE(), int line = __builtin_LINE()) {  \
    return rednet_emu::from_bits<T>(rednet_emu::collective(                                \
        rednet_emu::kShfl, mask, rednet_emu::to_bits(var), unsigned(src_lane), width, file, \
        line));                                                                             \
  }                                                                                         \
  inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize,       \
                          const char* file = __builtin_FILE(), int line = __builtin_LINE()) { \
    return rednet_emu::from_bits<T>(rednet_emu::collective(                                \
        rednet_emu::kShflUp, mask, rednet_emu::to_bits(var), delta, width, file, line));    \
  }                                                                                         \
  inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize,     \
                            const char* file = __builtin_FILE(),                           \
                            int line = __builtin_LINE()) {                                  \
    return rednet_emu::from_bits<T>(rednet_emu::collective(                                \
        rednet_emu::kShflDown, mask, rednet_emu::to_bits(var), delta, width, file, line));  \
  }                                                                                         \
  inline T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize,       \
                           const char* file = __builtin_FILE(), int line = __builtin_LINE()) { \
    return rednet_emu::from_bits<T>(                                                        \
        rednet_emu::collective(rednet_emu::kShflXor, mask, rednet_emu::to_bits(var),        \
                               unsigned(lane_mask), width, file, line));                    \
  }
REDNET_SHUFFLES(int)
REDNET_SHUFFLES(unsigned int)
REDNET_SHUFFLES(long)
REDNET_SHUFFLES(unsigned long)
REDNET_SHUFFLES(long long)
REDNET_SHUFFLES(unsigned long long)
REDNET_SHUFFLES(float)
REDNET_SHUFFLES(double)
// REDNET_SHUFFLES stays defined: cuda_fp16.h and cuda_bf16.h add half and bfloat16 shuffles.

inline unsigned __ballot_sync(unsigned mask, int predicate, const char* file = __builtin_FILE(),
                              int line = __builtin_LINE()) {
  return unsigned(rednet_emu::collective(rednet_emu::kBallot, mask, predicate != 0, 0, 32, file,
                                         line));
}
inline int __any_sync(unsigned mask, int predicate, const char* file = __builtin_FILE(),
                      int line = __builtin_LINE()) {
  return int(rednet_emu::collective(rednet_emu::kAny, mask, predicate != 0, 0, 32, file, line));
}
inline int __all_sync(unsigned mask, int predicate, const char* file = __builtin_FILE(),
                      int line = __builtin_LINE()) {
  return int(rednet_emu::collective(rednet_emu::kAll, mask, predicate != 0, 0, 32, file, line));
}
inline void __syncwarp(unsigned mask = 0xffffffffu, const char* file = __builtin_FILE(),
                       int line = __builtin_LINE()) {
  rednet_emu::collective(rednet_emu::kSyncwarp, mask, 0, 0, 32, file, line);
}
inline unsigned __activemask(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  rednet_emu::Worker& w = *rednet_emu::worker;
  if (w.launch->mode != rednet_emu::kFibers)
    rednet_emu::fail_no_fibers(w, "__activemask()", file, line);
  rednet_emu::Fiber& f = *w.current;
  f.op = rednet_emu::kActive, f.mask = 0, f.file = file, f.line = line;
  f.state = rednet_emu::kWarp;
  w.warp_waiting[std::size_t(f.index / 32)] |= 1u << (f.index & 31);
  rednet_emu::leave(w, f, false);  // answered when the whole block waits (see run_block_fibers)
  return unsigned(f.out);
}

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

// ---- launch ------------------------------------------------------------------------------
namespace rednet_emu {
template <class... P>
struct Call {
  void (*kernel)(P...);
  void** args;
};

// Read args[i] as the kernel's i-th parameter type: the compiler fixes each width (an `int`
// is read as 4 bytes, a pointer as 8), so no signature parser is trusted with it.
template <class... P, std::size_t... I>
inline void invoke(void (*kernel)(P...), void** args, std::index_sequence<I...>) {
  kernel(*static_cast<std::remove_cv_t<P>*>(args[I])...);
  (void)args;
}

template <class... P>
void body(void* ctx) {
  const auto* call = static_cast<const Call<P...>*>(ctx);
  invoke(call->kernel, call->args, std::index_sequence_for<P...>{});
}

// The random schedule's seed for one block: the same whichever worker runs the block.
inline std::uint64_t block_seed(std::uint64_t seed, std::uint64_t block) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (block + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Runs kernel<<<grid, block, shared_bytes>>>(args...) with `mode` (kLoop, kFibers) and
// `schedule` (kForward, kReverse, kRandom with `seed`). Returns 0, or 1 with a message in err.
template <class... P>
int launch(void (*kernel)(P...), const char* name, unsigned gx, unsigned gy, unsigned gz,
           unsigned bx, unsigned by, unsigned bz, std::size_t shared_bytes, void** args,
           int mode, int schedule, unsigned long long seed, unsigned long long layout_seed,
           char* err, std::size_t err_len) {
  const int threads = int(bx * by * bz);
  fragment_seed = layout_seed;
  gridDim = dim3(gx, gy, gz);
  blockDim = dim3(bx, by, bz);
  Call<P...> call{kernel, args};
  const LaunchInfo info{name, &body<P...>, &call, mode, schedule, seed};
  const std::uint64_t blocks = std::uint64_t(gx) * gy * gz;
  const std::uint64_t cores = std::uint64_t(omp_get_max_threads());
  const int workers = int(cores < blocks ? cores : blocks);
  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> failed{false};
  char error[4096] = {};
#pragma omp parallel num_threads(workers)
  {
    Worker& w = this_worker();
    w.launch = &info;
    w.threads = threads;
    w.failed = false;
    w.error[0] = '\0';
    bool ok = true;
    if (mode == kFibers && !grow(w, threads)) {
      ok = false;
      std::snprintf(w.error, sizeof w.error, "%s: could not map the fibers' stacks (mmap "
                    "failed; is REDNET_EMU_STACK_KIB too large?)", name);
    }
    // Exactly shared_bytes long (AddressSanitizer then sees an overrun), 16-byte aligned as
    // CUDA guarantees, and NaN-filled per block so that reading before writing is visible.
    w.dynamic_shared = static_cast<unsigned char*>(
        ::operator new[](shared_bytes ? shared_bytes : 1, std::align_val_t(16)));
    dynamic_shared = w.dynamic_shared;
#if defined(REDNET_EMU_RACECHECK)
    race_setup(w, shared_bytes);
    w.race_on = true;
#endif
#if defined(REDNET_EMU_PROFILE)
    profile::setup(w, shared_bytes);
#endif
    while (ok && !failed.load(std::memory_order_relaxed)) {
      const std::uint64_t b = next.fetch_add(1);
      if (b >= blocks) break;
      blockIdx = uint3{unsigned(b % gx), unsigned((b / gx) % gy),
                       unsigned(b / (std::uint64_t(gx) * gy))};
      std::memset(w.dynamic_shared, 0xFF, shared_bytes);
      if (schedule == kRandom) w.rng = block_seed(seed, b);
      ok = mode == kFibers ? run_block_fibers(w) : run_block_loop(w);
#if defined(REDNET_EMU_PROFILE)
      profile::block_end(w);
#endif
    }
#if defined(REDNET_EMU_PROFILE)
    profile::worker_end(w);
#endif
#if defined(REDNET_EMU_RACECHECK)
    w.race_on = false;
    if (!ok && w.race_message[0]) std::snprintf(w.error, sizeof w.error, "%s", w.race_message);
#endif
    if (!ok) {
#pragma omp critical(rednet_emu_error)
      if (!failed.exchange(true)) std::snprintf(error, sizeof error, "%s", w.error);
    }
    ::operator delete[](w.dynamic_shared, std::align_val_t(16));
    w.dynamic_shared = dynamic_shared = nullptr;
    w.launch = nullptr;
  }
  if (failed.load()) {
    std::snprintf(err, err_len, "%s", error);
    return 1;
  }
  return 0;
}
}  // namespace rednet_emu

#endif  // __CUDACC__
#endif  // REDNET_CUDA_EMU_H
