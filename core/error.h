// Error, Result and source locations shared by both programs.
#ifndef MODELWATCH_CORE_ERROR_H_
#define MODELWATCH_CORE_ERROR_H_

#include <string>
#include <tl/expected.hpp>
#include <vector>

namespace modelwatch {

// A position in a user's input file. line and column count from 1; 0 means unknown.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

// One problem with user input. Printed as `file:LINE:COL: error: MESSAGE`.
struct Error {
  SourceLocation location;
  std::string message;

  // Returns the compiler-style one-line form. Omits line/column when unknown.
  std::string ToString() const;
};

// Orders errors by file, then line, then column (stable for equal positions).
void SortErrors(std::vector<Error>& errors);

template <typename T>
using Result = tl::expected<T, Error>;

// For operations that can report several problems at once (validation).
template <typename T>
using MultiResult = tl::expected<T, std::vector<Error>>;

inline tl::unexpected<Error> MakeError(std::string message, SourceLocation location = {}) {
  return tl::unexpected<Error>(Error{std::move(location), std::move(message)});
}

}  // namespace modelwatch

#endif  // MODELWATCH_CORE_ERROR_H_
