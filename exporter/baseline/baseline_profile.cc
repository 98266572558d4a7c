#include "exporter/baseline/baseline_profile.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/hash.h"
#include "exporter/stats/quantile.h"

namespace modelwatch {

using nlohmann::json;

const char* OutputKindName(OutputKind kind) {
  switch (kind) {
    case OutputKind::kScore:
      return "score";
    case OutputKind::kClass:
      return "class";
    case OutputKind::kRegression:
      return "regression";
  }
  return "score";
}

const FeatureProfile* BaselineProfile::FindFeature(const std::string& name) const {
  for (const auto& f : features) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

double BaselineProfile::EffectiveCount(std::int64_t count) const {
  const double c = static_cast<double>(count);
  if (distinct_records <= 0 || records <= 0) return c;
  return c * static_cast<double>(distinct_records) / static_cast<double>(records);
}

namespace {

json NumericToJson(const NumericSummary& s) {
  return json{{"count", s.count},
              {"min", s.min},
              {"max", s.max},
              {"mean", s.mean},
              {"std", s.std},
              {"edges", s.edges},
              {"counts", s.counts},
              {"proportions", s.proportions},
              {"fine", json{{"cuts", s.fine_cuts},
                            {"mass", s.fine_mass},
                            {"mean", s.fine_mean},
                            {"at_cut", s.fine_at_cut}}}};
}

json CategoricalToJson(const CategoricalSummary& s) {
  return json{{"count", s.count},
              {"categories", s.categories},
              {"counts", s.counts},
              {"proportions", s.proportions}};
}

// NaN is stored as null (JSON has no NaN).
json MaybeNumber(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

json MomentToJson(const MomentSummary& m) {
  return json{{"count", m.count},
              {"mean", m.mean},
              {"std", m.std},
              {"daily_std", MaybeNumber(m.daily_std)},
              {"batch_between_std", MaybeNumber(m.batch_between_std)}};
}

// --- parsing -------------------------------------------------------------------------------

// Accumulates the path of the member being read, for error messages.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  tl::unexpected<Error> Fail(const std::string& where, const std::string& what) const {
    return MakeError("baseline " + where + ": " + what, SourceLocation{source_, 0, 0});
  }

  Result<const json*> Member(const json& obj, const std::string& key,
                             const std::string& where) const {
    if (!obj.is_object()) return Fail(where, "expected an object");
    auto it = obj.find(key);
    if (it == obj.end()) return Fail(where, "missing \"" + key + "\"");
    return &*it;
  }

  Result<double> Number(const json& obj, const std::string& key, const std::string& where,
                        bool null_is_nan = false) const {
    auto m = Member(obj, key, where);
    if (!m) return tl::unexpected(m.error());
    if (null_is_nan && (*m)->is_null()) return std::nan("");
    if (!(*m)->is_number()) return Fail(where + "." + key, "expected a number");
    const double v = (*m)->get<double>();
    if (!std::isfinite(v)) return Fail(where + "." + key, "expected a finite number");
    return v;
  }

  Result<std::int64_t> Count(const json& obj, const std::string& key,
                             const std::string& where) const {
    auto m = Member(obj, key, where);
    if (!m) return tl::unexpected(m.error());
    if (!(*m)->is_number_integer() || (*m)->get<std::int64_t>() < 0) {
      return Fail(where + "." + key, "expected a non-negative integer");
    }
    return (*m)->get<std::int64_t>();
  }

  Result<std::string> String(const json& obj, const std::string& key,
                             const std::string& where) const {
    auto m = Member(obj, key, where);
    if (!m) return tl::unexpected(m.error());
    if (!(*m)->is_string()) return Fail(where + "." + key, "expected a string");
    return (*m)->get<std::string>();
  }

  Result<std::vector<double>> Numbers(const json& obj, const std::string& key,
                                      const std::string& where) const {
    auto m = Member(obj, key, where);
    if (!m) return tl::unexpected(m.error());
    if (!(*m)->is_array()) return Fail(where + "." + key, "expected an array");
    std::vector<double> out;
    out.reserve((*m)->size());
    for (const auto& v : **m) {
      if (!v.is_number() || !std::isfinite(v.get<double>())) {
        return Fail(where + "." + key, "expected finite numbers");
      }
      out.push_back(v.get<double>());
    }
    return out;
  }

  Result<std::vector<std::int64_t>> Counts(const json& obj, const std::string& key,
                                           const std::string& where) const {
    auto m = Member(obj, key, where);
    if (!m) return tl::unexpected(m.error());
    if (!(*m)->is_array()) return Fail(where + "." + key, "expected an array");
    std::vector<std::int64_t> out;
    out.reserve((*m)->size());
    for (const auto& v : **m) {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
        return Fail(where + "." + key, "expected non-negative integers");
      }
      out.push_back(v.get<std::int64_t>());
    }
    return out;
  }

 private:
  std::string source_;
};

#define MW_ASSIGN(lhs, expr)                        \
  do {                                              \
    auto mw_r = (expr);                             \
    if (!mw_r) return tl::unexpected(mw_r.error()); \
    lhs = std::move(*mw_r);                         \
  } while (0)

bool StrictlyIncreasing(const std::vector<double>& v) {
  for (std::size_t i = 1; i < v.size(); ++i) {
    if (!(v[i - 1] < v[i])) return false;
  }
  return true;
}

Result<NumericSummary> ParseNumeric(const Reader& r, const json& obj, const std::string& where) {
  NumericSummary s;
  MW_ASSIGN(s.count, r.Count(obj, "count", where));
  MW_ASSIGN(s.min, r.Number(obj, "min", where));
  MW_ASSIGN(s.max, r.Number(obj, "max", where));
  MW_ASSIGN(s.mean, r.Number(obj, "mean", where));
  MW_ASSIGN(s.std, r.Number(obj, "std", where));
  MW_ASSIGN(s.edges, r.Numbers(obj, "edges", where));
  MW_ASSIGN(s.counts, r.Counts(obj, "counts", where));
  MW_ASSIGN(s.proportions, r.Numbers(obj, "proportions", where));
  const json* fine = nullptr;
  MW_ASSIGN(fine, r.Member(obj, "fine", where));
  const std::string fwhere = where + ".fine";
  MW_ASSIGN(s.fine_cuts, r.Numbers(*fine, "cuts", fwhere));
  MW_ASSIGN(s.fine_mass, r.Numbers(*fine, "mass", fwhere));
  MW_ASSIGN(s.fine_mean, r.Numbers(*fine, "mean", fwhere));
  const bool has_at_cut = fine->is_object() && fine->contains("at_cut");
  if (has_at_cut) MW_ASSIGN(s.fine_at_cut, r.Numbers(*fine, "at_cut", fwhere));
  if (s.count == 0) {
    if (!s.edges.empty() || !s.counts.empty() || !s.proportions.empty() || !s.fine_cuts.empty() ||
        !s.fine_mass.empty() || !s.fine_mean.empty() || !s.fine_at_cut.empty()) {
      return r.Fail(where, "bins given for a feature without values");
    }
    return s;
  }
  if (!(s.min <= s.max) || s.std < 0) return r.Fail(where, "bad min/max/std");
  if (!StrictlyIncreasing(s.edges)) return r.Fail(where + ".edges", "not strictly increasing");
  if (s.counts.size() != s.edges.size() + 1 || s.proportions.size() != s.counts.size()) {
    return r.Fail(where, "counts/proportions must have one entry per bin (edges + 1)");
  }
  std::int64_t total = 0;
  for (auto c : s.counts) {
    if (c > s.count - total) return r.Fail(where + ".counts", "sum exceeds count");
    total += c;
  }
  if (total != s.count) return r.Fail(where + ".counts", "sum differs from count");
  for (double p : s.proportions) {
    if (p < 0 || p > 1) return r.Fail(where + ".proportions", "outside [0, 1]");
  }
  if (s.fine_cuts.empty() || !StrictlyIncreasing(s.fine_cuts)) {
    return r.Fail(fwhere + ".cuts", "empty or not strictly increasing");
  }
  if (s.fine_mass.size() != s.fine_cuts.size() + 1 || s.fine_mean.size() != s.fine_mass.size()) {
    return r.Fail(fwhere, "mass/mean must have one entry per fine bin (cuts + 1)");
  }
  for (double m : s.fine_mass) {
    if (m < 0 || m > 1) return r.Fail(fwhere + ".mass", "outside [0, 1]");
  }
  if (!has_at_cut) {
    s.fine_at_cut.assign(s.fine_cuts.size(), 0.0);
    for (std::size_t i = 0; i < s.fine_cuts.size(); ++i) {
      if (s.fine_mass[i] > 0 && s.fine_mean[i] == s.fine_cuts[i]) s.fine_at_cut[i] = s.fine_mass[i];
    }
  }
  if (s.fine_at_cut.size() != s.fine_cuts.size()) {
    return r.Fail(fwhere + ".at_cut", "must have one entry per fine cut");
  }
  for (std::size_t i = 0; i < s.fine_at_cut.size(); ++i) {
    if (!(s.fine_at_cut[i] >= 0 && s.fine_at_cut[i] <= s.fine_mass[i])) {
      return r.Fail(fwhere + ".at_cut", "outside [0, the mass of its bin]");
    }
  }
  for (double e : s.edges) {
    if (!std::binary_search(s.fine_cuts.begin(), s.fine_cuts.end(), e)) {
      return r.Fail(where + ".edges", "every edge must also be a fine cut");
    }
  }
  s.fine_to_coarse.resize(s.fine_mass.size());
  for (std::size_t i = 0; i < s.fine_cuts.size(); ++i) {
    s.fine_to_coarse[i] = static_cast<std::uint32_t>(BinIndex(s.edges, s.fine_cuts[i]));
  }
  s.fine_to_coarse.back() = static_cast<std::uint32_t>(s.edges.size());
  return s;
}

Result<CategoricalSummary> ParseCategorical(const Reader& r, const json& obj,
                                            const std::string& where) {
  CategoricalSummary s;
  MW_ASSIGN(s.count, r.Count(obj, "count", where));
  const json* cats = nullptr;
  MW_ASSIGN(cats, r.Member(obj, "categories", where));
  if (!cats->is_array()) return r.Fail(where + ".categories", "expected an array");
  for (const auto& c : *cats) {
    if (!c.is_string()) return r.Fail(where + ".categories", "expected strings");
    s.categories.push_back(c.get<std::string>());
  }
  MW_ASSIGN(s.counts, r.Counts(obj, "counts", where));
  MW_ASSIGN(s.proportions, r.Numbers(obj, "proportions", where));
  if (s.counts.size() != s.categories.size() + 1 || s.proportions.size() != s.counts.size()) {
    return r.Fail(where, "counts/proportions must have one entry per category plus other");
  }
  std::vector<std::string> sorted = s.categories;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return r.Fail(where + ".categories", "duplicate category");
  }
  std::int64_t total = 0;
  for (auto c : s.counts) {
    if (c > s.count - total) return r.Fail(where + ".counts", "sum exceeds count");
    total += c;
  }
  if (total != s.count) return r.Fail(where + ".counts", "sum differs from count");
  return s;
}

