#include "exporter/parse/record_parser.h"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>

#include "exporter/parse/bytes_equal.h"
#include "exporter/parse/plain_json.h"

namespace modelwatch {

namespace ondemand = simdjson::ondemand;

const char* RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kInvalidJson:
      return "invalid_json";
    case RejectReason::kMissingField:
      return "missing_field";
    case RejectReason::kBadType:
      return "bad_type";
    case RejectReason::kBadValue:
      return "bad_value";
    case RejectReason::kBadTimestamp:
      return "bad_timestamp";
    case RejectReason::kTooLong:
      return "too_long";
    case RejectReason::kUnknownModel:
      return "unknown_model";
    case RejectReason::kFutureTimestamp:
      return "future_timestamp";
  }
  return "unknown";
}

namespace {

bool ReadDigits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return kDays[m - 1];
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::optional<double> ParseFullDouble(std::string_view s) {
  double v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end || s.empty()) return std::nullopt;
  return v;
}

// Sentinels the NaN/Infinity rewrite puts in place of bare tokens. Each is a JSON string
// whose unescaped form starts with a NUL byte, which no sane log writes.
constexpr std::string_view kNanToken = "\"\\u0000NaN\"";
constexpr std::string_view kInfToken = "\"\\u0000Inf\"";
constexpr std::string_view kNegInfToken = "\"\\u0000-Inf\"";
constexpr std::string_view kNanValue{"\0NaN", 4};
constexpr std::string_view kInfValue{"\0Inf", 4};
constexpr std::string_view kNegInfValue{"\0-Inf", 5};

}  // namespace

std::optional<double> ParseRfc3339(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (s.size() < 20) return std::nullopt;
  if (!ReadDigits(s, 0, 4, year) || s[4] != '-' || !ReadDigits(s, 5, 2, month) || s[7] != '-' ||
      !ReadDigits(s, 8, 2, day)) {
    return std::nullopt;
  }
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  if (!ReadDigits(s, 11, 2, hour) || s[13] != ':' || !ReadDigits(s, 14, 2, minute) ||
      s[16] != ':' || !ReadDigits(s, 17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  double fraction = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    double scale = 0.1;
    std::size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      fraction += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  int offset_seconds = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!ReadDigits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ReadDigits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_seconds = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  double t =
      static_cast<double>(days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds);
  return t + fraction;
}

std::optional<double> EpochToSeconds(double value) {
  if (!std::isfinite(value) || value < 0) return std::nullopt;
  if (value >= 1e11) return value / 1000.0;
  return value;
}

std::string_view FormatNumber(double value, std::array<char, 32>& buf) {
  char* begin = buf.data();
  char* end = buf.data() + buf.size();
  std::to_chars_result r;
  if (std::isfinite(value) && value == std::trunc(value) && std::fabs(value) < 1e15) {
    r = std::to_chars(begin, end, static_cast<long long>(value));
  } else {
    r = std::to_chars(begin, end, value);
  }
  if (r.ec != std::errc()) return {};
  return std::string_view(begin, static_cast<std::size_t>(r.ptr - begin));
}

// The per-model view of the field mapping, precomputed once.
struct RecordParser::Schema {
  enum Slot {
    kNone,
    kModel,
    kTimestamp,
    kRequestId,
    kEntityId,
    kVersion,
    kScore,
    kProbabilities,
    kPrediction,
    kLatency,
    kStatus,
    kFeatures,
    kSegment,
  };
  const ModelConfig* config = nullptr;
  std::vector<std::pair<std::string, Slot>> fields;
  std::unordered_map<std::string_view, int> feature_index;  // keys view config->features
  std::unordered_map<std::string_view, int> class_index;    // keys view config->classes

  explicit Schema(const ModelConfig* c) : config(c) {
    const FieldMap& f = c->source.fields;
    fields = {{f.model, kModel},
              {f.timestamp, kTimestamp},
              {f.request_id, kRequestId},
              {f.entity_id, kEntityId},
              {f.version, kVersion},
              {f.score, kScore},
              {f.probabilities, kProbabilities},
              {f.prediction, kPrediction},
              {f.latency_ms, kLatency},
              {f.status, kStatus},
              {f.features, kFeatures},
              {f.segment, kSegment}};
    for (std::size_t i = 0; i < c->features.size(); ++i) {
      feature_index.emplace(c->features[i].name, static_cast<int>(i));
      feature_names.emplace_back(c->features[i].name);
    }
    for (std::size_t i = 0; i < c->classes.size(); ++i) {
      class_index.emplace(c->classes[i], static_cast<int>(i));
    }
    for (std::size_t i = 0; i < fields.size(); ++i) {
      key_buckets[KeyBucket(fields[i].first)].push_back(static_cast<std::uint8_t>(i));
    }
  }

  // The slot of the first field mapping named `key` (kNone for none). The keys are spread over
  // buckets by length and first and last byte, so a key is compared with at most the few
  // mapped names of its bucket (usually one, or none for an unmapped key).
  Slot Lookup(std::string_view key) const {
    for (const std::uint8_t i : key_buckets[KeyBucket(key)]) {
      if (BytesEqual(fields[i].first, key)) return fields[i].second;
    }
    return kNone;
  }
  static constexpr std::size_t kKeyBuckets = 32;
  static std::size_t KeyBucket(std::string_view key) {
    if (key.empty()) return 0;
    const auto first = static_cast<unsigned char>(key.front());
    const auto last = static_cast<unsigned char>(key.back());
    return (key.size() * 7 + first * 3 + last) % kKeyBuckets;
  }
  std::array<std::vector<std::uint8_t>, kKeyBuckets> key_buckets;  // field indexes, in order
  std::vector<std::string_view> feature_names;                     // config->features' names
  // Records of one source nearly always list their features in the same order, so the
  // feature seen at the same position of the previous record is tried first; only a miss
  // pays for the hash lookup. Returns the feature index or -1.
  int FeatureAt(std::size_t position, std::string_view key) {
    if (position < feature_hint.size()) {
      const int hint = feature_hint[position];
      if (hint >= 0 && BytesEqual(feature_names[static_cast<std::size_t>(hint)], key)) return hint;
    }
    return FeatureAtByName(position, key);
  }
  // FeatureAt() past a miss of the hint: the hash lookup, remembered as the new hint.
  int FeatureAtByName(std::size_t position, std::string_view key) {
    const auto it = feature_index.find(key);
    const int index = it == feature_index.end() ? -1 : it->second;
    if (position < feature_hint.size()) {
      feature_hint[position] = index;
    } else if (position == feature_hint.size() && position < kMaxFeatureHints) {
      feature_hint.push_back(index);
    }
    return index;
  }
  static constexpr std::size_t kMaxFeatureHints = 1024;
  std::vector<int> feature_hint;  // position in the record's features object -> index

  std::string_view FieldName(Slot slot) const {
    for (const auto& [name, s] : fields) {
      if (s == slot) return name;
    }
    return {};
  }
};

struct RecordParser::Impl {
  ondemand::parser parser;
  std::string padded;     // the line plus SIMDJSON_PADDING bytes
  std::string rewritten;  // the line with bare NaN/Infinity tokens replaced
  std::size_t max_line_bytes = 0;
  // Text of numbers printed as label values (classes, categorical features, versions).
  std::vector<std::array<char, 32>> number_text;
  std::size_t next_number_text = 0;

  std::string_view NumberText(double v) {
    if (next_number_text >= number_text.size()) return {};
    return FormatNumber(v, number_text[next_number_text++]);
  }

  // True when `line` may hold a number beyond the range of a double: an exponent of three
  // digits or more, or a run of 309 digits.
  static bool MayOverflow(std::string_view line) {
    std::size_t run = 0;
    bool after_e = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (c >= '0' && c <= '9') {
        ++run;
        if ((after_e && run >= 3) || run >= 309) return true;
      } else {
        after_e = (c == 'e' || c == 'E') || (after_e && run == 0 && (c == '+' || c == '-'));
        run = 0;
      }
    }
    return false;
  }

  // Replaces bare NaN / Infinity / -Infinity tokens outside strings, and numbers beyond the
  // range of a double, by sentinel strings into `rewritten`. Returns false (nothing to do)
  // when there are none.
  bool Rewrite(std::string_view line) {
    if (line.find("NaN") == std::string_view::npos &&
        line.find("Infinity") == std::string_view::npos && !MayOverflow(line)) {
      return false;
    }
    rewritten.clear();
    bool in_string = false;
    bool changed = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (in_string) {
        rewritten.push_back(c);
        if (c == '\\' && i + 1 < line.size()) {
          rewritten.push_back(line[++i]);
        } else if (c == '"') {
          in_string = false;
        }
        continue;
      }
      std::string_view rest = line.substr(i);
      if (c == '"') {
        in_string = true;
        rewritten.push_back(c);
      } else if (rest.substr(0, 3) == "NaN") {
        rewritten.append(kNanToken);
        i += 2;
        changed = true;
      } else if (rest.substr(0, 8) == "Infinity") {
        rewritten.append(kInfToken);
        i += 7;
        changed = true;
      } else if (rest.substr(0, 9) == "-Infinity") {
        rewritten.append(kNegInfToken);
        i += 8;
        changed = true;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        // A number beyond the range of a double (1e400) is an infinity, like Infinity.
        std::size_t n = 1;
        while (n < rest.size() && std::strchr("0123456789+-.eE", rest[n]) != nullptr &&
               rest[n] != '\0') {
          ++n;
        }
        const std::string token(rest.substr(0, n));
        const double v = std::strtod(token.c_str(), nullptr);
        if (std::isinf(v)) {
          rewritten.append(v > 0 ? kInfToken : kNegInfToken);
          changed = true;
        } else {
          rewritten.append(token);
        }
        i += n - 1;
      } else {
        rewritten.push_back(c);
      }
    }
    return changed;
  }
};

