// A fresh directory under the system's temporary directory, removed with its contents when
// the object goes (the one-shot commands keep scratch stores and spool files there).
#ifndef MODELWATCH_CORE_TEMP_DIR_H_
#define MODELWATCH_CORE_TEMP_DIR_H_

#include <string>

#include "core/error.h"

namespace modelwatch {

class TempDir {
 public:
  // Creates `<tmp>/<prefix>-XXXXXX` (mode 0700).
  static Result<TempDir> Create(const std::string& prefix);
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace modelwatch

#endif  // MODELWATCH_CORE_TEMP_DIR_H_
