// cuda_fp16.h for the "emulate" device: __half and __half2 as CUDA defines them.
//
// On the GPU a kernel gets NVIDIA's header; on the emulator the include path finds this one
// first (runtime/include/ is passed with -I), so `#include <cuda_fp16.h>` works unchanged.
// __half is 16 bits: 1 sign, 5 exponent, 10 mantissa bits (IEEE binary16), with subnormals.
//
// Rounding, as on the hardware: float -> half rounds to nearest, ties to even (__float2half,
// __float2half_rn and the implicit conversion); __float2half_rz truncates. Arithmetic
// (+ - * / and __hadd, __hmul, __hfma ...) computes the exact result in double and rounds
// it once to half, which is what a GPU's correctly rounded half instructions give (fma and
// division: rounded from the double result, which can differ from the exact one only in
// ties that a double cannot hold: never for + - *, which a double holds exactly). NaN
// results are the canonical 0x7fff, as __float2half gives.
#ifndef REDNET_EMU_CUDA_FP16_H
#define REDNET_EMU_CUDA_FP16_H
#include <cmath>
#include <cstdint>
#include <cstring>

namespace rednet_emu {
// Round a double to binary16 bits, ties to even.
inline unsigned short double_to_half_bits(double d) {
  std::uint64_t x;
  std::memcpy(&x, &d, 8);
  const unsigned short sign = static_cast<unsigned short>((x >> 48) & 0x8000u);
  const std::uint64_t mag = x & 0x7fffffffffffffffull;
  if (mag > 0x7ff0000000000000ull) return 0x7fff;   // NaN
  if (mag == 0x7ff0000000000000ull) return sign | 0x7c00u;  // infinity
  const int e = int(mag >> 52) - 1023;
  if (e < -25) return sign;  // below half of the smallest subnormal (2^-24): zero
  if (e > 15) return sign | 0x7c00u;
  const std::uint64_t mant = (mag & ((1ull << 52) - 1)) | (1ull << 52);
  std::uint64_t r;
  int shift;
  if (e < -14) {  // a half subnormal: units of 2^-24
    shift = 28 - e;
    r = mant >> shift;
  } else {
    shift = 42;
    r = (std::uint64_t(e + 15) << 10) | ((mant >> 42) & 0x3ffu);
  }
  const std::uint64_t rem = mant & ((1ull << shift) - 1), halfway = 1ull << (shift - 1);
  if (rem > halfway || (rem == halfway && (r & 1u))) ++r;  // a carry may reach infinity: right
  return static_cast<unsigned short>(sign | r);
}

inline float half_bits_to_float(unsigned short h) {
  const unsigned sign = unsigned(h & 0x8000u) << 16;
  const unsigned e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  float v;
  if (e == 0) v = std::ldexp(float(m), -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = std::ldexp(float(m | 0x400u), int(e) - 25);
  std::uint32_t b;
  std::memcpy(&b, &v, 4);
  b |= sign;
  std::memcpy(&v, &b, 4);
  return v;
}
}  // namespace rednet_emu

struct __half_raw {
  unsigned short x;
};

struct __half {
  unsigned short __x;
  __half() = default;
  __half(__half_raw r) : __x(r.x) {}
  __half(float f) : __x(rednet_emu::double_to_half_bits(f)) {}
  __half(double f) : __x(rednet_emu::double_to_half_bits(f)) {}
  __half(int i) : __x(rednet_emu::double_to_half_bits(i)) {}
  __half(unsigned int i) : __x(rednet_emu::double_to_half_bits(i)) {}
  operator float() const { return rednet_emu::half_bits_to_float(__x); }
  operator __half_raw() const { return __half_raw{__x}; }
  __half& operator=(float f) { __x = rednet_emu::double_to_half_bits(f); return *this; }
  __half& operator=(double f) { __x = rednet_emu::double_to_half_bits(f); return *this; }
};
typedef __half half;

struct alignas(4) __half2 {
  __half x, y;
  __half2() = default;
  __half2(__half a, __half b) : x(a), y(b) {}
};
typedef __half2 half2;

namespace rednet_emu {
inline __half half_from_double(double d) { return __half(__half_raw{double_to_half_bits(d)}); }
inline double hd(__half h) { return double(half_bits_to_float(h.__x)); }
}  // namespace rednet_emu

// ---- conversions ----------------------------------------------------------------------------
inline __half __float2half(float f) { return __half(f); }
inline __half __float2half_rn(float f) { return __half(f); }
inline __half __float2half_rz(float f) {  // toward zero: the largest half not above |f|
  __half h(f);
  if (std::isfinite(f) && std::fabs(rednet_emu::hd(h)) > std::fabs(double(f))) --h.__x;
  return h;
}
inline __half __double2half(double d) { return __half(d); }
inline float __half2float(__half h) { return float(h); }
inline __half __int2half_rn(int i) { return __half(i); }
inline int __half2int_rz(__half h) { return int(float(h)); }
inline int __half2int_rn(__half h) { return int(std::nearbyint(float(h))); }
inline unsigned short __half_as_ushort(__half h) { return h.__x; }
inline short __half_as_short(__half h) { return short(h.__x); }
inline __half __ushort_as_half(unsigned short u) { return __half(__half_raw{u}); }
inline __half __short_as_half(short s) { return __half(__half_raw{static_cast<unsigned short>(s)}); }
inline __half2 __float2half2_rn(float f) { return __half2(__half(f), __half(f)); }
inline __half2 __floats2half2_rn(float a, float b) { return __half2(__half(a), __half(b)); }
inline __half2 __halves2half2(__half a, __half b) { return __half2(a, b); }
inline __half2 __half2half2(__half a) { return __half2(a, a); }
inline float2 __half22float2(__half2 h) { return make_float2(float(h.x), float(h.y)); }
inline __half2 __float22half2_rn(float2 f) { return __half2(__half(f.x), __half(f.y)); }
inline __half __low2half(__half2 h) { return h.x; }
inline __half __high2half(__half2 h) { return h.y; }
inline float __low2float(__half2 h) { return float(h.x); }
inline float __high2float(__half2 h) { return float(h.y); }

// ---- arithmetic: exact in double, one rounding to half ----------------------------------
#define REDNET_HALF_BINARY(name, expr)                                                       \
  inline __half name(__half a, __half b) {                                                  \
    const double x = rednet_emu::hd(a), y = rednet_emu::hd(b);                              \
    return rednet_emu::half_from_double(expr);                                              \
  }                                                                                          \
  inline __half2 name##2(__half2 a, __half2 b) { return __half2(name(a.x, b.x), name(a.y, b.y)); }
REDNET_HALF_BINARY(__hadd, x + y)
REDNET_HALF_BINARY(__hsub, x - y)
REDNET_HALF_BINARY(__hmul, x * y)
REDNET_HALF_BINARY(__hdiv, x / y)
#undef REDNET_HALF_BINARY
inline __half __hfma(__half a, __half b, __half c) {
  return rednet_emu::half_from_double(std::fma(rednet_emu::hd(a), rednet_emu::hd(b),
                                               rednet_emu::hd(c)));
}
inline __half2 __hfma2(__half2 a, __half2 b, __half2 c) {
  return __half2(__hfma(a.x, b.x, c.x), __hfma(a.y, b.y, c.y));
}
inline __half __hneg(__half a) { return __ushort_as_half(a.__x ^ 0x8000u); }
inline __half __habs(__half a) { return __ushort_as_half(a.__x & 0x7fffu); }
inline __half __hmax(__half a, __half b) { return float(a) < float(b) ? b : a; }
inline __half __hmin(__half a, __half b) { return float(b) < float(a) ? b : a; }
inline __half hsqrt(__half a) { return rednet_emu::half_from_double(std::sqrt(rednet_emu::hd(a))); }
inline bool __hisnan(__half a) { return (a.__x & 0x7fffu) > 0x7c00u; }
inline int __hisinf(__half a) {
  return (a.__x & 0x7fffu) == 0x7c00u ? ((a.__x & 0x8000u) ? -1 : 1) : 0;
}
inline bool __heq(__half a, __half b) { return float(a) == float(b); }
inline bool __hne(__half a, __half b) { return float(a) != float(b); }
inline bool __hlt(__half a, __half b) { return float(a) < float(b); }
inline bool __hle(__half a, __half b) { return float(a) <= float(b); }
inline bool __hgt(__half a, __half b) { return float(a) > float(b); }
inline bool __hge(__half a, __half b) { return float(a) >= float(b); }

inline __half operator+(__half a, __half b) { return __hadd(a, b); }
inline __half operator-(__half a, __half b) { return __hsub(a, b); }
inline __half operator*(__half a, __half b) { return __hmul(a, b); }
inline __half operator/(__half a, __half b) { return __hdiv(a, b); }
inline __half operator-(__half a) { return __hneg(a); }
inline __half& operator+=(__half& a, __half b) { return a = __hadd(a, b); }
inline __half& operator-=(__half& a, __half b) { return a = __hsub(a, b); }
inline __half& operator*=(__half& a, __half b) { return a = __hmul(a, b); }
inline __half& operator/=(__half& a, __half b) { return a = __hdiv(a, b); }
inline bool operator==(__half a, __half b) { return __heq(a, b); }
inline bool operator!=(__half a, __half b) { return __hne(a, b); }
inline bool operator<(__half a, __half b) { return __hlt(a, b); }
inline bool operator<=(__half a, __half b) { return __hle(a, b); }
inline bool operator>(__half a, __half b) { return __hgt(a, b); }
inline bool operator>=(__half a, __half b) { return __hge(a, b); }
inline __half2 operator+(__half2 a, __half2 b) { return __hadd2(a, b); }
inline __half2 operator-(__half2 a, __half2 b) { return __hsub2(a, b); }
inline __half2 operator*(__half2 a, __half2 b) { return __hmul2(a, b); }

// Warp shuffles of half and half2 (2 and 4 bytes), as CUDA's header declares them.
#ifdef REDNET_SHUFFLES
REDNET_SHUFFLES(__half)
REDNET_SHUFFLES(__half2)
#endif

#endif  // REDNET_EMU_CUDA_FP16_H