Result<MomentSummary> ParseMoment(const Reader& r, const json& obj, const std::string& where) {
  MomentSummary m;
  MW_ASSIGN(m.count, r.Count(obj, "count", where));
  MW_ASSIGN(m.mean, r.Number(obj, "mean", where));
  MW_ASSIGN(m.std, r.Number(obj, "std", where));
  MW_ASSIGN(m.daily_std, r.Number(obj, "daily_std", where, /*null_is_nan=*/true));
  if (obj.contains("batch_between_std")) {  // optional: absent in older files
    MW_ASSIGN(m.batch_between_std, r.Number(obj, "batch_between_std", where, true));
  }
  return m;
}

Result<Task> ParseTask(const Reader& r, const std::string& text) {
  for (Task t : {Task::kBinaryClassification, Task::kMulticlassClassification, Task::kRegression}) {
    if (text == TaskName(t)) return t;
  }
  return r.Fail("task", "unknown task \"" + text + "\"");
}

}  // namespace

json BaselineToJson(const BaselineProfile& p) {
  json features = json::array();
  for (const auto& f : p.features) {
    json jf{{"name", f.name}, {"type", FeatureTypeName(f.type)}, {"missing_rate", f.missing_rate}};
    if (f.type == FeatureType::kNumeric) {
      jf["numeric"] = NumericToJson(f.numeric);
    } else {
      jf["categorical"] = CategoricalToJson(f.categorical);
    }
    features.push_back(std::move(jf));
  }
  const PredictionProfile& pr = p.prediction;
  json prediction{
      {"kind", OutputKindName(pr.kind)},
      {"records", pr.records},
      {"positive_count", pr.positive_count},
      {"positive_rate", pr.positive_rate},
      {"positive_rate_daily_std", MaybeNumber(pr.positive_rate_daily_std)},
      {"positive_rate_batch_between_std", MaybeNumber(pr.positive_rate_batch_between_std)},
      {"confidence", MomentToJson(pr.confidence)},
      {"entropy", MomentToJson(pr.entropy)}};
  if (pr.kind == OutputKind::kClass) {
    prediction["classes"] = CategoricalToJson(pr.classes);
  } else {
    prediction["numeric"] = NumericToJson(pr.numeric);
  }
  json doc{{"format", kBaselineFormatName},
           {"version", p.version},
           {"model", p.model},
           {"task", TaskName(p.task)},
           {"reference", json{{"records", p.records},
                              {"first_timestamp", p.first_timestamp},
                              {"last_timestamp", p.last_timestamp},
                              {"days", p.days}}},
           {"settings", json{{"bins", p.bins},
                             {"top_categories", p.top_categories},
                             {"fine_quantiles", p.fine_quantiles}}},
           {"features", std::move(features)},
           {"prediction", std::move(prediction)}};
  if (p.distinct_records > 0) doc["reference"]["distinct_records"] = p.distinct_records;
  if (p.performance) {
    json metrics = json::object();
    for (const auto& [name, value] : p.performance->metrics) metrics[name] = value;
    doc["performance"] = json{{"labelled", p.performance->labelled}, {"metrics", metrics}};
  }
  doc["id"] = BaselineContentId(doc);
  return doc;
}

