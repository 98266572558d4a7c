// Prediction-log line -> Record, per the models sharing one source.
#ifndef MODELWATCH_EXPORTER_PARSE_RECORD_PARSER_H_
#define MODELWATCH_EXPORTER_PARSE_RECORD_PARSER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "core/config.h"
#include "exporter/parse/record.h"

namespace modelwatch {

// Why a line was not accepted. The names are the `reason` label values of
// modelwatch_lines_rejected_total.
enum class RejectReason {
  kInvalidJson,      // not a JSON object (syntax error, trailing garbage, other top-level type)
  kMissingField,     // a required field is absent or null (timestamp; output field when ok)
  kBadType,          // a field has the wrong JSON type (e.g. a string score)
  kBadValue,         // right type, unusable value (score outside [0,1], NaN output, ...)
  kBadTimestamp,     // timestamp neither RFC 3339 nor epoch seconds/milliseconds
  kTooLong,          // longer than source.max_line_bytes
  kUnknownModel,     // shared source: the model field names none of its models
  kFutureTimestamp,  // event time beyond the clock plus the future tolerance (set by the
                     // caller, see exporter/parse/event_time_guard.h; Parse() never returns it)
};
inline constexpr int kRejectReasonCount = 8;

// "invalid_json", "missing_field", ...
const char* RejectReasonName(RejectReason reason);

struct Rejection {
  RejectReason reason = RejectReason::kInvalidJson;
  std::string_view field;  // the offending record field name when known; static storage
                           // or the parser's config (valid while the parser lives)
};

// Parses an RFC 3339 timestamp (`2026-11-22T10:00:00.123Z`, `...+02:00`; `t`/`z`/space
// accepted) into Unix seconds. Returns nullopt for anything else.
std::optional<double> ParseRfc3339(std::string_view text);

// Interprets an epoch number: values >= 1e11 are milliseconds, smaller ones seconds.
// Returns nullopt for non-finite or negative values.
std::optional<double> EpochToSeconds(double value);

// Formats a number for a label value: integral values without ".0" ("1", "-3"),
// others in shortest round-trip form. Writes at most 32 bytes into `buf`.
std::string_view FormatNumber(double value, std::array<char, 32>& buf);

// Parses lines for the models reading one source (one file set). With a single model every
// record belongs to it; with several, the record's model field (the first model's
// `source.fields.model` name) routes it, and a name matching none is kUnknownModel.
//
// Pure: no I/O, never throws, accepts any byte sequence. Buffers are reused: once warm,
// Parse() allocates nothing. Not thread-safe; one parser per ingest thread.
class RecordParser {
 public:
  // `models` must be non-empty and outlive the parser. `plain_lines` false reads every line
  // with simdjson (the plain-line path off): for tests that compare the two paths.
  explicit RecordParser(std::vector<const ModelConfig*> models, bool plain_lines = true);
  ~RecordParser();
  RecordParser(const RecordParser&) = delete;
  RecordParser& operator=(const RecordParser&) = delete;

  // Returns the index in `models` of the model the record belongs to; the record is then
  // available through record() until the next Parse() call.
  tl::expected<std::size_t, Rejection> Parse(std::string_view line);

  const Record& record() const { return record_; }
  // Lines the plain-line path read (ParsePlain); simdjson read the others.
  std::uint64_t plain_lines() const { return plain_lines_; }
  std::size_t model_count() const;

 private:
  struct Schema;
  struct Impl;
  struct FieldReader;  // one record's fields, slot by slot
  struct PlainReader;  // the same for a plain line, without simdjson (plain_json.h)

  // Parse() of `text`, read as is (`rewritten` false) or with sentinel strings in place of
  // NaN, Infinity and numbers beyond a double (Impl::Rewrite).
  tl::expected<std::size_t, Rejection> ParseText(std::string_view text, bool rewritten);
  // Parse() of a plain line (plain_json.h) that simdjson would accept: true, and the record
  // and `model` set. False for any other line, and for any rejection: ParseText() decides.
  bool ParsePlain(std::string_view line, std::size_t& model);

  std::vector<std::unique_ptr<Schema>> schemas_;
  std::unique_ptr<Impl> impl_;
  Record record_;
  bool plain_path_ = true;
  std::uint64_t plain_lines_ = 0;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_PARSE_RECORD_PARSER_H_
