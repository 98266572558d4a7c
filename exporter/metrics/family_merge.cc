#include "exporter/metrics/family_merge.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace modelwatch {

namespace {

using Labels = std::vector<prometheus::ClientMetric::Label>;

// A hash of a label set that ignores the labels' order.
std::uint64_t UnorderedHash(const Labels& labels) {
  std::uint64_t h = labels.size();
  const std::hash<std::string_view> hash;
  for (const auto& l : labels) {
    std::uint64_t x = (hash(l.name) * 0x9E3779B97F4A7C15ULL) ^ hash(l.value);
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ULL;
    h += x ^ (x >> 32);  // a sum: the same in any order
  }
  return h;
}

bool SameLabelSet(const Labels& a, const Labels& b) {
  if (a.size() != b.size()) return false;
  Labels x = a, y = b;
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  return x == y;
}

// Flags (1) every one of `n` series whose label set (`labels(i)`) an earlier one has; returns
// whether any is. A scrape of a large fleet has tens of thousands of series in a family: they
// are sorted by a hash of their label set, and only series of equal hash are compared in full.
template <typename LabelsOf>
bool FlagDuplicates(std::size_t n, const LabelsOf& labels, std::vector<char>& drop) {
  std::vector<std::pair<std::uint64_t, std::size_t>> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = {UnorderedHash(labels(i)), i};
  std::sort(order.begin(), order.end());
  drop.assign(n, 0);
  bool any = false;
  for (std::size_t run = 0; run < order.size();) {
    std::size_t end = run + 1;
    while (end < order.size() && order[end].first == order[run].first) ++end;
    // Within a run of equal hashes (in index order), each series against the earlier kept.
    for (std::size_t i = run + 1; i < end; ++i) {
      for (std::size_t j = run; j < i; ++j) {
        if (drop[order[j].second] == 0 &&
            SameLabelSet(labels(order[j].second), labels(order[i].second))) {
          drop[order[i].second] = 1;
          any = true;
          break;
        }
      }
    }
    run = end;
  }
  return any;
}

// Removes from `metrics` every series whose label set an earlier one has, keeping the order.
void DropDuplicateSeries(std::vector<prometheus::ClientMetric>& metrics) {
  std::vector<char> drop;
  if (!FlagDuplicates(
          metrics.size(), [&](std::size_t i) -> const Labels& { return metrics[i].label; }, drop)) {
    return;
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    if (drop[i] == 0) {
      if (kept != i) metrics[kept] = std::move(metrics[i]);
      ++kept;
    }
  }
  metrics.resize(kept);
}

// A NUL byte (e.g. an escaped \u0000 in a logged version) never reaches the exposition.
void ReplaceNul(std::vector<prometheus::ClientMetric>& metrics) {
  for (auto& m : metrics) {
    for (auto& label : m.label) {
      for (std::size_t pos; (pos = label.value.find('\0')) != std::string::npos;) {
        label.value.replace(pos, 1, "\xEF\xBF\xBD");  // U+FFFD
      }
    }
  }
}

}  // namespace

std::vector<prometheus::MetricFamily> MergeFamilies(std::vector<prometheus::MetricFamily> in,
                                                    std::vector<std::string>* conflicts) {
  std::map<std::string, prometheus::MetricFamily> by_name;
  for (prometheus::MetricFamily& f : in) {
    auto [it, inserted] = by_name.try_emplace(f.name);
    prometheus::MetricFamily& merged = it->second;
    if (inserted) {
      merged.name = f.name;
      merged.help = std::move(f.help);
      merged.type = f.type;
      merged.metric = std::move(f.metric);
    } else if (merged.type != f.type) {
      if (conflicts != nullptr) conflicts->push_back(f.name);
      continue;
    } else {
      merged.metric.insert(merged.metric.end(), std::make_move_iterator(f.metric.begin()),
                           std::make_move_iterator(f.metric.end()));
    }
  }
  std::vector<prometheus::MetricFamily> out;
  out.reserve(by_name.size());
  for (auto& [name, family] : by_name) {
    if (family.metric.empty()) continue;
    ReplaceNul(family.metric);
    DropDuplicateSeries(family.metric);
    out.push_back(std::move(family));
  }
  return out;
}

