// SerializeText writes what prometheus-cpp's TextSerializer writes, byte for byte, for every
// metric type, random values (random bit patterns, decimals, integers, the specials), label
// values with the characters the format escapes, and timestamps.
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <bit>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "exporter/metrics/family_merge.h"

namespace modelwatch {
namespace {

class RandomFamilies {
 public:
  explicit RandomFamilies(std::uint32_t seed) : rng_(seed) {}

  double Value() {
    switch (Pick(8)) {
      case 0: {  // any finite double
        double v;
        do {
          v = std::bit_cast<double>(static_cast<std::uint64_t>(rng_()) << 32 | rng_());
        } while (!std::isfinite(v));
        return v;
      }
      case 1:
        return static_cast<double>(static_cast<std::int64_t>(rng_()) - (1LL << 31));
      case 2:  // integers around the switch to exponent notation
        return std::ldexp(1.0, 40 + Pick(20)) + Pick(3) - 1.0;
      case 3:
        return Pick(1000) / 1000.0;
      case 4:
        return std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng_), Pick(200) - 100);
      case 5: {
        const double specials[] = {0.0,
                                   -0.0,
                                   std::numeric_limits<double>::quiet_NaN(),
                                   std::numeric_limits<double>::infinity(),
                                   -std::numeric_limits<double>::infinity(),
                                   std::numeric_limits<double>::denorm_min(),
                                   std::numeric_limits<double>::max(),
                                   1e15,
                                   -1e15,
                                   999999999999999.0,
                                   1e16,
                                   0.1};
        return specials[Pick(std::size(specials))];
      }
      default:
        return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
    }
  }

  std::string Text() {
    static const std::string alphabet = "ab_Z09 .\\\"\n{}=,\xC3\xA9";
    std::string s;
    for (int i = Pick(8); i-- > 0;) s += alphabet[Pick(alphabet.size())];
    return s;
  }

  prometheus::ClientMetric Metric(prometheus::MetricType type) {
    prometheus::ClientMetric m;
    for (int i = Pick(4); i-- > 0;) m.label.push_back({"l" + std::to_string(i), Text()});
    if (Pick(5) == 0) m.timestamp_ms = static_cast<std::int64_t>(rng_()) * 1000;
    m.counter.value = Value();
    m.gauge.value = Value();
    m.untyped.value = Value();
    m.summary.sample_count = rng_();
    m.summary.sample_sum = Value();
    for (int i = Pick(3); i-- > 0;) m.summary.quantile.push_back({Value(), Value()});
    m.histogram.sample_count = static_cast<std::uint64_t>(rng_()) << Pick(30);
    m.histogram.sample_sum = Value();
    for (int i = Pick(5); i-- > 0;) {
      prometheus::ClientMetric::Bucket b;
      b.cumulative_count = rng_();
      b.upper_bound = i == 0 && Pick(2) == 0 ? std::numeric_limits<double>::infinity() : Value();
      m.histogram.bucket.push_back(b);
    }
    (void)type;
    return m;
  }

  std::vector<prometheus::MetricFamily> Families() {
    const prometheus::MetricType types[] = {
        prometheus::MetricType::Counter, prometheus::MetricType::Gauge,
        prometheus::MetricType::Summary, prometheus::MetricType::Untyped,
        prometheus::MetricType::Histogram};
    std::vector<prometheus::MetricFamily> families;
    for (int i = 1 + Pick(6); i-- > 0;) {
      prometheus::MetricFamily f;
      f.name = "family_" + std::to_string(i);
      f.help = Pick(3) == 0 ? "" : "what it counts, in base units";
      f.type = types[Pick(std::size(types))];
      for (int j = Pick(6); j-- > 0;) f.metric.push_back(Metric(f.type));
      families.push_back(std::move(f));
    }
    return families;
  }

 private:
  int Pick(std::size_t n) { return static_cast<int>(rng_() % n); }
  std::mt19937 rng_;
};

TEST(TextFormatTest, WritesWhatPrometheusCppWrites) {
  const prometheus::TextSerializer reference;
  for (std::uint32_t seed = 1; seed <= 2000; ++seed) {
    RandomFamilies gen(seed);
    const auto families = gen.Families();
    const std::string expected = reference.Serialize(families);
    const std::string got = SerializeText(families);
    ASSERT_EQ(got, expected) << "seed " << seed;
  }
}

TEST(TextFormatTest, EscapesLabelValuesAndWritesSpecialValues) {
  prometheus::MetricFamily f{"x", "h", prometheus::MetricType::Gauge, {}};
  prometheus::ClientMetric m;
  m.label.push_back({"a", "q\"\\\nz"});
  m.gauge.value = std::numeric_limits<double>::quiet_NaN();
  f.metric.push_back(m);
  m.label.clear();
  m.gauge.value = 1.0 / 3;
  f.metric.push_back(m);
  m.gauge.value = -std::numeric_limits<double>::infinity();
  f.metric.push_back(m);
  m.gauge.value = 1e-5;
  f.metric.push_back(m);
  EXPECT_EQ(SerializeText({f}),
            "# HELP x h\n# TYPE x gauge\n"
            "x{a=\"q\\\"\\\\\\nz\"} Nan\n"
            "x 0.3333333333333333\n"
            "x -Inf\n"
            "x 1e-05\n");
}

}  // namespace
}  // namespace modelwatch

