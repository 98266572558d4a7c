// What /metrics serves: the families the trackers emit at scrape time, merged by name, and
// families some tracker wrote in the text format already (the drift statistics of a model
// that read nothing since the last scrape are served as written then).
#ifndef MODELWATCH_EXPORTER_METRICS_FAMILY_MERGE_H_
#define MODELWATCH_EXPORTER_METRICS_FAMILY_MERGE_H_

#include <prometheus/metric_family.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace modelwatch {

// Merges families with equal names into one (the first one's help and type win; a family
// whose type differs from the first one's is dropped, and its name returned in `conflicts`
// when non-null), drops families without metrics, and orders families by name. Series keep
// their relative order. Identical label sets within a family are kept once (the first).
// A NUL byte in a label value is replaced by U+FFFD.
std::vector<prometheus::MetricFamily> MergeFamilies(std::vector<prometheus::MetricFamily> in,
                                                    std::vector<std::string>* conflicts = nullptr);

// One family's series written in the text format (0.0.4), without its HELP and TYPE lines.
struct RenderedFamily {
  std::string name;
  std::string help;
  prometheus::MetricType type = prometheus::MetricType::Untyped;
  std::string lines;
};
using RenderedFamilies = std::shared_ptr<const std::vector<RenderedFamily>>;

// MergeFamilies(families), each family's series written.
std::vector<RenderedFamily> RenderFamilies(std::vector<prometheus::MetricFamily> families);

// Serialises families in the Prometheus text format (0.0.4), in the order given, as
// prometheus-cpp 1.0.1's TextSerializer does, byte for byte. Each `rendered` family's series
// follow those of the first family of its name (a rendered family whose type differs from
// that family's is dropped); rendered families no family in `families` names follow, in
// order of first appearance, under the first one's help and type. Series of `rendered` are
// not checked for duplicates: each source must write series no other one writes (a model's
// drift series carry its own `model` label).
std::string SerializeText(const std::vector<prometheus::MetricFamily>& families,
                          const std::vector<RenderedFamilies>& rendered = {});

// What a scrape collects before it is merged and written.
struct Exposition {
  // Families collected at this scrape, in the order of their sources.
  std::vector<prometheus::MetricFamily> families;
  // Families some source wrote in the text format already, each merged as if its families
  // had been collected where it was added (AddInPlace): `first` is families.size() then.
  // Their series are not checked for duplicates (see SerializeText).
  std::vector<std::pair<std::size_t, RenderedFamilies>> in_place;
  // Families written already that follow every collected family of their name, as the
  // `rendered` argument of SerializeText (a model's drift series).
  std::vector<RenderedFamilies> rendered;

  void AddInPlace(RenderedFamilies part) {
    in_place.emplace_back(families.size(), std::move(part));
  }
};

// Appends to `out` what SerializeText(MergeFamilies(collected), e.rendered) writes, where
// `collected` is e.families with each in-place part's families put back where it was added
// (byte for byte, given that an in-place part's series are those RenderFamilies wrote, that
// no other source writes a series with the same labels, and that every family of an in-place
// part's name has its help and type, as families built from the metric catalogue do).
// Replaces NUL bytes in e.families' label values.
void WriteExposition(Exposition& e, std::string& out);

// Thread-safe if `source` is: Text() and Write() may run on several HTTP threads at once.
class MergingCollector {
 public:
  using Source = std::function<void(Exposition& out)>;

  explicit MergingCollector(Source source) : source_(std::move(source)) {}

  // The source's exposition plus `extra` families, merged and written.
  std::string Text(std::vector<prometheus::MetricFamily> extra = {}) const;
  // The same, appended to `out` (a scrape writes into a buffer it reuses).
  void Write(std::string& out, std::vector<prometheus::MetricFamily> extra = {}) const;

 private:
  Source source_;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_METRICS_FAMILY_MERGE_H_