std::string BaselineContentId(const json& document) {
  json content = document;
  if (content.is_object()) content.erase("id");
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx",
                static_cast<unsigned long long>(Fnv1a64Of(content.dump())));
  return buf;
}

Result<BaselineProfile> ParseBaselineProfile(const json& doc, const std::string& source) {
  const Reader r(source);
  BaselineProfile p;
  if (!doc.is_object()) return r.Fail("document", "expected a JSON object");
  std::string format;
  MW_ASSIGN(format, r.String(doc, "format", "document"));
  if (format != kBaselineFormatName) {
    return r.Fail("format", "\"" + format + "\" is not a modelwatch baseline");
  }
  std::int64_t version = 0;
  MW_ASSIGN(version, r.Count(doc, "version", "document"));
  if (version != kBaselineFormatVersion) {
    return r.Fail("version", "format version " + std::to_string(version) +
                                 " is not supported (this build reads version " +
                                 std::to_string(kBaselineFormatVersion) +
                                 "); rebuild it with `modelwatch-exporter baseline`");
  }
  p.version = static_cast<int>(version);
  MW_ASSIGN(p.id, r.String(doc, "id", "document"));
  const std::string expected_id = BaselineContentId(doc);
  if (p.id != expected_id) {
    return r.Fail("id", "content hash " + expected_id + " differs from id " + p.id +
                            " (edited by hand?); rebuild it with `modelwatch-exporter baseline`");
  }
  MW_ASSIGN(p.model, r.String(doc, "model", "document"));
  std::string task;
  MW_ASSIGN(task, r.String(doc, "task", "document"));
  MW_ASSIGN(p.task, ParseTask(r, task));

  const json* ref = nullptr;
  MW_ASSIGN(ref, r.Member(doc, "reference", "document"));
  MW_ASSIGN(p.records, r.Count(*ref, "records", "reference"));
  MW_ASSIGN(p.first_timestamp, r.Number(*ref, "first_timestamp", "reference"));
  MW_ASSIGN(p.last_timestamp, r.Number(*ref, "last_timestamp", "reference"));
  std::int64_t days = 0;
  MW_ASSIGN(days, r.Count(*ref, "days", "reference"));
  p.days = static_cast<int>(std::min<std::int64_t>(days, 1 << 30));
  if (ref->contains("distinct_records")) {  // optional: absent in older files
    MW_ASSIGN(p.distinct_records, r.Count(*ref, "distinct_records", "reference"));
    if (p.distinct_records > p.records) {
      return r.Fail("reference.distinct_records", "exceeds reference.records");
    }
  }

  const json* settings = nullptr;
  MW_ASSIGN(settings, r.Member(doc, "settings", "document"));
  std::int64_t v = 0;
  MW_ASSIGN(v, r.Count(*settings, "bins", "settings"));
  p.bins = static_cast<int>(std::min<std::int64_t>(v, 1 << 20));
  MW_ASSIGN(v, r.Count(*settings, "top_categories", "settings"));
  p.top_categories = static_cast<int>(std::min<std::int64_t>(v, 1 << 20));
  MW_ASSIGN(v, r.Count(*settings, "fine_quantiles", "settings"));
  p.fine_quantiles = static_cast<int>(std::min<std::int64_t>(v, 1 << 20));

  const json* features = nullptr;
  MW_ASSIGN(features, r.Member(doc, "features", "document"));
  if (!features->is_array()) return r.Fail("features", "expected an array");
  for (std::size_t i = 0; i < features->size(); ++i) {
    const json& jf = (*features)[i];
    const std::string where = "features[" + std::to_string(i) + "]";
    FeatureProfile f;
    MW_ASSIGN(f.name, r.String(jf, "name", where));
    std::string type;
    MW_ASSIGN(type, r.String(jf, "type", where));
    MW_ASSIGN(f.missing_rate, r.Number(jf, "missing_rate", where));
    const std::string fwhere = "feature \"" + f.name + "\"";
    if (type == "numeric") {
      f.type = FeatureType::kNumeric;
      const json* jn = nullptr;
      MW_ASSIGN(jn, r.Member(jf, "numeric", fwhere));
      MW_ASSIGN(f.numeric, ParseNumeric(r, *jn, fwhere));
    } else if (type == "categorical") {
      f.type = FeatureType::kCategorical;
      const json* jc = nullptr;
      MW_ASSIGN(jc, r.Member(jf, "categorical", fwhere));
      MW_ASSIGN(f.categorical, ParseCategorical(r, *jc, fwhere));
    } else {
      return r.Fail(fwhere, "unknown type \"" + type + "\"");
    }
    if (p.FindFeature(f.name) != nullptr) return r.Fail(fwhere, "listed twice");
    p.features.push_back(std::move(f));
  }

  const json* jp = nullptr;
  MW_ASSIGN(jp, r.Member(doc, "prediction", "document"));
  PredictionProfile& pr = p.prediction;
  std::string kind;
  MW_ASSIGN(kind, r.String(*jp, "kind", "prediction"));
  if (kind == "score") {
    pr.kind = OutputKind::kScore;
  } else if (kind == "class") {
    pr.kind = OutputKind::kClass;
  } else if (kind == "regression") {
    pr.kind = OutputKind::kRegression;
  } else {
    return r.Fail("prediction.kind", "unknown kind \"" + kind + "\"");
  }
  const OutputKind expected_kind = p.task == Task::kBinaryClassification ? OutputKind::kScore
                                   : p.task == Task::kRegression         ? OutputKind::kRegression
                                                                         : OutputKind::kClass;
  if (pr.kind != expected_kind) return r.Fail("prediction.kind", "does not fit the task");
  MW_ASSIGN(pr.records, r.Count(*jp, "records", "prediction"));
  if (pr.kind == OutputKind::kClass) {
    const json* jc = nullptr;
    MW_ASSIGN(jc, r.Member(*jp, "classes", "prediction"));
    MW_ASSIGN(pr.classes, ParseCategorical(r, *jc, "prediction.classes"));
  } else {
    const json* jn = nullptr;
    MW_ASSIGN(jn, r.Member(*jp, "numeric", "prediction"));
    MW_ASSIGN(pr.numeric, ParseNumeric(r, *jn, "prediction.numeric"));
  }
  MW_ASSIGN(pr.positive_count, r.Count(*jp, "positive_count", "prediction"));
  MW_ASSIGN(pr.positive_rate, r.Number(*jp, "positive_rate", "prediction"));
  MW_ASSIGN(pr.positive_rate_daily_std,
            r.Number(*jp, "positive_rate_daily_std", "prediction", /*null_is_nan=*/true));
  if (jp->contains("positive_rate_batch_between_std")) {  // optional: absent in older files
    MW_ASSIGN(pr.positive_rate_batch_between_std,
              r.Number(*jp, "positive_rate_batch_between_std", "prediction", true));
  }
  const json* jm = nullptr;
  MW_ASSIGN(jm, r.Member(*jp, "confidence", "prediction"));
  MW_ASSIGN(pr.confidence, ParseMoment(r, *jm, "prediction.confidence"));
  MW_ASSIGN(jm, r.Member(*jp, "entropy", "prediction"));
  MW_ASSIGN(pr.entropy, ParseMoment(r, *jm, "prediction.entropy"));

  if (doc.contains("performance")) {
    const json* jperf = nullptr;
    MW_ASSIGN(jperf, r.Member(doc, "performance", "document"));
    ReferencePerformance perf;
    MW_ASSIGN(perf.labelled, r.Count(*jperf, "labelled", "performance"));
    const json* jmetrics = nullptr;
    MW_ASSIGN(jmetrics, r.Member(*jperf, "metrics", "performance"));
    if (!jmetrics->is_object()) return r.Fail("performance.metrics", "expected an object");
    for (const auto& [name, value] : jmetrics->items()) {
      double number = 0;
      MW_ASSIGN(number, r.Number(*jmetrics, name, "performance.metrics"));
      if (!std::isfinite(number)) return r.Fail("performance.metrics." + name, "not finite");
      perf.metrics[name] = number;
    }
    p.performance = std::move(perf);
  }
  return p;
}