RecordParser::RecordParser(std::vector<const ModelConfig*> models, bool plain_lines)
    : impl_(new Impl), plain_path_(plain_lines) {
  std::size_t max_features = 0;
  for (const ModelConfig* m : models) {
    schemas_.push_back(std::make_unique<Schema>(m));
    impl_->max_line_bytes = std::max(impl_->max_line_bytes, m->source.max_line_bytes);
    max_features = std::max(max_features, m->features.size());
  }
  impl_->number_text.resize(max_features + 64);
  record_.features.reserve(max_features);
  record_.probabilities.reserve(16);
  record_.segment.reserve(8);
}

RecordParser::~RecordParser() = default;

std::size_t RecordParser::model_count() const { return schemas_.size(); }

namespace {

enum class NumberStatus { kNumber, kNull, kWrongType, kInvalid };

// True if `v` is a well-formed null. (simdjson_result's implicit conversions throw; the
// parser never lets them.)
bool IsValidNull(ondemand::value& v) {
  bool is_null = false;
  return !v.is_null().get(is_null) && is_null;
}

// Reads a JSON number (or a rewritten NaN/Infinity sentinel) from `v`.
NumberStatus ReadNumber(ondemand::value& v, bool rewritten, double& out) {
  // Most values read here are numbers: try that first. get_double() leaves the value
  // unconsumed when it fails (another type, or a malformed number), and the checks below
  // then give the outcome they always did.
  double number = 0;
  if (!v.get_double().get(number)) {
    out = number;
    return NumberStatus::kNumber;
  }
  ondemand::json_type type;
  if (v.type().get(type)) return NumberStatus::kInvalid;
  switch (type) {
    case ondemand::json_type::number:
      if (v.get_double().get(out)) return NumberStatus::kInvalid;
      return NumberStatus::kNumber;
    case ondemand::json_type::null:
      if (!IsValidNull(v)) return NumberStatus::kInvalid;
      return NumberStatus::kNull;
    case ondemand::json_type::string: {
      if (!rewritten) return NumberStatus::kWrongType;
      std::string_view s;
      if (v.get_string().get(s)) return NumberStatus::kInvalid;
      if (s == kNanValue) {
        out = std::numeric_limits<double>::quiet_NaN();
      } else if (s == kInfValue) {
        out = std::numeric_limits<double>::infinity();
      } else if (s == kNegInfValue) {
        out = -std::numeric_limits<double>::infinity();
      } else {
        return NumberStatus::kWrongType;
      }
      return NumberStatus::kNumber;
    }
    default:
      return NumberStatus::kWrongType;
  }
}

// The high bit of every byte of `word` that equals `c` (and possibly of bytes above such a
// byte, whose borrow reaches them): the lowest bit set, if any, marks the first byte equal
// to `c` (in memory order on a little-endian machine).
constexpr std::uint64_t ByteMatches(std::uint64_t word, char c) {
  constexpr std::uint64_t kOnes = 0x0101010101010101u;
  const std::uint64_t x = word ^ (kOnes * static_cast<unsigned char>(c));
  return (x - kOnes) & ~x & (kOnes << 7);
}

// The key of `field`. A key without a backslash reads the same unescaped as in the line, so
// it is viewed where it is (in the parser's padded copy of the line, valid as long as the
// unescaped copy would be) instead of being unescaped into simdjson's string buffer. The
// line passed stage 1, so the key's closing quote is there, and any quote before the first
// backslash is that one. Returns true on error (as simdjson's get()).
bool Key(ondemand::field& field, std::string_view& out) {
  const char* begin = field.key().raw();
  const char* p = begin;
  if constexpr (std::endian::native == std::endian::little) {
    // Eight bytes at a time: no branch per byte (keys are mostly shorter than eight). The
    // closing quote lies at or after every word read, and the copy of the line has
    // SIMDJSON_PADDING bytes after it, so no word reads past the buffer.
    for (;; p += 8) {
      std::uint64_t word;
      std::memcpy(&word, p, 8);
      if (const std::uint64_t hits = ByteMatches(word, '"') | ByteMatches(word, '\\')) {
        p += std::countr_zero(hits) / 8;
        break;
      }
    }
  } else {
    while (*p != '"' && *p != '\\') ++p;
  }
  if (*p == '"') {
    out = std::string_view(begin, static_cast<std::size_t>(p - begin));
    return false;
  }
  return field.unescaped_key().get(out) != simdjson::SUCCESS;
}

// On Demand skips values nobody asks for without validating them; walk them so a broken
// token in an unmapped field still makes the line invalid. Returns false on invalid JSON.
bool ValidateValue(ondemand::value v, int depth) {
  if (depth > 64) return false;
  ondemand::json_type type;
  if (v.type().get(type)) return false;
  switch (type) {
    case ondemand::json_type::array: {
      ondemand::array arr;
      if (v.get_array().get(arr)) return false;
      for (auto element : arr) {
        ondemand::value ev;
        if (std::move(element).get(ev) || !ValidateValue(ev, depth + 1)) return false;
      }
      return true;
    }
    case ondemand::json_type::object: {
      ondemand::object obj;
      if (v.get_object().get(obj)) return false;
      for (auto field_result : obj) {
        if (field_result.error()) return false;
        ondemand::field& field = field_result.value_unsafe();
        if (!ValidateValue(field.value(), depth + 1)) return false;
      }
      return true;
    }
    case ondemand::json_type::number: {
      double d;
      return !v.get_double().get(d);
    }
    case ondemand::json_type::string: {
      ondemand::raw_json_string raw;
      return !v.get_raw_json_string().get(raw);
    }
    case ondemand::json_type::boolean: {
      bool b;
      return !v.get_bool().get(b);
    }
    case ondemand::json_type::null:
      return IsValidNull(v);
  }
  return false;
}

}  // namespace

