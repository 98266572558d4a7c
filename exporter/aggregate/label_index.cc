#include "exporter/aggregate/label_index.h"

#include "core/config.h"

namespace modelwatch {

std::size_t LabelIndex::Intern(std::string_view value, bool* overflowed) {
  if (auto it = index_.find(value); it != index_.end()) return it->second;
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