Result<void> CheckBaselineMatchesModel(const BaselineProfile& profile, const ModelConfig& model) {
  SourceLocation at = model.location;
  if (at.file.empty()) at.file = model.file;
  const std::string rebuild =
      "; rebuild it with `modelwatch-exporter baseline --model=" + model.name + "`";
  if (profile.model != model.name) {
    return MakeError("baseline " + model.baseline + " was built for model \"" + profile.model +
                         "\", not \"" + model.name + "\"",
                     at);
  }
  if (profile.task != model.task) {
    return MakeError("baseline " + model.baseline + " was built for task " +
                         TaskName(profile.task) + ", the model is " + TaskName(model.task) +
                         rebuild,
                     at);
  }
  for (const auto& f : model.features) {
    if (f.pii) continue;
    const FeatureProfile* fp = profile.FindFeature(f.name);
    if (fp == nullptr) {
      return MakeError(
          "baseline " + model.baseline + " has no feature \"" + f.name + "\"" + rebuild,
          f.location.file.empty() ? at : f.location);
    }
    if (fp->type != f.type) {
      return MakeError("baseline " + model.baseline + " has feature \"" + f.name + "\" as " +
                           FeatureTypeName(fp->type) + ", the config says " +
                           FeatureTypeName(f.type) + rebuild,
                       f.location.file.empty() ? at : f.location);
    }
  }
  return {};
}

