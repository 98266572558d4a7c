// A bounded set of label values, each with a dense index; values past the limit map to the
// overflow value "__other__".
#ifndef MODELWATCH_EXPORTER_AGGREGATE_LABEL_INDEX_H_
#define MODELWATCH_EXPORTER_AGGREGATE_LABEL_INDEX_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace modelwatch {

// Not thread-safe. Lookups of known values allocate nothing.
class LabelIndex {
 public:
  // At most `limit` distinct values (>= 1) plus the overflow value.
  explicit LabelIndex(std::size_t limit) : limit_(limit < 1 ? 1 : limit) {}

  // Returns the index of `value`, adding it while under the limit; past the limit returns
  // the index of "__other__" (added on first use) and sets *overflowed.
  std::size_t Intern(std::string_view value, bool* overflowed);

  // Adds `value` regardless of the limit (restoring state). Returns its index.
  std::size_t Force(std::string_view value);

  const std::string& Name(std::size_t index) const { return names_[index]; }
  std::size_t size() const { return names_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  static constexpr std::size_t kScanned = 8;  // up to this many values, Intern() scans names_
  std::size_t limit_;
  std::size_t regular_ = 0;  // values other than the overflow value
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> index_;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_AGGREGATE_LABEL_INDEX_H_