// One record's fields, read slot by slot into the parser's Record: one method per field
// slot of the mapping, each returning the rejection of the line or nothing. Lives for one
// Parse() call.
struct RecordParser::FieldReader {
  using Outcome = std::optional<Rejection>;

  FieldReader(Impl& impl, Schema& record_schema, Record& record, bool rewritten)
      : im(impl), schema(record_schema), config(*record_schema.config), r(record), rw(rewritten) {}

  Impl& im;
  Schema& schema;
  const ModelConfig& config;
  Record& r;
  const bool rw;  // the line was rewritten: sentinel strings stand for NaN and infinities

  bool json_error = false;  // set by ReadText on invalid JSON
  bool has_timestamp = false;
  bool has_probabilities = false;
  std::string_view prediction_class;  // when `prediction` is a label (string or integer)

  static constexpr Rejection kInvalid{RejectReason::kInvalidJson, {}};

  Outcome Bad(RejectReason reason, Schema::Slot slot) const {
    return Rejection{reason, schema.FieldName(slot)};
  }

  // Reads a scalar as label text: strings as-is, numbers formatted, booleans spelled.
  // Returns false for other types (and on invalid JSON, recorded in `json_error`).
  bool ReadText(ondemand::value& v, std::string_view& out) {
    ondemand::json_type type;
    if (v.type().get(type)) {
      json_error = true;
      return false;
    }
    switch (type) {
      case ondemand::json_type::string:
        if (v.get_string().get(out)) {
          json_error = true;
          return false;
        }
        if (rw && !out.empty() && out[0] == '\0') {
          if (out == kNanValue) return false;
          const double d = out == kInfValue ? std::numeric_limits<double>::infinity()
                                            : -std::numeric_limits<double>::infinity();
          out = im.NumberText(d);
        }
        return true;
      case ondemand::json_type::number: {
        double d;
        if (v.get_double().get(d)) {
          json_error = true;
          return false;
        }
        out = im.NumberText(d);
        return !out.empty();
      }
      case ondemand::json_type::boolean: {
        bool b;
        if (v.get_bool().get(b)) {
          json_error = true;
          return false;
        }
        out = b ? "true" : "false";
        return true;
      }
      default:
        return false;
    }
  }

  // A number checked by `valid`: `got` holds it, and stays empty for null.
  template <typename Valid>
  Outcome ReadValid(ondemand::value& v, Schema::Slot slot, Valid valid,
                    std::optional<double>& got) {
    double d = 0;
    switch (ReadNumber(v, rw, d)) {
      case NumberStatus::kInvalid:
        return kInvalid;
      case NumberStatus::kWrongType:
        return Bad(RejectReason::kBadType, slot);
      case NumberStatus::kNull:
        return {};
      case NumberStatus::kNumber:
        if (!valid(d)) return Bad(RejectReason::kBadValue, slot);
        got = d;
        return {};
    }
    return {};
  }

