// Parses ground-truth label lines: {"ts":..., "request_id":..., "entity_id":..., "label":1}.
//
// Field names come from GroundTruthConfig (timestamp_field, request_id_field,
// entity_id_field, label_field). The label may be
//   - binary classification: 0/1, true/false, "0"/"1"/"true"/"false", or one of the two
//     ModelConfig::classes names (classes[1] is the positive class);
//   - multiclass: a class name from ModelConfig::classes, or an integer class index;
//   - regression: a finite number.
// Timestamps are RFC 3339 strings or epoch numbers (seconds; >= 1e11 means milliseconds).
#ifndef MODELWATCH_EXPORTER_GROUNDTRUTH_LABEL_PARSER_H_
#define MODELWATCH_EXPORTER_GROUNDTRUTH_LABEL_PARSER_H_

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/config.h"

namespace modelwatch {

// Why a label line was rejected. The names are the `reason` label values.
enum class LabelReject {
  kInvalidJson,     // "invalid_json": not a JSON object
  kMissingField,    // "missing_field": no timestamp or no label
  kBadType,         // "bad_type": a field of the wrong JSON type
  kBadTimestamp,    // "bad_timestamp": unparseable timestamp string
  kBadLabel,        // "bad_label": a label value that is not valid for the task
  kMissingJoinKey,  // "missing_join_key": no request_id (or entity_id) to join on
  kTooLong,         // "too_long": longer than the prediction source's max_line_bytes
};
inline constexpr int kLabelRejectCount = 7;
const char* LabelRejectName(LabelReject reason);

// One parsed label. string_views point into the parser and stay valid until the next Parse().
struct LabelRecord {
  double timestamp = 0;  // Unix seconds
  std::string_view request_id;
  std::string_view entity_id;
  // Binary: 0 or 1. Multiclass: the class index in ModelConfig::classes. Regression: value.
  double label = 0;
};

// Reuses its buffers between lines. Not thread-safe.
class LabelParser {
 public:
  explicit LabelParser(const ModelConfig& model);

  // Parses one line (without its newline). On failure returns the reason.
  tl::expected<LabelRecord, LabelReject> Parse(std::string_view line);

 private:
  std::optional<double> ClassFromName(std::string_view name) const;

  Task task_;
  JoinKey join_on_;
  std::string ts_field_, request_field_, entity_field_, label_field_;
  std::size_t max_line_bytes_;
  std::unordered_map<std::string, int> class_index_;
  simdjson::ondemand::parser parser_;
  std::string buffer_;
  std::string request_id_, entity_id_;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_GROUNDTRUTH_LABEL_PARSER_H_
