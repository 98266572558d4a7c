// A unique empty directory for one test, removed with everything in it on destruction.
#ifndef MODELWATCH_TESTS_UNIT_SCRATCH_DIR_H_
#define MODELWATCH_TESTS_UNIT_SCRATCH_DIR_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace modelwatch::testing {

class ScratchDir {
 public:
  // The directory is made under the system's temporary directory, named PREFIX-XXXXXX, so
  // tests that run at the same time never share one.
  explicit ScratchDir(const std::string& prefix = "mw-test") {
    std::string templ = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(templ.data()) == nullptr) std::abort();
    path_ = templ;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  // The path of NAME inside the directory.
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Writes TEXT to the file REL inside the directory, making its parent directories.
  void Write(const std::string& rel, const std::string& text) const {
    std::filesystem::path file = std::filesystem::path(path_) / rel;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }

 private:
  std::string path_;
};

}  // namespace modelwatch::testing

#endif  // MODELWATCH_TESTS_UNIT_SCRATCH_DIR_H_
