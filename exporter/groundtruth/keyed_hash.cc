#include "exporter/groundtruth/keyed_hash.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/atomic_file.h"

namespace modelwatch {
namespace {

std::uint64_t Rotl(std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

std::uint64_t Load64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct SipState {
  std::uint64_t v0, v1, v2, v3;
  void Round() {
    v0 += v1;
    v1 = Rotl(v1, 13);
    v1 ^= v0;
    v0 = Rotl(v0, 32);
    v2 += v3;
    v3 = Rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = Rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = Rotl(v1, 17);
    v1 ^= v2;
    v2 = Rotl(v2, 32);
  }
  void Compress(std::uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }
};

std::uint64_t SipHash24(std::uint64_t k0, std::uint64_t k1, const std::uint8_t* data,
                        std::size_t len) {
  SipState s{0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1, 0x6c7967656e657261ULL ^ k0,
             0x7465646279746573ULL ^ k1};
  const std::size_t full = len - (len % 8);
  for (std::size_t i = 0; i < full; i += 8) s.Compress(Load64(data + i));
  std::uint64_t last = static_cast<std::uint64_t>(len & 0xff) << 56;
  for (std::size_t i = 0; i < len % 8; ++i) {
    last |= static_cast<std::uint64_t>(data[full + i]) << (8 * i);
  }
  s.Compress(last);
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.Round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace

KeyedHasher::KeyedHasher(const Key& key) : k0_(Load64(key.data())), k1_(Load64(key.data() + 8)) {}

Result<KeyedHasher> KeyedHasher::FromStateDir(const std::string& state_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) return MakeError("cannot create state directory " + state_dir + ": " + ec.message());
  const fs::path path = fs::path(state_dir) / kKeyFileName;
  Key key{};
  if (fs::exists(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    in.read(reinterpret_cast<char*>(key.data()), key.size());
    if (in.gcount() != static_cast<std::streamsize>(key.size()) || in.peek() != EOF) {
      return MakeError(path.string() + ": hash key file must hold exactly 16 bytes");
    }
    return KeyedHasher(key);
  }
  std::random_device rd;
  for (std::size_t i = 0; i < key.size(); i += 4) {
    const unsigned int r = rd();
    for (std::size_t j = 0; j < 4; ++j) key[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
  }
  const std::string_view bytes(reinterpret_cast<const char*>(key.data()), key.size());
  if (auto ok = WriteFileAtomically(path.string(), bytes, 0600); !ok) {
    return tl::unexpected(ok.error());
  }
  return KeyedHasher(key);
}

std::uint64_t KeyedHasher::Hash(std::string_view data) const {
  const std::uint64_t h =
      SipHash24(k0_, k1_, reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  return h == 0 ? 1 : h;
}

std::uint64_t KeyedHasher::Hash(std::string_view data, std::uint64_t extra) const {
  std::string buf(data);
  for (int i = 0; i < 8; ++i) buf.push_back(static_cast<char>((extra >> (8 * i)) & 0xff));
  return Hash(buf);
}

}  // namespace modelwatch
