// cuda_pipeline.h for the "emulate" device: asynchronous copies from global to shared memory.
//
// On sm_80+ __pipeline_memcpy_async(dst, src, n) starts a copy of n bytes (4, 8 or 16) that
// the thread does not wait for; __pipeline_commit() closes the batch of copies issued since
// the last commit; __pipeline_wait_prior(k) waits until at most the k most recent batches are
// still in flight. Here a copy is exactly that: the source bytes are read when it is issued,
// and the destination is written only when a __pipeline_wait_prior() covers its batch. So a
// kernel that reads the destination too early (before the wait, or reads another thread's
// copy without a __syncthreads() after the wait) sees the old contents (NaN in dynamic shared
// memory) instead of passing by luck. `zfill` bytes at the end of the destination are zeros
// (the source is read only for the first n - zfill), as CUDA specifies. Copies never waited
// for are dropped at the thread's end, as a GPU gives no guarantee about them. A wait before
// any commit covers nothing and ends the launch with an error (the copies it was meant for
// would never be waited for); so does a copy whose size or alignment the hardware refuses.
#ifndef REDNET_EMU_CUDA_PIPELINE_H
#define REDNET_EMU_CUDA_PIPELINE_H
#include <cstddef>
#include <cstdint>
#include <cstring>

inline void __pipeline_memcpy_async(void* dst, const void* src, std::size_t size_and_align,
                                    std::size_t zfill = 0, const char* file = __builtin_FILE(),
                                    int line = __builtin_LINE()) {
  rednet_emu::Worker& w = *rednet_emu::worker;
  if (w.launch->mode != rednet_emu::kFibers)
    rednet_emu::fail_no_fibers(w, "__pipeline_memcpy_async", file, line);
  const std::size_t n = size_and_align;
  if ((n != 4 && n != 8 && n != 16) || zfill > n || std::uintptr_t(dst) % n ||
      std::uintptr_t(src) % n) {
    rednet_emu::Text t;
    t.block(w).add(", thread %d: __pipeline_memcpy_async(%p, %p, %zu, zfill %zu) at %s:%d: the "
                   "size must be 4, 8 or 16 bytes, both pointers aligned to it, and zfill at "
                   "most the size",
                   w.current->index, dst, src, n, zfill, file, line);
    rednet_emu::fail(w, t.s);
  }
  rednet_emu::AsyncCopy c{dst, unsigned(n), w.current->batch, {}};
  std::memcpy(c.bytes, src, n - zfill);  // the rest stays zero
  w.current->copies.push_back(c);
}

inline void __pipeline_commit() {
  rednet_emu::Worker& w = *rednet_emu::worker;
  if (w.current) ++w.current->batch;
}

inline void __pipeline_wait_prior(std::size_t prior, const char* file = __builtin_FILE(),
                                  int line = __builtin_LINE()) {
  rednet_emu::Worker& w = *rednet_emu::worker;
  if (!w.current) return;
  rednet_emu::Fiber& f = *w.current;
  if (f.batch == 0) {  // a wait that covers nothing: the copies it means were never committed
    rednet_emu::Text t;
    t.block(w).add(", thread %d: __pipeline_wait_prior(%zu) at %s:%d with nothing committed "
                   "(%zu copies issued): a wait covers only the batches __pipeline_commit() "
                   "closed; commit the copies first",
                   f.index, prior, file, line, f.copies.size());
    rednet_emu::fail(w, t.s);
  }
  // Committed batches are 0 .. batch-1; all but the `prior` most recent must be complete.
  const std::size_t done_below = f.batch > prior ? f.batch - prior : 0;
  std::size_t kept = 0;
  for (const rednet_emu::AsyncCopy& c : f.copies) {
    if (c.batch < done_below) {
      // Byte by byte, through an instrumented store: the race check sees the write.
      unsigned char* d = static_cast<unsigned char*>(c.dst);
      for (unsigned i = 0; i < c.size; ++i) d[i] = c.bytes[i];
    } else {
      f.copies[kept++] = c;
    }
  }
  f.copies.resize(kept);
}
#endif  // REDNET_EMU_CUDA_PIPELINE_H