namespace {

// The text format as prometheus-cpp 1.0.1's TextSerializer writes it, byte for byte (a unit
// test compares the two), without its ostream: doubles as printf's %.16g, "Nan", "+Inf",
// "-Inf"; label values with backslash, double quote and newline escaped.
class TextWriter {
 public:
  explicit TextWriter(std::string& out) : out_(out) {}

  void Raw(std::string_view s) { out_.append(s); }
  void Char(char c) { out_.push_back(c); }

  void Double(double v) {
    if (std::isnan(v)) {
      Raw("Nan");
    } else if (std::isinf(v)) {
      Raw(v < 0 ? "-Inf" : "+Inf");
    } else if (v != 0 && std::abs(v) < 1e15 && v == std::trunc(v)) {
      Integer(static_cast<std::int64_t>(v));  // what %.16g writes for an integer below 1e15
    } else {
      char buf[40];
      const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 16);
      out_.append(buf, r.ptr);
    }
  }

  template <typename T>
  void Integer(T v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
  }

  void Escaped(std::string_view s) {
    std::size_t from = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      if (c != '\\' && c != '"' && c != '\n') continue;
      out_.append(s.substr(from, i - from));
      out_.append(c == '\n' ? "\\n" : c == '"' ? "\\\"" : "\\\\");
      from = i + 1;
    }
    out_.append(s.substr(from));
  }

  // name + suffix + {labels[,extra="value"]} + ' '; the value follows. The extra label's
  // value is `extra_number` when given, else `extra_text`.
  void Head(std::string_view name, const prometheus::ClientMetric& m, std::string_view suffix = {},
            std::string_view extra = {}, const double* extra_number = nullptr,
            std::string_view extra_text = {}) {
    Raw(name);
    Raw(suffix);
    if (!m.label.empty() || !extra.empty()) {
      Char('{');
      const char* sep = "";
      for (const auto& l : m.label) {
        Raw(sep);
        Raw(l.name);
        Raw("=\"");
        Escaped(l.value);
        Char('"');
        sep = ",";
      }
      if (!extra.empty()) {
        Raw(sep);
        Raw(extra);
        Raw("=\"");
        if (extra_number != nullptr) {
          Double(*extra_number);
        } else {
          Escaped(extra_text);
        }
        Char('"');
      }
      Char('}');
    }
    Char(' ');
  }

  void Tail(const prometheus::ClientMetric& m) {
    if (m.timestamp_ms != 0) {
      Char(' ');
      Integer(m.timestamp_ms);
    }
    Char('\n');
  }

 private:
  std::string& out_;
};

std::string_view TypeName(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Summary:
      return "summary";
    case prometheus::MetricType::Histogram:
      return "histogram";
    case prometheus::MetricType::Untyped:
      break;
  }
  return "untyped";
}

// One series of family `name` of type `type`.
void WriteMetric(TextWriter& w, std::string_view name, prometheus::MetricType type,
                 const prometheus::ClientMetric& m) {
  const std::string_view f = name;
  switch (type) {
    case prometheus::MetricType::Counter:
      w.Head(f, m);
      w.Double(m.counter.value);
      w.Tail(m);
      return;
    case prometheus::MetricType::Gauge:
      w.Head(f, m);
      w.Double(m.gauge.value);
      w.Tail(m);
      return;
    case prometheus::MetricType::Untyped:
      w.Head(f, m);
      w.Double(m.untyped.value);
      w.Tail(m);
      return;
    case prometheus::MetricType::Summary:
      w.Head(f, m, "_count");
      w.Integer(m.summary.sample_count);
      w.Tail(m);
      w.Head(f, m, "_sum");
      w.Double(m.summary.sample_sum);
      w.Tail(m);
      for (const auto& q : m.summary.quantile) {
        w.Head(f, m, {}, "quantile", &q.quantile);
        w.Double(q.value);
        w.Tail(m);
      }
      return;
    case prometheus::MetricType::Histogram: {
      const auto& h = m.histogram;
      w.Head(f, m, "_count");
      w.Integer(h.sample_count);
      w.Tail(m);
      w.Head(f, m, "_sum");
      w.Double(h.sample_sum);
      w.Tail(m);
      double last = -std::numeric_limits<double>::infinity();
      for (const auto& b : h.bucket) {
        w.Head(f, m, "_bucket", "le", &b.upper_bound);
        last = b.upper_bound;
        w.Integer(b.cumulative_count);
        w.Tail(m);
      }
      if (last != std::numeric_limits<double>::infinity()) {
        w.Head(f, m, "_bucket", "le", nullptr, "+Inf");
        w.Integer(h.sample_count);
        w.Tail(m);
      }
      return;
    }
  }
}

