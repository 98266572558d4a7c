// A recent sample of one model's records, for a person to look at: the DegradationScore
// alert links to it (/api/v1/samples/<model>), so on-call sees what the model was fed and
// answered without access to the log host.
//
// Every `every`-th accepted record is kept: its shown fields are copied into a ring slot
// (slots and their buffers are reused, so a warm ring allocates nothing for records of the
// usual shape) and rendered as one JSON object only when ToJson() is asked for. The newest
// `capacity` are held (memory: capacity x one record's shown fields). PII features, the
// request id and the entity id are never kept. Not thread-safe: the caller serialises all
// calls.
#ifndef MODELWATCH_EXPORTER_SAMPLE_RECENT_RECORDS_H_
#define MODELWATCH_EXPORTER_SAMPLE_RECENT_RECORDS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "exporter/parse/record.h"

namespace modelwatch {

class RecentRecords {
 public:
  // capacity >= 1, every >= 1.
  RecentRecords(const ModelConfig& model, std::size_t capacity, std::uint64_t every);

  void Observe(const Record& record);  // copies only the records it keeps

  // {"model": ..., "every": N, "records": [newest first]}; one JSON document.
  std::string ToJson() const;

  std::size_t size() const { return ring_.size(); }

 private:
  // The shown fields of one kept record (the strings are copies, the record's views are not
  // kept). Features follow features_; a PII feature's slot stays kMissing and is not shown.
  struct Feature {
    FeatureValue::Kind kind = FeatureValue::Kind::kMissing;
    double number = 0;
    std::string text;
  };
  struct Kept {
    double timestamp = 0;
    std::string version;
    bool ok = true;
    std::string status;  // when !ok
    bool has_latency = false;
    double latency_seconds = 0;
    bool has_score = false;
    double score = 0;
    std::vector<double> probabilities;
    bool has_prediction = false;
    double prediction = 0;
    std::string predicted_class;
    std::vector<Feature> features;  // min(features_.size(), record's features) entries
  };

  void Keep(const Record& record, Kept& slot) const;
  std::string Render(const Kept& record) const;

  std::string model_;
  std::vector<std::string> classes_;
  std::vector<std::string> features_;  // config order; empty for a PII feature
  std::size_t capacity_;
  std::uint64_t every_;
  std::uint64_t seen_ = 0;
  std::vector<Kept> ring_;  // kept records; next_ is the oldest once full
  std::size_t next_ = 0;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_SAMPLE_RECENT_RECORDS_H_