  Outcome Read(Schema::Slot slot, ondemand::value& v) {
    switch (slot) {
      case Schema::kNone:
        if (!ValidateValue(v, 0)) return kInvalid;
        return {};
      case Schema::kModel: {
        std::string_view m;
        if (ReadText(v, m)) r.model = m;
        if (json_error) return kInvalid;
        return {};
      }
      case Schema::kTimestamp:
        return ReadTimestamp(v);
      case Schema::kRequestId:
      case Schema::kEntityId:
      case Schema::kVersion:
        return ReadId(slot, v);
      case Schema::kScore: {
        std::optional<double> d;
        Outcome o = ReadValid(
            v, slot, [](double x) { return x >= 0 && x <= 1; }, d);
        if (d) {
          r.has_score = true;
          r.score = *d;
        }
        return o;
      }
      case Schema::kPrediction:
        return ReadPrediction(v);
      case Schema::kProbabilities:
        return ReadProbabilities(v);
      case Schema::kLatency: {
        std::optional<double> d;
        Outcome o = ReadValid(
            v, slot, [](double x) { return x >= 0 && std::isfinite(x); }, d);
        if (d) {
          r.has_latency = true;
          r.latency_seconds = *d / 1000.0;  // logged in milliseconds
        }
        return o;
      }
      case Schema::kStatus:
        return ReadStatus(v);
      case Schema::kFeatures:
        return ReadFeatures(v);
      case Schema::kSegment:
        return ReadSegment(v);
    }
    return {};
  }

  Outcome ReadTimestamp(ondemand::value& v) {
    ondemand::json_type type;
    if (v.type().get(type)) return kInvalid;
    if (type == ondemand::json_type::null) {
      if (!IsValidNull(v)) return kInvalid;
      return {};
    }
    if (type == ondemand::json_type::number) {
      double d;
      if (v.get_double().get(d)) return kInvalid;
      auto t = EpochToSeconds(d);
      if (!t) return Bad(RejectReason::kBadTimestamp, Schema::kTimestamp);
      r.timestamp = *t;
    } else if (type == ondemand::json_type::string) {
      std::string_view s;
      if (v.get_string().get(s)) return kInvalid;
      auto t = ParseRfc3339(s);
      if (!t) {
        if (auto d = ParseFullDouble(s)) t = EpochToSeconds(*d);
      }
      // Before 1970 is as implausible as a negative epoch number.
      if (!t || *t < 0) return Bad(RejectReason::kBadTimestamp, Schema::kTimestamp);
      r.timestamp = *t;
    } else {
      return Bad(RejectReason::kBadType, Schema::kTimestamp);
    }
    has_timestamp = true;
    return {};
  }

  // request id, entity id, version: label text, or null.
  Outcome ReadId(Schema::Slot slot, ondemand::value& v) {
    std::string_view s;
    const bool ok = ReadText(v, s);
    if (json_error) return kInvalid;
    if (!ok) {
      bool is_null = false;
      if (v.is_null().get(is_null)) return kInvalid;
      if (!is_null) return Bad(RejectReason::kBadType, slot);
      return {};
    }
    if (slot == Schema::kRequestId) r.request_id = s;
    if (slot == Schema::kEntityId) r.entity_id = s;
    if (slot == Schema::kVersion) r.version = s;
    return {};
  }

  // Regression: a finite number. Classifiers: a class label (string, boolean or integer).
  Outcome ReadPrediction(ondemand::value& v) {
    ondemand::json_type type;
    if (v.type().get(type)) return kInvalid;
    if (type == ondemand::json_type::string && config.task != Task::kRegression) {
      if (v.get_string().get(prediction_class)) return kInvalid;
      if (rw && !prediction_class.empty() && prediction_class[0] == '\0') {
        return Bad(RejectReason::kBadValue, Schema::kPrediction);
      }
      return {};
    }
    if (type == ondemand::json_type::boolean && config.task != Task::kRegression) {
      bool b;
      if (v.get_bool().get(b)) return kInvalid;
      prediction_class = b ? "1" : "0";
      return {};
    }
    std::optional<double> d;
    Outcome o = ReadValid(
        v, Schema::kPrediction, [](double x) { return std::isfinite(x); }, d);
    if (d) {
      r.has_prediction = true;
      r.prediction = *d;
      if (config.task != Task::kRegression) prediction_class = im.NumberText(*d);
    }
    return o;
  }

  // An array in class order, or an object by class name; sets the predicted class to the
  // most probable one.
  Outcome ReadProbabilities(ondemand::value& v) {
    constexpr Schema::Slot slot = Schema::kProbabilities;
    ondemand::json_type type;
    if (v.type().get(type)) return kInvalid;
    r.probabilities.clear();
    std::string_view best_key;
    double best = -1;
    if (type == ondemand::json_type::null) return {};
    if (type == ondemand::json_type::array) {
      ondemand::array arr;
      if (v.get_array().get(arr)) return kInvalid;
      int best_index = -1;
      for (auto element : arr) {
        ondemand::value ev;
        if (std::move(element).get(ev)) return kInvalid;
        double d = 0;
        NumberStatus st = ReadNumber(ev, rw, d);
        if (st == NumberStatus::kInvalid) return kInvalid;
        if (st != NumberStatus::kNumber) return Bad(RejectReason::kBadType, slot);
        if (!(d >= 0 && d <= 1)) return Bad(RejectReason::kBadValue, slot);
        if (d > best) {
          best = d;
          best_index = static_cast<int>(r.probabilities.size());
        }
        r.probabilities.push_back(d);
      }
      if (!config.classes.empty() && r.probabilities.size() != config.classes.size()) {
        return Bad(RejectReason::kBadValue, slot);
      }
      if (best_index >= 0) {
        best_key = config.classes.empty() ? im.NumberText(best_index)
                                          : std::string_view(config.classes[best_index]);
      }
    } else if (type == ondemand::json_type::object) {
      ondemand::object po;
      if (v.get_object().get(po)) return kInvalid;
      if (!config.classes.empty()) r.probabilities.assign(config.classes.size(), 0.0);
      for (auto pf_result : po) {
        if (pf_result.error()) return kInvalid;
        ondemand::field& pf = pf_result.value_unsafe();
        std::string_view pkey;
        if (pf.unescaped_key().get(pkey)) return kInvalid;
        ondemand::value pv = pf.value();
        double d = 0;
        NumberStatus st = ReadNumber(pv, rw, d);
        if (st == NumberStatus::kInvalid) return kInvalid;
        if (st != NumberStatus::kNumber) return Bad(RejectReason::kBadType, slot);
        if (!(d >= 0 && d <= 1)) return Bad(RejectReason::kBadValue, slot);
        if (config.classes.empty()) {
          r.probabilities.push_back(d);
        } else {
          auto it = schema.class_index.find(pkey);
          if (it == schema.class_index.end()) continue;  // a class the config lacks
          r.probabilities[static_cast<std::size_t>(it->second)] = d;
          pkey = config.classes[static_cast<std::size_t>(it->second)];
        }
        if (d > best) {
          best = d;
          best_key = pkey;
        }
      }
    } else {
      return Bad(RejectReason::kBadType, slot);
    }
    if (r.probabilities.empty() || best_key.empty()) return Bad(RejectReason::kBadValue, slot);
    has_probabilities = true;
    r.predicted_class = best_key;
    return {};
  }