// The HELP (unless empty) and TYPE lines of a family.
void WriteHeader(TextWriter& w, std::string_view name, const std::string& help,
                 prometheus::MetricType type) {
  if (!help.empty()) {
    w.Raw("# HELP ");
    w.Raw(name);
    w.Char(' ');
    w.Raw(help);
    w.Char('\n');
  }
  w.Raw("# TYPE ");
  w.Raw(name);
  w.Char(' ');
  w.Raw(TypeName(type));
  w.Char('\n');
}

// About the bytes WriteMetric writes for `m` (128 a line), to reserve the text's buffer once.
std::size_t EstimatedBytes(prometheus::MetricType type, const prometheus::ClientMetric& m) {
  constexpr std::size_t kLine = 128;
  switch (type) {
    case prometheus::MetricType::Histogram:
      return (m.histogram.bucket.size() + 3) * kLine;
    case prometheus::MetricType::Summary:
      return (m.summary.quantile.size() + 2) * kLine;
    default:
      return kLine;
  }
}

}  // namespace

std::vector<RenderedFamily> RenderFamilies(std::vector<prometheus::MetricFamily> families) {
  std::vector<RenderedFamily> out;
  for (const auto& f : MergeFamilies(std::move(families))) {
    RenderedFamily& r = out.emplace_back();
    r.name = f.name;
    r.help = f.help;
    r.type = f.type;
    r.lines.reserve(f.metric.size() * 128);
    TextWriter w(r.lines);
    for (const auto& m : f.metric) WriteMetric(w, f.name, f.type, m);
  }
  return out;
}

std::string SerializeText(const std::vector<prometheus::MetricFamily>& families,
                          const std::vector<RenderedFamilies>& rendered) {
  // What is written under each family name: the first family of that name in `families`
  // or, for a name only `rendered` has, the first rendered family's help and type.
  struct Block {
    std::string_view name;
    const std::string* help = nullptr;
    prometheus::MetricType type = prometheus::MetricType::Untyped;
    const prometheus::MetricFamily* family = nullptr;
    std::vector<const std::string*> lines;
  };
  std::vector<Block> blocks;
  std::unordered_map<std::string_view, std::size_t> first;  // name -> its first block
  std::size_t size = 0;
  for (const auto& f : families) {
    first.try_emplace(f.name, blocks.size());
    blocks.push_back({f.name, &f.help, f.type, &f, {}});
    for (const auto& m : f.metric) size += EstimatedBytes(f.type, m);
  }
  for (const auto& part : rendered) {
    if (!part) continue;
    for (const auto& r : *part) {
      if (r.lines.empty()) continue;
      auto [it, added] = first.try_emplace(r.name, blocks.size());
      if (added) {
        blocks.push_back({r.name, &r.help, r.type, nullptr, {}});
      } else if (blocks[it->second].type != r.type) {
        continue;
      }
      blocks[it->second].lines.push_back(&r.lines);
      size += r.lines.size();
    }
  }
  std::string out;
  out.reserve(size + blocks.size() * 128);
  TextWriter w(out);
  for (const Block& b : blocks) {
    WriteHeader(w, b.name, *b.help, b.type);
    if (b.family != nullptr) {
      for (const auto& m : b.family->metric) WriteMetric(w, b.family->name, b.type, m);
    }
    for (const std::string* lines : b.lines) w.Raw(*lines);
  }
  return out;
}

