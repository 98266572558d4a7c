#include "exporter/groundtruth/label_parser.h"

#include <charconv>
#include <cmath>

#include "exporter/parse/record_parser.h"

namespace modelwatch {

const char* LabelRejectName(LabelReject reason) {
  switch (reason) {
    case LabelReject::kInvalidJson:
      return "invalid_json";
    case LabelReject::kMissingField:
      return "missing_field";
    case LabelReject::kBadType:
      return "bad_type";
    case LabelReject::kBadTimestamp:
      return "bad_timestamp";
    case LabelReject::kBadLabel:
      return "bad_label";
    case LabelReject::kMissingJoinKey:
      return "missing_join_key";
    case LabelReject::kTooLong:
      return "too_long";
  }
  return "unknown";
}

LabelParser::LabelParser(const ModelConfig& model)
    : task_(model.task), max_line_bytes_(model.source.max_line_bytes) {
  GroundTruthConfig gt = model.ground_truth.value_or(GroundTruthConfig{});
  join_on_ = gt.join_on;
  ts_field_ = gt.timestamp_field;
  request_field_ = gt.request_id_field;
  entity_field_ = gt.entity_id_field;
  label_field_ = gt.label_field;
  for (std::size_t i = 0; i < model.classes.size(); ++i) {
    class_index_.emplace(model.classes[i], static_cast<int>(i));
  }
}

std::optional<double> LabelParser::ClassFromName(std::string_view name) const {
  auto it = class_index_.find(std::string(name));
  if (it != class_index_.end()) {
    if (task_ == Task::kBinaryClassification && class_index_.size() != 2) return std::nullopt;
    return it->second;
  }
  if (task_ == Task::kBinaryClassification) {
    if (name == "1" || name == "true") return 1.0;
    if (name == "0" || name == "false") return 0.0;
  }
  return std::nullopt;
}

tl::expected<LabelRecord, LabelReject> LabelParser::Parse(std::string_view line) {
  using tl::unexpected;
  if (line.size() > max_line_bytes_) return unexpected(LabelReject::kTooLong);
  buffer_.assign(line);
  buffer_.reserve(line.size() + simdjson::SIMDJSON_PADDING);
  simdjson::padded_string_view padded(buffer_.data(), buffer_.size(), buffer_.capacity());
  simdjson::ondemand::document doc;
  if (parser_.iterate(padded).get(doc)) return unexpected(LabelReject::kInvalidJson);
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return unexpected(LabelReject::kInvalidJson);

  LabelRecord rec;
  bool has_ts = false, has_label = false;
  request_id_.clear();
  entity_id_.clear();
  std::optional<LabelReject> error;
  for (auto field_result : obj) {
    simdjson::ondemand::field field;
    if (std::move(field_result).get(field)) return unexpected(LabelReject::kInvalidJson);
    std::string_view key;
    if (field.unescaped_key().get(key)) return unexpected(LabelReject::kInvalidJson);
    simdjson::ondemand::value value = field.value();
    simdjson::ondemand::json_type type;
    if (value.type().get(type)) return unexpected(LabelReject::kInvalidJson);
    if (key == ts_field_) {
      if (type == simdjson::ondemand::json_type::number) {
        double v;
        if (value.get_double().get(v)) return unexpected(LabelReject::kInvalidJson);
        std::optional<double> t = EpochToSeconds(v);
        if (!t) {
          error = LabelReject::kBadTimestamp;
        } else {
          rec.timestamp = *t;
          has_ts = true;
        }
      } else if (type == simdjson::ondemand::json_type::string) {
        std::string_view text;
        if (value.get_string().get(text)) return unexpected(LabelReject::kInvalidJson);
        std::optional<double> t = ParseRfc3339(text);
        if (!t || *t < 0) {  // before 1970, as for prediction records
          error = LabelReject::kBadTimestamp;
        } else {
          rec.timestamp = *t;
          has_ts = true;
        }
      } else if (type != simdjson::ondemand::json_type::null) {
        error = LabelReject::kBadType;
      }
    } else if (key == request_field_ || key == entity_field_) {
      std::string& target = key == request_field_ ? request_id_ : entity_id_;
      if (type == simdjson::ondemand::json_type::string) {
        std::string_view text;
        if (value.get_string().get(text)) return unexpected(LabelReject::kInvalidJson);
        target.assign(text);
      } else if (type == simdjson::ondemand::json_type::number) {
        std::string_view raw = value.raw_json_token();
        while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\r' ||
                                raw.back() == '\n')) {
          raw.remove_suffix(1);
        }
        target.assign(raw);
      } else if (type != simdjson::ondemand::json_type::null) {
        error = LabelReject::kBadType;
      }
    } else if (key == label_field_) {
      std::optional<double> label;
      if (type == simdjson::ondemand::json_type::number) {
        double v;
        if (value.get_double().get(v)) return unexpected(LabelReject::kInvalidJson);
        if (!std::isfinite(v)) {
          label = std::nullopt;
        } else if (task_ == Task::kRegression) {
          label = v;
        } else if (task_ == Task::kBinaryClassification) {
          if (v == 0 || v == 1) label = v;
        } else {
          std::string_view raw = value.raw_json_token();
          while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' ||
                                  raw.back() == '\t')) {
            raw.remove_suffix(1);
          }
          label = ClassFromName(raw);
          if (!label && v == std::floor(v) && v >= 0 &&
              v < static_cast<double>(class_index_.size())) {
            label = v;
          }
        }
      } else if (type == simdjson::ondemand::json_type::boolean) {
        bool b;
        if (value.get_bool().get(b)) return unexpected(LabelReject::kInvalidJson);
        if (task_ != Task::kBinaryClassification) {
          error = LabelReject::kBadType;
          continue;
        }
        label = b ? 1.0 : 0.0;
      } else if (type == simdjson::ondemand::json_type::string) {
        std::string_view text;
        if (value.get_string().get(text)) return unexpected(LabelReject::kInvalidJson);
        if (task_ == Task::kRegression) {
          error = LabelReject::kBadType;
          continue;
        }
        label = ClassFromName(text);
      } else if (type == simdjson::ondemand::json_type::null) {
        continue;
      } else {
        error = LabelReject::kBadType;
        continue;
      }
      if (!label) {
        error = LabelReject::kBadLabel;
      } else {
        rec.label = *label;
        has_label = true;
      }
    }
  }
  if (error) return unexpected(*error);
  if (!has_ts || !has_label) return unexpected(LabelReject::kMissingField);
  rec.request_id = request_id_;
  rec.entity_id = entity_id_;
  if (join_on_ == JoinKey::kRequestId ? rec.request_id.empty() : rec.entity_id.empty()) {
    return unexpected(LabelReject::kMissingJoinKey);
  }
  return rec;
}

}  // namespace modelwatch