namespace modelwatch {
namespace {

// Duplicates are label sets equal in any order; sets with the same names and values paired
// differently, or one label more, are different series.
TEST(FamilyMergeTest, DuplicatesAreEqualLabelSetsInAnyOrder) {
  prometheus::MetricFamily f{"g", "h", prometheus::MetricType::Gauge, {}};
  auto add = [&](std::vector<prometheus::ClientMetric::Label> labels, double v) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = v;
    f.metric.push_back(m);
  };
  add({{"a", "1"}, {"b", "2"}}, 1);
  add({{"b", "2"}, {"a", "1"}}, 2);  // the first one's series again
  add({{"a", "2"}, {"b", "1"}}, 3);
  add({{"a", "1"}, {"b", "2"}, {"c", ""}}, 4);
  add({{"a", "1"}}, 5);
  add({}, 6);
  add({}, 7);
  // Many series in one family, each once.
  for (int i = 0; i < 5000; ++i) add({{"model", "m" + std::to_string(i)}, {"x", "1"}}, 8);
  const auto out = MergeFamilies({f, f});
  ASSERT_EQ(out.size(), 1u);
  std::vector<double> values;
  for (const auto& m : out[0].metric) values.push_back(m.gauge.value);
  ASSERT_EQ(values.size(), 5u + 5000u);
  EXPECT_EQ(std::vector<double>(values.begin(), values.begin() + 5),
            (std::vector<double>{1, 3, 4, 5, 6}));
}

// Families written before (a model's drift series) join the families of their name.
TEST(TextFormatTest, RenderedFamiliesJoinTheFamiliesOfTheirName) {
  auto family = [](std::string name, prometheus::MetricType type, std::string model, double v) {
    prometheus::MetricFamily f{std::move(name), "help", type, {}};
    prometheus::ClientMetric m;
    m.label = {{"model", std::move(model)}};
    m.gauge.value = v;
    m.counter.value = v;
    f.metric.push_back(m);
    return f;
  };
  auto a = std::make_shared<const std::vector<RenderedFamily>>(
      RenderFamilies({family("g", prometheus::MetricType::Gauge, "a", 1),
                      family("only_rendered", prometheus::MetricType::Gauge, "a", 2),
                      family("c_total", prometheus::MetricType::Gauge, "a", 3)}));
  auto b = std::make_shared<const std::vector<RenderedFamily>>(
      RenderFamilies({family("g", prometheus::MetricType::Gauge, "b", 4)}));
  const std::vector<prometheus::MetricFamily> families = {
      family("c_total", prometheus::MetricType::Counter, "x", 5),
      family("g", prometheus::MetricType::Gauge, "x", 6)};
  EXPECT_EQ(
      SerializeText(families, {a, nullptr, b}),
      "# HELP c_total help\n# TYPE c_total counter\nc_total{model=\"x\"} 5\n"
      "# HELP g help\n# TYPE g gauge\ng{model=\"x\"} 6\ng{model=\"a\"} 1\n"
      "g{model=\"b\"} 4\n"
      "# HELP only_rendered help\n# TYPE only_rendered gauge\nonly_rendered{model=\"a\"} 2\n");
}

}  // namespace
}  // namespace modelwatch

namespace modelwatch {
namespace {

// WriteExposition (a scrape: collected families, text kept from earlier scrapes and merged in
// place, drift text after) writes what merging everything as collected families and
// serialising them writes, for random expositions: families shared between sources, empty
// families, duplicate series within a source, NUL bytes in label values, drift text of
// names no collected family has, and drift families of a conflicting type.
TEST(TextFormatTest, ExpositionWithTextInPlaceIsWhatMergingAllWrites) {
  const prometheus::MetricType types[] = {
      prometheus::MetricType::Counter, prometheus::MetricType::Gauge,
      prometheus::MetricType::Summary, prometheus::MetricType::Untyped,
      prometheus::MetricType::Histogram};
  for (std::uint32_t seed = 1; seed <= 1000; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&rng](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    // The catalogue: one help and type per name.
    std::vector<prometheus::MetricType> type_of(8);
    for (auto& t : type_of) t = types[pick(std::size(types))];
    Exposition e;
    std::vector<prometheus::MetricFamily> all;  // every non-drift family, in source order
    std::vector<RenderedFamilies> drift;
    const std::size_t sources = 1 + pick(8);
    for (std::size_t s = 0; s < sources; ++s) {
      RandomFamilies gen(seed * 100 + static_cast<std::uint32_t>(s));
      std::vector<prometheus::MetricFamily> families = gen.Families();
      const std::size_t kind = pick(3);  // 0 collected, 1 in place, 2 drift
      for (auto& f : families) {
        const std::size_t name = pick(type_of.size());
        f.name = "family_" + std::to_string(name);
        f.help = name % 3 == 0 ? "" : "help of " + f.name;
        f.type = kind == 2 && pick(6) == 0 ? types[pick(std::size(types))] : type_of[name];
        for (auto& m : f.metric) {
          // Each source writes series no other source writes (as a model's `model` label).
          m.label.push_back({"source", std::to_string(s)});
          if (pick(10) == 0) m.label.front().value += std::string(1, '\0');
        }
      }
      if (kind == 0) {
        all.insert(all.end(), families.begin(), families.end());
        e.families.insert(e.families.end(), families.begin(), families.end());
      } else if (kind == 1) {
        all.insert(all.end(), families.begin(), families.end());
        e.AddInPlace(std::make_shared<const std::vector<RenderedFamily>>(RenderFamilies(families)));
      } else {
        drift.push_back(
            std::make_shared<const std::vector<RenderedFamily>>(RenderFamilies(families)));
      }
    }
    e.rendered = drift;
    const std::string expected = SerializeText(MergeFamilies(all), drift);
    std::string got = "kept";  // appended to
    WriteExposition(e, got);
    ASSERT_EQ(got, "kept" + expected) << "seed " << seed;
  }
}

}  // namespace
}  // namespace modelwatch
