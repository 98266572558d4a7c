// A parse's whole outcome as text, for tests that compare two parsers line by line: the
// rejection (reason and field), or the model index and every field of the record, numbers
// as their bits (so -0 and 0 differ, as they would to a histogram's bucket edge).
#ifndef MODELWATCH_TESTS_UNIT_EXPORTER_PARSE_OUTCOME_H_
#define MODELWATCH_TESTS_UNIT_EXPORTER_PARSE_OUTCOME_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "exporter/parse/record_parser.h"

namespace modelwatch::testing {

inline std::string Bits(double v) {
  std::uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return std::to_string(b);
}

// Parses `line` with `parser` and describes the outcome.
inline std::string ParseOutcome(RecordParser& parser, std::string_view line) {
  auto parsed = parser.Parse(line);
  if (!parsed) {
    return std::string("rejected ") + RejectReasonName(parsed.error().reason) + " " +
           std::string(parsed.error().field);
  }
  const Record& r = parser.record();
  std::string s = "model " + std::to_string(*parsed);
  auto text = [&](const char* name, std::string_view v) {
    s += std::string(" ") + name + "=[" + std::string(v) + "]";
  };
  auto number = [&](const char* name, double v) { s += std::string(" ") + name + "=" + Bits(v); };
  number("ts", r.timestamp);
  text("model", r.model);
  text("version", r.version);
  text("request", r.request_id);
  text("entity", r.entity_id);
  s += r.has_latency ? " latency" : " -";
  number("latency", r.latency_seconds);
  s += r.ok ? " ok" : " failed";
  text("status", r.status);
  s += r.has_score ? " score" : " -";
  number("score", r.score);
  for (double p : r.probabilities) number("p", p);
  s += r.has_prediction ? " prediction" : " -";
  number("prediction", r.prediction);
  text("class", r.predicted_class);
  for (const FeatureValue& f : r.features) {
    s += " f" + std::to_string(static_cast<int>(f.kind));
    if (f.kind == FeatureValue::Kind::kNumber) number("", f.number);
    text("", f.text);
  }
  for (const auto& [key, value] : r.segment)
    s += " seg[" + std::string(key) + "=" + std::string(value) + "]";
  return s;
}

}  // namespace modelwatch::testing

#endif  // MODELWATCH_TESTS_UNIT_EXPORTER_PARSE_OUTCOME_H_
