// A recent sample of one model's records, for a person to look at: the DegradationScore
// alert links to it (/api/v1/samples/<model>), so on-call sees what the model was fed and
// answered without access to the log host.
//
// Every `every`-th accepted record is kept, rendered at once as one JSON object; the newest
// `capacity` are held (memory: capacity x one rendered record). PII features, the request
// id and the entity id are never kept. Not thread-safe: the caller serialises all calls.
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

  void Observe(const Record& record);  // renders only the records it keeps

  // {"model": ..., "every": N, "records": [newest first]}; one JSON document.
  std::string ToJson() const;

  std::size_t size() const { return ring_.size(); }

 private:
  std::string Render(const Record& record) const;

  std::string model_;
  std::vector<std::string> classes_;
  std::vector<std::string> features_;  // config order; empty for a PII feature
  std::size_t capacity_;
  std::uint64_t every_;
  std::uint64_t seen_ = 0;
  std::vector<std::string> ring_;  // rendered records; next_ is the oldest once full
  std::size_t next_ = 0;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_SAMPLE_RECENT_RECORDS_H_