  // Empty or "ok" (any case) is a success; anything else names the error type.
  Outcome ReadStatus(ondemand::value& v) {
    ondemand::json_type type;
    if (v.type().get(type)) return kInvalid;
    if (type == ondemand::json_type::null) {
      if (!IsValidNull(v)) return kInvalid;
      return {};
    }
    std::string_view s;
    if (type == ondemand::json_type::boolean || !ReadText(v, s)) {
      if (json_error) return kInvalid;
      return Bad(RejectReason::kBadType, Schema::kStatus);
    }
    if (s.empty() || EqualsIgnoreCase(s, "ok")) {
      r.ok = true;
      r.status = {};
    } else {
      r.ok = false;
      r.status = s;
    }
    return {};
  }

  Outcome ReadFeatures(ondemand::value& v) {
    ondemand::json_type type;
    if (v.type().get(type)) return kInvalid;
    if (type == ondemand::json_type::null) return {};
    if (type != ondemand::json_type::object) return Bad(RejectReason::kBadType, Schema::kFeatures);
    ondemand::object fo;
    if (v.get_object().get(fo)) return kInvalid;
    std::size_t position = 0;
    for (auto ff_result : fo) {
      if (ff_result.error()) return kInvalid;
      ondemand::field& ff = ff_result.value_unsafe();
      std::string_view fkey;
      if (Key(ff, fkey)) return kInvalid;
      const int index = schema.FeatureAt(position++, fkey);
      if (index < 0) {
        if (!ValidateValue(ff.value(), 1)) return kInvalid;
        continue;
      }
      const FeatureConfig& fc = config.features[static_cast<std::size_t>(index)];
      FeatureValue& out = r.features[static_cast<std::size_t>(index)];
      out = FeatureValue{};
      if (fc.pii) {  // never read, only checked to be JSON
        if (!ValidateValue(ff.value(), 1)) return kInvalid;
        continue;
      }
      ondemand::value fv = ff.value();
      if (!(fc.type == FeatureType::kNumeric ? ReadNumericFeature(fv, out)
                                             : ReadCategoricalFeature(fv, out))) {
        return kInvalid;
      }
    }
    return {};
  }

  // A number, a boolean (0/1) or a numeric string; other strings are kept as text (the
  // drift tracker counts them as values of the wrong type); NaN and "" are missing. Returns
  // false on invalid JSON.
  bool ReadNumericFeature(ondemand::value& fv, FeatureValue& out) {
    // The common case first: a number (a failed try leaves the value as it was).
    double number = 0;
    if (!fv.get_double().get(number)) {
      if (!std::isnan(number)) {
        out.kind = FeatureValue::Kind::kNumber;
        out.number = number;
      }
      return true;
    }
    ondemand::json_type ft;
    if (fv.type().get(ft)) return false;
    if (ft == ondemand::json_type::boolean) {
      bool b;
      if (fv.get_bool().get(b)) return false;
      out.kind = FeatureValue::Kind::kNumber;
      out.number = b ? 1 : 0;
      return true;
    }
    double d = 0;
    const NumberStatus st = ReadNumber(fv, rw, d);
    if (st == NumberStatus::kInvalid) return false;
    if (st == NumberStatus::kNumber) {
      if (!std::isnan(d)) {
        out.kind = FeatureValue::Kind::kNumber;
        out.number = d;
      }
    } else if (st == NumberStatus::kWrongType && ft == ondemand::json_type::string) {
      std::string_view s;
      if (fv.get_string().get(s)) return false;
      if (auto parsed = ParseFullDouble(s); parsed && !std::isnan(*parsed)) {
        out.kind = FeatureValue::Kind::kNumber;
        out.number = *parsed;
      } else if (!s.empty() && !EqualsIgnoreCase(s, "nan")) {
        out.kind = FeatureValue::Kind::kString;
        out.text = s;
      }
    } else if (st == NumberStatus::kWrongType && !ValidateValue(fv, 1)) {
      return false;
    }
    return true;
  }

  // Label text; other types are missing. Returns false on invalid JSON.
  bool ReadCategoricalFeature(ondemand::value& fv, FeatureValue& out) {
    std::string_view s;
    const bool ok = ReadText(fv, s);
    if (json_error) return false;
    if (ok) {
      out.kind = FeatureValue::Kind::kString;
      out.text = s;
      return true;
    }
    return ValidateValue(fv, 1);
  }

