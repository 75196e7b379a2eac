// xoshiro256** seeded through splitmix64: reproducible start blocks and probes of the
// iterative solvers (eigsh, SLQ). Header-only.
#pragma once
#include <cmath>
#include <cstdint>

namespace specdyn {

class Rng64 {
 public:
  Rng64(uint64_t seed, uint64_t stream) {
    uint64_t z = seed ^ (0x9e3779b97f4a7c15ull * (stream + 1));
    for (auto& w : s_) w = SplitMix(z);
  }
  uint64_t Next() {
    const uint64_t r = Rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return r;
  }
  double Uniform() { return double(Next() >> 11) * 0x1.0p-53; }
  double Normal() {
    if (haveSpare_) {
      haveSpare_ = false;
      return spare_;
    }
    double u = 0;
    while (u <= 0) u = Uniform();
    const double r = std::sqrt(-2.0 * std::log(u)), t = 6.283185307179586 * Uniform();
    spare_ = r * std::sin(t);
    haveSpare_ = true;
    return r * std::cos(t);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix(uint64_t& z) {
    uint64_t x = (z += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }
  uint64_t s_[4];
  double spare_ = 0;
  bool haveSpare_ = false;
};

}  // namespace specdyn
