#include "exporter/aggregate/label_index.h"

#include "core/config.h"
#include "exporter/parse/bytes_equal.h"

namespace modelwatch {

std::size_t LabelIndex::Intern(std::string_view value, bool* overflowed) {
  // The few values of most labels (versions, classes) are compared in place; the names are
  // distinct, so the first equal one is the one the map holds.
  if (names_.size() <= kScanned) {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (BytesEqual(names_[i], value)) return i;
    }
  } else if (auto it = index_.find(value); it != index_.end()) {
    return it->second;
  }
  if (regular_ < limit_) return Force(value);
  if (overflowed != nullptr) *overflowed = true;
  return Force(kOverflowLabelValue);
}

std::size_t LabelIndex::Force(std::string_view value) {
  if (auto it = index_.find(value); it != index_.end()) return it->second;
  names_.emplace_back(value);
  index_.emplace(names_.back(), names_.size() - 1);
  if (value != kOverflowLabelValue) ++regular_;
  return names_.size() - 1;
}

}  // namespace modelwatch