  Outcome ReadSegment(ondemand::value& v) {
    ondemand::json_type type;
    if (v.type().get(type)) return kInvalid;
    if (type == ondemand::json_type::null) return {};
    if (type != ondemand::json_type::object) return Bad(RejectReason::kBadType, Schema::kSegment);
    ondemand::object so;
    if (v.get_object().get(so)) return kInvalid;
    for (auto sf_result : so) {
      if (sf_result.error()) return kInvalid;
      ondemand::field& sf = sf_result.value_unsafe();
      std::string_view skey;
      if (Key(sf, skey)) return kInvalid;
      ondemand::value sv = sf.value();
      std::string_view s;
      const bool ok = ReadText(sv, s);
      if (json_error) return kInvalid;
      if (ok) {
        r.segment.emplace_back(skey, s);
      } else if (!ValidateValue(sv, 1)) {
        return kInvalid;
      }
    }
    return {};
  }

  // After every field: the required ones by task, the served class, the default version.
  Outcome Finish() {
    if (!has_timestamp) return Bad(RejectReason::kMissingField, Schema::kTimestamp);
    if (r.version.empty()) r.version = "unknown";
    switch (config.task) {
      case Task::kBinaryClassification:
        if (r.ok && !r.has_score) return Bad(RejectReason::kMissingField, Schema::kScore);
        if (!prediction_class.empty()) {
          r.predicted_class = prediction_class;
        } else if (r.has_score) {
          r.predicted_class = r.score >= config.threshold ? "1" : "0";
        }
        break;
      case Task::kMulticlassClassification:
        if (r.ok && !has_probabilities) {
          return Bad(RejectReason::kMissingField, Schema::kProbabilities);
        }
        if (!prediction_class.empty()) r.predicted_class = prediction_class;
        break;
      case Task::kRegression:
        if (r.ok && !r.has_prediction) {
          return Bad(RejectReason::kMissingField, Schema::kPrediction);
        }
        break;
    }
    return {};
  }
};

namespace {

// Clears what the previous record left (buffers keep their capacity).
void ResetRecord(Record& r, std::string_view routed_model, std::size_t features) {
  r.timestamp = 0;
  r.model = routed_model;
  r.version = {};
  r.request_id = {};
  r.entity_id = {};
  r.has_latency = false;
  r.latency_seconds = 0;
  r.ok = true;
  r.status = {};
  r.has_score = false;
  r.score = 0;
  r.probabilities.clear();
  r.has_prediction = false;
  r.prediction = 0;
  r.predicted_class = {};
  r.features.assign(features, FeatureValue{});
  r.segment.clear();
}

}  // namespace

// A plain line's fields (plain_json.h), read as FieldReader reads them, for the lines that
// FieldReader would accept. Whatever FieldReader would reject, or might read differently,
// returns false, and simdjson's path reads the line again and decides. Lives for one
// ParsePlain() call.
struct RecordParser::PlainReader {
  using Slot = Schema::Slot;
  enum class Kind { kString, kNumber, kTrue, kFalse, kNull, kOther };

  PlainReader(Impl& impl, Schema& record_schema, Record& record)
      : im(impl), schema(record_schema), config(*record_schema.config), r(record) {}

  Impl& im;
  Schema& schema;
  const ModelConfig& config;
  Record& r;
  bool has_timestamp = false;
  bool has_probabilities = false;
  std::string_view prediction_class;

  // A scalar at `p` (after spaces): its kind, and its string or number. kOther: an object or
  // an array, not consumed.
  static bool Scalar(const char*& p, Kind& kind, std::string_view& text, double& number) {
    plain_json::SkipSpaces(p);
    switch (*p) {
      case '"':
        ++p;
        kind = Kind::kString;
        return plain_json::ScanString(p, text);
      case 't':
        kind = Kind::kTrue;
        return plain_json::ScanLiteral(p, "true");
      case 'f':
        kind = Kind::kFalse;
        return plain_json::ScanLiteral(p, "false");
      case 'n':
        kind = Kind::kNull;
        return plain_json::ScanLiteral(p, "null");
      case '{':
      case '[':
        kind = Kind::kOther;
        return true;
      default:
        kind = Kind::kNumber;
        return plain_json::ScanNumber(p, number);
    }
  }

  // FieldReader::ReadText's text of a scalar (strings, numbers, booleans); false for the rest.
  bool Text(Kind kind, std::string_view text, double number, std::string_view& out) {
    switch (kind) {
      case Kind::kString:
        out = text;
        return true;
      case Kind::kNumber:
        out = im.NumberText(number);
        return !out.empty();
      case Kind::kTrue:
        out = "true";
        return true;
      case Kind::kFalse:
        out = "false";
        return true;
      default:
        return false;
    }
  }

  // Reads the value of a field mapped to `slot` at `p` and moves past it.
  bool Field(Slot slot, const char*& p) {
    Kind kind;
    std::string_view text;
    double number = 0;
    if (slot == Schema::kNone) return plain_json::SkipValue(p, kMaxDepth);
    if (!Scalar(p, kind, text, number)) return false;
    if (kind == Kind::kNull && slot != Schema::kProbabilities) return true;  // as if absent
    switch (slot) {
      case Schema::kNone:
        return false;
      case Schema::kModel:
        if (kind == Kind::kOther) return plain_json::SkipValue(p, kMaxDepth);
        return Text(kind, text, number, r.model);
      case Schema::kTimestamp: {
        std::optional<double> t;
        if (kind == Kind::kNumber) {
          t = EpochToSeconds(number);
        } else if (kind == Kind::kString) {
          t = ParseRfc3339(text);
          if (!t) {
            if (auto d = ParseFullDouble(text)) t = EpochToSeconds(*d);
          }
          if (t && *t < 0) return false;
        }
        if (!t) return false;
        r.timestamp = *t;
        has_timestamp = true;
        return true;
      }
      case Schema::kRequestId:
        return Text(kind, text, number, r.request_id);
      case Schema::kEntityId:
        return Text(kind, text, number, r.entity_id);
      case Schema::kVersion:
        return Text(kind, text, number, r.version);
      case Schema::kScore:
        if (kind != Kind::kNumber || !(number >= 0 && number <= 1)) return false;
        r.has_score = true;
        r.score = number;
        return true;
      case Schema::kPrediction:
        if (config.task != Task::kRegression &&
            (kind == Kind::kString || kind == Kind::kTrue || kind == Kind::kFalse)) {
          prediction_class = kind == Kind::kString ? text : kind == Kind::kTrue ? "1" : "0";
          return true;
        }
        if (kind != Kind::kNumber) return false;
        r.has_prediction = true;
        r.prediction = number;
        if (config.task != Task::kRegression) prediction_class = im.NumberText(number);
        return true;
      case Schema::kProbabilities:
        r.probabilities.clear();
        if (kind == Kind::kNull) return true;
        return kind == Kind::kOther && *p == '[' && Probabilities(p);  // objects: simdjson's
      case Schema::kLatency:
        if (kind != Kind::kNumber || !(number >= 0)) return false;
        r.has_latency = true;
        r.latency_seconds = number / 1000.0;  // logged in milliseconds
        return true;
      case Schema::kStatus: {
        std::string_view s;
        if (kind == Kind::kTrue || kind == Kind::kFalse || !Text(kind, text, number, s)) {
          return false;
        }
        r.ok = s.empty() || EqualsIgnoreCase(s, "ok");
        r.status = r.ok ? std::string_view() : s;
        return true;
      }
      case Schema::kFeatures:
        return kind == Kind::kOther && *p == '{' && Features(p);
      case Schema::kSegment:
        return kind == Kind::kOther && *p == '{' && Segment(p);
    }
    return false;
  }

