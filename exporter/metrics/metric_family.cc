#include "exporter/metrics/metric_family.h"

#include <string>

namespace modelwatch {

prometheus::MetricType PrometheusType(MetricKind kind) {
  switch (kind) {
    case MetricKind::kCounter:
      return prometheus::MetricType::Counter;
    case MetricKind::kGauge:
      return prometheus::MetricType::Gauge;
    case MetricKind::kHistogram:
      return prometheus::MetricType::Histogram;
    case MetricKind::kSummary:
      return prometheus::MetricType::Summary;
  }
  return prometheus::MetricType::Untyped;
}

prometheus::MetricFamily MakeFamily(const MetricSpec& spec) {
  prometheus::MetricFamily f;
  f.name = std::string(spec.name);
  f.help = std::string(spec.help);
  f.type = PrometheusType(spec.kind);
  return f;
}

}  // namespace modelwatch
