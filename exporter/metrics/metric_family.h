// Families built from the metric catalogue (core/metric_catalogue.h): the only way the
// exporter names a family, so that its name, type and help exist once.
#ifndef MODELWATCH_EXPORTER_METRICS_METRIC_FAMILY_H_
#define MODELWATCH_EXPORTER_METRICS_METRIC_FAMILY_H_

#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include "core/metric_catalogue.h"

namespace modelwatch {

prometheus::MetricType PrometheusType(MetricKind kind);

// An empty family (no samples yet) with the entry's name, type and help.
prometheus::MetricFamily MakeFamily(const MetricSpec& spec);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_METRICS_METRIC_FAMILY_H_