  // Calls `fn(key, p)` for each field of the object at `p` (at its '{'); `fn` reads the value
  // and moves `p` past it. Moves `p` past the object.
  template <typename Fn>
  static bool Object(const char*& p, Fn fn) {
    ++p;
    plain_json::SkipSpaces(p);
    if (*p == '}') {
      ++p;
      return true;
    }
    for (;;) {
      std::string_view key;
      plain_json::SkipSpaces(p);
      if (*p != '"') return false;
      ++p;
      if (!plain_json::ScanString(p, key)) return false;
      plain_json::SkipSpaces(p);
      if (*p != ':') return false;
      ++p;
      if (!fn(key, p)) return false;
      plain_json::SkipSpaces(p);
      if (*p == '}') {
        ++p;
        return true;
      }
      if (*p != ',') return false;
      ++p;
    }
  }

  bool Features(const char*& p) {
    std::size_t position = 0;
    return Object(p, [&](std::string_view key, const char*& q) {
      const int index = schema.FeatureAt(position++, key);
      if (index < 0) return plain_json::SkipValue(q, kMaxDepth - 1);
      const FeatureConfig& fc = config.features[static_cast<std::size_t>(index)];
      FeatureValue& out = r.features[static_cast<std::size_t>(index)];
      out = FeatureValue{};
      if (fc.pii) return plain_json::SkipValue(q, kMaxDepth - 1);  // never read
      Kind kind;
      std::string_view text;
      double number = 0;
      if (!Scalar(q, kind, text, number)) return false;
      if (kind == Kind::kOther) return plain_json::SkipValue(q, kMaxDepth - 1);  // missing
      if (fc.type == FeatureType::kNumeric) {
        // A number, a boolean (0/1) or a numeric string; other strings are text; "" and NaN
        // are missing (FieldReader::ReadNumericFeature).
        if (kind == Kind::kNumber || kind == Kind::kTrue || kind == Kind::kFalse) {
          out.kind = FeatureValue::Kind::kNumber;
          out.number = kind == Kind::kNumber ? number : kind == Kind::kTrue ? 1 : 0;
        } else if (kind == Kind::kString) {
          if (auto parsed = ParseFullDouble(text); parsed && !std::isnan(*parsed)) {
            out.kind = FeatureValue::Kind::kNumber;
            out.number = *parsed;
          } else if (!text.empty() && !EqualsIgnoreCase(text, "nan")) {
            out.kind = FeatureValue::Kind::kString;
            out.text = text;
          }
        }
        return true;
      }
      std::string_view s;
      if (Text(kind, text, number, s)) {
        out.kind = FeatureValue::Kind::kString;
        out.text = s;
      }
      return true;
    });
  }

  // An array of probabilities in class order (FieldReader::ReadProbabilities); sets the
  // predicted class to the most probable one.
  bool Probabilities(const char*& p) {
    ++p;
    int best_index = -1;
    double best = -1;
    plain_json::SkipSpaces(p);
    if (*p == ']') return false;  // no probability: rejected
    for (;;) {
      double d = 0;
      plain_json::SkipSpaces(p);
      if (!plain_json::ScanNumber(p, d) || !(d >= 0 && d <= 1)) return false;
      if (d > best) {
        best = d;
        best_index = static_cast<int>(r.probabilities.size());
      }
      r.probabilities.push_back(d);
      plain_json::SkipSpaces(p);
      if (*p == ']') break;
      if (*p != ',') return false;
      ++p;
    }
    ++p;
    if (!config.classes.empty() && r.probabilities.size() != config.classes.size()) return false;
    const std::string_view best_key =
        config.classes.empty()
            ? im.NumberText(best_index)
            : std::string_view(config.classes[static_cast<std::size_t>(best_index)]);
    if (best_key.empty()) return false;
    has_probabilities = true;
    r.predicted_class = best_key;
    return true;
  }

  bool Segment(const char*& p) {
    return Object(p, [&](std::string_view key, const char*& q) {
      Kind kind;
      std::string_view text;
      double number = 0;
      if (!Scalar(q, kind, text, number)) return false;
      if (kind == Kind::kOther) return plain_json::SkipValue(q, kMaxDepth - 1);
      std::string_view s;
      if (Text(kind, text, number, s)) r.segment.emplace_back(key, s);
      return true;
    });
  }

  // Nesting simdjson's path checks (ValidateValue: 64) is deeper than any plain line needs.
  static constexpr int kMaxDepth = 32;
};

