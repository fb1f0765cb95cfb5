// cuda_bf16.h for the "emulate" device: __nv_bfloat16 and __nv_bfloat162.
//
// bfloat16 is the top half of a float: 1 sign, 8 exponent, 7 mantissa bits, float's range.
// float -> bf16 rounds to nearest, ties to even (__float2bfloat16, __float2bfloat16_rn and
// the implicit conversion), NaN becomes the canonical 0x7fff; __float2bfloat16_rz truncates.
// Arithmetic is done in float and rounded once to bf16 (a float holds the exact sum of two
// bf16 values whenever their exponents are within 16 of each other, and always holds the
// exact product).
#ifndef REDNET_EMU_CUDA_BF16_H
#define REDNET_EMU_CUDA_BF16_H
#include <cmath>
#include <cstdint>
#include <cstring>

#include "cuda_fp16.h"

namespace rednet_emu {
inline unsigned short float_to_bf16_bits(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return 0x7fff;
  x += 0x7fffu + ((x >> 16) & 1u);  // ties to even; a carry may reach infinity: right
  return static_cast<unsigned short>(x >> 16);
}
inline float bf16_bits_to_float(unsigned short b) {
  const std::uint32_t x = std::uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
}  // namespace rednet_emu

struct __nv_bfloat16_raw {
  unsigned short x;
};

struct __nv_bfloat16 {
  unsigned short __x;
  __nv_bfloat16() = default;
  __nv_bfloat16(__nv_bfloat16_raw r) : __x(r.x) {}
  __nv_bfloat16(float f) : __x(rednet_emu::float_to_bf16_bits(f)) {}
  __nv_bfloat16(double f) : __x(rednet_emu::float_to_bf16_bits(float(f))) {}
  __nv_bfloat16(int i) : __x(rednet_emu::float_to_bf16_bits(float(i))) {}
  operator float() const { return rednet_emu::bf16_bits_to_float(__x); }
  operator __nv_bfloat16_raw() const { return __nv_bfloat16_raw{__x}; }
  __nv_bfloat16& operator=(float f) { __x = rednet_emu::float_to_bf16_bits(f); return *this; }
};
typedef __nv_bfloat16 nv_bfloat16;

struct alignas(4) __nv_bfloat162 {
  __nv_bfloat16 x, y;
  __nv_bfloat162() = default;
  __nv_bfloat162(__nv_bfloat16 a, __nv_bfloat16 b) : x(a), y(b) {}
};
typedef __nv_bfloat162 nv_bfloat162;

inline __nv_bfloat16 __float2bfloat16(float f) { return __nv_bfloat16(f); }
inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __nv_bfloat16(f); }
inline __nv_bfloat16 __float2bfloat16_rz(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return __nv_bfloat16(__nv_bfloat16_raw{0x7fff});
  return __nv_bfloat16(__nv_bfloat16_raw{static_cast<unsigned short>(x >> 16)});
}
inline float __bfloat162float(__nv_bfloat16 b) { return float(b); }
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 b) { return b.__x; }
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short u) {
  return __nv_bfloat16(__nv_bfloat16_raw{u});
}
inline __nv_bfloat162 __floats2bfloat162_rn(float a, float b) {
  return __nv_bfloat162(__nv_bfloat16(a), __nv_bfloat16(b));
}
inline __nv_bfloat162 __float2bfloat162_rn(float a) {
  return __nv_bfloat162(__nv_bfloat16(a), __nv_bfloat16(a));
}
inline float2 __bfloat1622float2(__nv_bfloat162 b) { return make_float2(float(b.x), float(b.y)); }
inline __nv_bfloat16 __low2bfloat16(__nv_bfloat162 b) { return b.x; }
inline __nv_bfloat16 __high2bfloat16(__nv_bfloat162 b) { return b.y; }

#define REDNET_BF16_BINARY(name, op)                                                          \
  inline __nv_bfloat16 name(__nv_bfloat16 a, __nv_bfloat16 b) {                              \
    return __nv_bfloat16(float(a) op float(b));                                              \
  }                                                                                           \
  inline __nv_bfloat162 name##2(__nv_bfloat162 a, __nv_bfloat162 b) {                        \
    return __nv_bfloat162(name(a.x, b.x), name(a.y, b.y));                                   \
  }                                                                                           \
  inline __nv_bfloat16 operator op(__nv_bfloat16 a, __nv_bfloat16 b) { return name(a, b); }  \
  inline __nv_bfloat16& operator op##=(__nv_bfloat16& a, __nv_bfloat16 b) {                 \
    return a = name(a, b);                                                                   \
  }
REDNET_BF16_BINARY(__hadd, +)
REDNET_BF16_BINARY(__hsub, -)
REDNET_BF16_BINARY(__hmul, *)
REDNET_BF16_BINARY(__hdiv, /)
#undef REDNET_BF16_BINARY
inline __nv_bfloat16 __hfma(__nv_bfloat16 a, __nv_bfloat16 b, __nv_bfloat16 c) {
  return __nv_bfloat16(float(std::fma(double(float(a)), double(float(b)), double(float(c)))));
}
inline __nv_bfloat16 __hneg(__nv_bfloat16 a) { return __ushort_as_bfloat16(a.__x ^ 0x8000u); }
inline __nv_bfloat16 __habs(__nv_bfloat16 a) { return __ushort_as_bfloat16(a.__x & 0x7fffu); }
inline __nv_bfloat16 __hmax(__nv_bfloat16 a, __nv_bfloat16 b) { return float(a) < float(b) ? b : a; }
inline __nv_bfloat16 __hmin(__nv_bfloat16 a, __nv_bfloat16 b) { return float(b) < float(a) ? b : a; }
inline bool __hisnan(__nv_bfloat16 a) { return (a.__x & 0x7fffu) > 0x7f80u; }
inline __nv_bfloat16 operator-(__nv_bfloat16 a) { return __hneg(a); }
inline bool operator==(__nv_bfloat16 a, __nv_bfloat16 b) { return float(a) == float(b); }
inline bool operator!=(__nv_bfloat16 a, __nv_bfloat16 b) { return float(a) != float(b); }
inline bool operator<(__nv_bfloat16 a, __nv_bfloat16 b) { return float(a) < float(b); }
inline bool operator>(__nv_bfloat16 a, __nv_bfloat16 b) { return float(a) > float(b); }

#ifdef REDNET_SHUFFLES
REDNET_SHUFFLES(__nv_bfloat16)
REDNET_SHUFFLES(__nv_bfloat162)
#endif

#endif  // REDNET_EMU_CUDA_BF16_H