Result<BaselineProfile> LoadBaselineProfile(const std::string& path, const ModelConfig& model) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError("cannot read baseline " + path + ": " + std::strerror(errno),
                     SourceLocation{path, 0, 0});
  }
  std::stringstream buf;
  buf << in.rdbuf();
  json doc = json::parse(buf.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return MakeError("baseline is not valid JSON", SourceLocation{path, 0, 0});
  }
  auto profile = ParseBaselineProfile(doc, path);
  if (!profile) return profile;
  ModelConfig named = model;
  named.baseline = path;
  if (auto ok = CheckBaselineMatchesModel(*profile, named); !ok) {
    return tl::unexpected(ok.error());
  }
  return profile;
}

Result<BaselineProfile> LoadBaselineProfile(const ModelConfig& model) {
  if (model.baseline.empty()) {
    return MakeError("model " + model.name + " has no baseline configured", model.location);
  }
  return LoadBaselineProfile(model.baseline, model);
}

Result<std::string> WriteBaselineProfile(const BaselineProfile& profile, const std::string& path) {
  const json doc = BaselineToJson(profile);
  const std::string text = doc.dump(1) + "\n";
  if (auto ok = WriteFileAtomically(path, text); !ok) return tl::unexpected(ok.error());
  return doc["id"].get<std::string>();
}

}  // namespace modelwatch