void WriteExposition(Exposition& e, std::string& out) {
  // One block per family name: its collected series and in-place text in the order of their
  // sources, as MergeFamilies concatenates them, then the `rendered` text that follows them.
  struct Piece {
    const prometheus::ClientMetric* metric = nullptr;  // else `text`
    const std::string* text = nullptr;
  };
  struct Block {
    const std::string* help = nullptr;
    prometheus::MetricType type = prometheus::MetricType::Untyped;
    std::vector<Piece> pieces;
    std::vector<const std::string*> after;
  };
  // Written in MergeFamilies' order (by name) at the end; found by hash meanwhile (a fleet's
  // scrape looks a name up for every model's part).
  std::unordered_map<std::string_view, Block> blocks;
  std::size_t size = 0;
  // Returns the block of `name` for a family of `type`, or null on a type conflict.
  const auto block_for = [&blocks](const std::string& name, const std::string& help,
                                   prometheus::MetricType type) -> Block* {
    auto [it, added] = blocks.try_emplace(name);
    if (added) {
      it->second.help = &help;
      it->second.type = type;
    }
    return it->second.type == type ? &it->second : nullptr;
  };
  const auto add_in_place = [&](const RenderedFamilies& part) {
    if (!part) return;
    for (const RenderedFamily& r : *part) {
      Block* b = block_for(r.name, r.help, r.type);
      if (b == nullptr || r.lines.empty()) continue;
      b->pieces.push_back({nullptr, &r.lines});
      size += r.lines.size();
    }
  };
  std::size_t next_in_place = 0;
  for (std::size_t i = 0; i <= e.families.size(); ++i) {
    for (; next_in_place < e.in_place.size() && e.in_place[next_in_place].first <= i;
         ++next_in_place) {
      add_in_place(e.in_place[next_in_place].second);
    }
    if (i == e.families.size()) break;
    prometheus::MetricFamily& f = e.families[i];
    Block* b = block_for(f.name, f.help, f.type);
    if (b == nullptr) continue;
    ReplaceNul(f.metric);
    for (const auto& m : f.metric) {
      b->pieces.push_back({&m, nullptr});
      size += EstimatedBytes(f.type, m);
    }
  }
  // Rendered families after every collected one of their name, or in blocks of their own
  // after all of those, in order of first appearance.
  std::vector<std::pair<std::string_view, Block>> tail;
  std::unordered_map<std::string_view, std::size_t> tail_index;
  for (const auto& part : e.rendered) {
    if (!part) continue;
    for (const RenderedFamily& r : *part) {
      if (r.lines.empty()) continue;
      Block* b = nullptr;
      if (auto it = blocks.find(r.name); it != blocks.end() && !it->second.pieces.empty()) {
        b = &it->second;
      } else {
        auto [t, added] = tail_index.try_emplace(r.name, tail.size());
        if (added) {
          tail.emplace_back(r.name, Block{});
          tail.back().second.help = &r.help;
          tail.back().second.type = r.type;
        }
        b = &tail[t->second].second;
      }
      if (b->type != r.type) continue;
      b->after.push_back(&r.lines);
      size += r.lines.size();
    }
  }
  std::vector<std::pair<std::string_view, Block*>> sorted;
  for (auto& [name, b] : blocks) {
    if (!b.pieces.empty()) sorted.emplace_back(name, &b);
  }
  std::sort(sorted.begin(), sorted.end());
  out.reserve(out.size() + size + (sorted.size() + tail.size()) * 128);
  TextWriter w(out);
  std::vector<char> drop;
  const auto write = [&](std::string_view name, Block& b) {
    WriteHeader(w, name, *b.help, b.type);
    // Duplicates among the collected series (the first kept); in-place text is not checked.
    std::vector<const prometheus::ClientMetric*> metrics;
    for (const Piece& p : b.pieces) {
      if (p.metric != nullptr) metrics.push_back(p.metric);
    }
    const bool any = FlagDuplicates(
        metrics.size(), [&](std::size_t i) -> const Labels& { return metrics[i]->label; }, drop);
    std::size_t k = 0;
    for (const Piece& p : b.pieces) {
      if (p.metric == nullptr) {
        w.Raw(*p.text);
      } else if (!any || drop[k++] == 0) {
        WriteMetric(w, name, b.type, *p.metric);
      }
    }
    for (const std::string* lines : b.after) w.Raw(*lines);
  };
  for (auto& [name, b] : sorted) write(name, *b);
  for (auto& [name, b] : tail) write(name, b);
}

std::string MergingCollector::Text(std::vector<prometheus::MetricFamily> extra) const {
  std::string out;
  Write(out, std::move(extra));
  return out;
}

void MergingCollector::Write(std::string& out, std::vector<prometheus::MetricFamily> extra) const {
  Exposition e;
  source_(e);
  e.families.insert(e.families.end(), std::make_move_iterator(extra.begin()),
                    std::make_move_iterator(extra.end()));
  WriteExposition(e, out);
}

}  // namespace modelwatch