bool RecordParser::ParsePlain(std::string_view line, std::size_t& model) {
  Impl& im = *impl_;
  if (im.padded.size() < line.size() + simdjson::SIMDJSON_PADDING) {
    im.padded.resize(line.size() + simdjson::SIMDJSON_PADDING + 256);
  }
  std::memcpy(im.padded.data(), line.data(), line.size());
  im.padded[line.size()] = '\0';  // the scanner's end
  im.next_number_text = 0;
  const char* p = im.padded.data();
  plain_json::SkipSpaces(p);
  if (*p != '{') return false;

  // A shared source routes by the first model field: the fields before it are read once it
  // is known.
  model = 0;
  std::string_view routed_model;
  std::array<std::pair<std::string_view, const char*>, 8> before_model;
  std::size_t n_before = 0;
  Schema* schema = schemas_.size() == 1 ? schemas_[0].get() : nullptr;
  std::optional<PlainReader> reader;
  if (schema) {
    ResetRecord(record_, routed_model, schema->config->features.size());
    reader.emplace(im, *schema, record_);
  }
  const bool ok = PlainReader::Object(p, [&](std::string_view key, const char*& q) {
    if (reader) return reader->Field(schema->Lookup(key), q);
    const Schema& first = *schemas_[0];
    if (key != first.config->source.fields.model) {
      if (n_before == before_model.size()) return false;
      before_model[n_before++] = {key, q};
      return plain_json::SkipValue(q, PlainReader::kMaxDepth);
    }
    plain_json::SkipSpaces(q);
    if (*q != '"') return false;
    const char* value = q;
    ++q;
    if (!plain_json::ScanString(q, routed_model)) return false;
    model = schemas_.size();
    for (std::size_t i = 0; i < schemas_.size(); ++i) {
      if (schemas_[i]->config->name == routed_model) model = i;
    }
    if (model == schemas_.size()) return false;
    schema = schemas_[model].get();
    ResetRecord(record_, routed_model, schema->config->features.size());
    reader.emplace(im, *schema, record_);
    for (std::size_t i = 0; i < n_before; ++i) {
      const char* at = before_model[i].second;
      if (!reader->Field(schema->Lookup(before_model[i].first), at)) return false;
    }
    return reader->Field(schema->Lookup(key), value);
  });
  if (!ok || !reader) return false;
  plain_json::SkipSpaces(p);
  if (p != im.padded.data() + line.size()) return false;  // anything after the object

  FieldReader finish(im, *schema, record_, false);
  finish.has_timestamp = reader->has_timestamp;
  finish.has_probabilities = reader->has_probabilities;
  finish.prediction_class = reader->prediction_class;
  return !finish.Finish();
}

tl::expected<std::size_t, Rejection> RecordParser::Parse(std::string_view line) {
  Impl& im = *impl_;
  if (line.size() > im.max_line_bytes)
    return tl::unexpected<Rejection>({RejectReason::kTooLong, {}});
  // Tolerate CRLF logs.
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // Most lines are plain JSON: read without simdjson, which reads all others.
  if (std::size_t model = 0; plain_path_ && ParsePlain(line, model)) {
    ++plain_lines_;
    return model;
  }
  // Bare NaN / Infinity tokens and numbers beyond a double make a line invalid JSON: only
  // then is it rewritten (sentinel strings in their place) and parsed again, so that a
  // well-formed line is read once and never scanned for them.
  auto parsed = ParseText(line, false);
  if (parsed || parsed.error().reason != RejectReason::kInvalidJson || !im.Rewrite(line)) {
    return parsed;
  }
  return ParseText(im.rewritten, true);
}

tl::expected<std::size_t, Rejection> RecordParser::ParseText(std::string_view text,
                                                             bool rewritten) {
  using Reject = tl::unexpected<Rejection>;
  constexpr Rejection invalid = FieldReader::kInvalid;
  Impl& im = *impl_;
  if (im.padded.size() < text.size() + simdjson::SIMDJSON_PADDING) {
    im.padded.resize(text.size() + simdjson::SIMDJSON_PADDING + 256);
  }
  std::memcpy(im.padded.data(), text.data(), text.size());
  std::memset(im.padded.data() + text.size(), ' ', simdjson::SIMDJSON_PADDING);
  im.next_number_text = 0;

  ondemand::document doc;
  if (im.parser.iterate(im.padded.data(), text.size(), im.padded.size()).get(doc)) {
    return Reject(invalid);
  }
  ondemand::object obj;
  if (doc.get_object().get(obj)) return Reject(invalid);

  // Route shared sources by the model field before interpreting the rest.
  std::size_t model_index = 0;
  std::string_view routed_model;
  if (schemas_.size() > 1) {
    const std::string& key = schemas_[0]->config->source.fields.model;
    ondemand::value mv;
    auto err = obj.find_field_unordered(key).get(mv);
    if (err == simdjson::NO_SUCH_FIELD) {
      return Reject({RejectReason::kMissingField, schemas_[0]->FieldName(Schema::kModel)});
    }
    if (err) return Reject(invalid);
    ondemand::json_type type;
    if (mv.type().get(type)) return Reject(invalid);
    if (type != ondemand::json_type::string) {
      return Reject({RejectReason::kBadType, schemas_[0]->FieldName(Schema::kModel)});
    }
    if (mv.get_string().get(routed_model)) return Reject(invalid);
    model_index = schemas_.size();
    for (std::size_t i = 0; i < schemas_.size(); ++i) {
      if (schemas_[i]->config->name == routed_model) model_index = i;
    }
    if (model_index == schemas_.size()) return Reject({RejectReason::kUnknownModel, {}});
    doc.rewind();
    if (doc.get_object().get(obj)) return Reject(invalid);
  }
  Schema& schema = *schemas_[model_index];
  ResetRecord(record_, routed_model, schema.config->features.size());

  FieldReader reader(im, schema, record_, rewritten);
  for (auto field_result : obj) {
    if (field_result.error()) return Reject(invalid);
    ondemand::field& field = field_result.value_unsafe();
    std::string_view key;
    if (Key(field, key)) return Reject(invalid);
    ondemand::value v = field.value();
    if (auto rejected = reader.Read(schema.Lookup(key), v)) return Reject(*rejected);
  }
  // Anything after the object (a second document, garbage) makes the line invalid.
  const char* trailing = nullptr;
  if (!doc.current_location().get(trailing)) return Reject(invalid);
  if (auto rejected = reader.Finish()) return Reject(*rejected);
  return model_index;
}

}  // namespace modelwatch
