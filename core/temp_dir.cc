#include "core/temp_dir.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace modelwatch {

Result<TempDir> TempDir::Create(const std::string& prefix) {
  std::error_code ec;
  const std::filesystem::path base = std::filesystem::temp_directory_path(ec);
  std::string path = ((ec ? std::filesystem::path("/tmp") : base) / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(path.data()) == nullptr) {
    return MakeError(std::string("cannot create a temporary directory: ") + std::strerror(errno));
  }
  return TempDir(std::move(path));
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace modelwatch
