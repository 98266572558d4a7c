#include "exporter/replay/openmetrics_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/atomic_file.h"

namespace modelwatch {
namespace {

// Escapes backslashes, newlines and (`quote`) double quotes. A NUL byte (e.g. an escaped
// \u0000 in a logged version) is written as U+FFFD, as on /metrics.
std::string Escape(const std::string& s, bool quote) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\0') {
      out += "\xEF\xBF\xBD";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

const char* TypeName(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Histogram:
      return "histogram";
    case prometheus::MetricType::Summary:
      return "summary";
    default:
      return "unknown";
  }
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// `{a="x",b="y"}` with an optional extra label last (le, quantile); empty without labels.
std::string Labels(const std::vector<prometheus::ClientMetric::Label>& labels,
                   const char* extra_name = nullptr, const std::string& extra_value = "") {
  if (labels.empty() && extra_name == nullptr) return "";
  std::string out = "{";
  for (const auto& l : labels) {
    if (out.size() > 1) out += ",";
    out += l.name + "=\"" + Escape(l.value, true) + "\"";
  }
  if (extra_name != nullptr) {
    if (out.size() > 1) out += ",";
    out += std::string(extra_name) + "=\"" + extra_value + "\"";
  }
  return out + "}";
}

}  // namespace

std::string OpenMetricsNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

OpenMetricsWriter::OpenMetricsWriter(std::string spool_dir) : spool_dir_(std::move(spool_dir)) {}

OpenMetricsWriter::~OpenMetricsWriter() {
  for (auto& f : families_) {
    f->spool.close();
    std::error_code ec;
    std::filesystem::remove(f->spool_path, ec);
  }
}

OpenMetricsWriter::Family& OpenMetricsWriter::FamilyFor(const prometheus::MetricFamily& f) {
  auto it = by_name_.find(f.name);
  if (it != by_name_.end()) return *it->second;
  auto family = std::make_unique<Family>();
  family->name = f.name;
  if (f.type == prometheus::MetricType::Counter && EndsWith(f.name, "_total")) {
    family->name = f.name.substr(0, f.name.size() - 6);
  }
  family->help = f.help;
  family->type = f.type;
  family->spool_path = spool_dir_ + "/family-" + std::to_string(families_.size());
  family->spool.open(family->spool_path, std::ios::binary | std::ios::trunc);
  Family* raw = family.get();
  families_.push_back(std::move(family));
  by_name_.emplace(f.name, raw);
  return *raw;
}

Result<void> OpenMetricsWriter::Add(const std::vector<prometheus::MetricFamily>& families,
                                    double timestamp) {
  const std::string ts = " " + OpenMetricsNumber(timestamp) + "\n";
  for (const auto& f : families) {
    if (f.metric.empty()) continue;
    Family& family = FamilyFor(f);
    if (family.type != f.type) {
      return MakeError("metric family " + f.name + " changed its type between steps");
    }
    std::ofstream& out = family.spool;
    for (const auto& m : f.metric) {
      switch (f.type) {
        case prometheus::MetricType::Counter:
          out << family.name << "_total" << Labels(m.label) << " "
              << OpenMetricsNumber(m.counter.value) << ts;
          ++samples_;
          break;
        case prometheus::MetricType::Histogram: {
          bool has_inf = false;
          for (const auto& b : m.histogram.bucket) {
            has_inf = has_inf || std::isinf(b.upper_bound);
            out << family.name << "_bucket"
                << Labels(m.label, "le", OpenMetricsNumber(b.upper_bound)) << " "
                << b.cumulative_count << ts;
          }
          if (!has_inf) {
            out << family.name << "_bucket" << Labels(m.label, "le", "+Inf") << " "
                << m.histogram.sample_count << ts;
          }
          out << family.name << "_count" << Labels(m.label) << " " << m.histogram.sample_count
              << ts;
          out << family.name << "_sum" << Labels(m.label) << " "
              << OpenMetricsNumber(m.histogram.sample_sum) << ts;
          samples_ += m.histogram.bucket.size() + (has_inf ? 2 : 3);
          break;
        }
        case prometheus::MetricType::Gauge:
          out << family.name << Labels(m.label) << " " << OpenMetricsNumber(m.gauge.value) << ts;
          ++samples_;
          break;
        default:
          out << family.name << Labels(m.label) << " " << OpenMetricsNumber(m.untyped.value) << ts;
          ++samples_;
      }
    }
    if (!out)
      return MakeError("cannot write to " + family.spool_path + ": " + std::strerror(errno));
  }
  return {};
}

Result<void> OpenMetricsWriter::Finish(const std::string& path) {
  auto out = AtomicFileWriter::Create(path);
  if (!out) return tl::unexpected(out.error());
  std::string buffer(1 << 16, '\0');
  for (auto& f : families_) {
    f->spool.close();
    if (auto ok = out->Write("# HELP " + f->name + " " + Escape(f->help, false) + "\n# TYPE " +
                             f->name + " " + TypeName(f->type) + "\n");
        !ok) {
      return ok;
    }
    std::ifstream in(f->spool_path, std::ios::binary);
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      const auto n = static_cast<std::size_t>(in.gcount());
      if (n == 0) break;
      if (auto ok = out->Write(std::string_view(buffer.data(), n)); !ok) return ok;
    }
    if (in.bad()) return MakeError("cannot read " + f->spool_path + ": " + std::strerror(errno));
  }
  if (auto ok = out->Write("# EOF\n"); !ok) return ok;
  return out->Commit();
}

}  // namespace modelwatch
