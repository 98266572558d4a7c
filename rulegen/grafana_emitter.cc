#include "rulegen/grafana_emitter.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/duration.h"
#include "core/metric_catalogue.h"
#include "rulegen/rule_model.h"
#include "rulegen/series.h"
#include "rulegen/text.h"

namespace modelwatch {

namespace {

constexpr int kGridWidth = 24;
constexpr const char* kGeneratedMark = "generated \u2014 do not edit";

// Writes JSON exactly as nlohmann's dump(2) does, at a fraction of its cost (dashboards are a
// quarter of what `generate` writes; docs/rulegen.md, "Performance"): two-space indent,
// `"key": value`, empty containers as {} and [], ASCII strings escaped as dump() escapes them
// (\b \f \n \r \t \" \\, other control characters \u00xx, DEL as it is). Strings with
// non-ASCII bytes and floats are handed to dump() itself (its UTF-8 check and its shortest
// round-trip float form), which keeps every byte the same.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void Write(const Json& j, int indent) {
    switch (j.type()) {
      case Json::value_t::object:
        if (j.empty()) {
          out_ += "{}";
          return;
        }
        out_ += "{\n";
        for (auto it = j.begin(); it != j.end(); ++it) {
          if (it != j.begin()) out_ += ",\n";
          out_.append(static_cast<std::size_t>(indent + 2), ' ');
          String(it.key());
          out_ += ": ";
          Write(it.value(), indent + 2);
        }
        out_ += '\n';
        out_.append(static_cast<std::size_t>(indent), ' ');
        out_ += '}';
        return;
      case Json::value_t::array:
        if (j.empty()) {
          out_ += "[]";
          return;
        }
        out_ += "[\n";
        for (auto it = j.begin(); it != j.end(); ++it) {
          if (it != j.begin()) out_ += ",\n";
          out_.append(static_cast<std::size_t>(indent + 2), ' ');
          Write(*it, indent + 2);
        }
        out_ += '\n';
        out_.append(static_cast<std::size_t>(indent), ' ');
        out_ += ']';
        return;
      case Json::value_t::string:
        String(j.get_ref<const std::string&>());
        return;
      case Json::value_t::boolean:
        out_ += j.get<bool>() ? "true" : "false";
        return;
      case Json::value_t::null:
        out_ += "null";
        return;
      case Json::value_t::number_integer:
        Integer(j.get<std::int64_t>());
        return;
      case Json::value_t::number_unsigned:
        Integer(j.get<std::uint64_t>());
        return;
      default:  // floats (and binary, which dashboards never hold)
        out_ += j.dump();
        return;
    }
  }

  // A JSON string, escaped as dump() escapes it.
  void String(std::string_view s) {
    const std::size_t start = out_.size();
    out_ += '"';
    std::size_t plain = 0;  // start of the characters not yet copied
    for (std::size_t i = 0; i < s.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') continue;
      if (c >= 0x80) {  // UTF-8: dump() checks it (and throws on invalid bytes)
        out_.resize(start);
        out_ += Json(std::string(s)).dump();
        return;
      }
      out_.append(s.data() + plain, i - plain);
      plain = i + 1;
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\b':
          out_ += "\\b";
          break;
        case '\f':
          out_ += "\\f";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        default: {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out_ += buf;
        }
      }
    }
    out_.append(s.data() + plain, s.size() - plain);
    out_ += '"';
  }

  template <typename T>
  void Integer(T v) {
    char buf[24];
    out_.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  }

  std::string& Out() { return out_; }

 private:
  std::string& out_;
};

// Writes one JSON object member by member, as dump(2) does, through a JsonWriter: Key()
// before each value, End() after the last. `indent` is the object's own.
class ObjectWriter {
 public:
  ObjectWriter(JsonWriter& w, int indent) : w_(w), indent_(indent) { w_.Out() += '{'; }

  // Starts the member `key`; its value comes next, at indent Inner().
  JsonWriter& Key(std::string_view key) {
    w_.Out() += first_ ? "\n" : ",\n";
    first_ = false;
    w_.Out().append(static_cast<std::size_t>(Inner()), ' ');
    w_.String(key);
    w_.Out() += ": ";
    return w_;
  }

  void End() {
    if (!first_) {
      w_.Out() += '\n';
      w_.Out().append(static_cast<std::size_t>(indent_), ' ');
    }
    w_.Out() += '}';
  }

  int Inner() const { return indent_ + 2; }

 private:
  JsonWriter& w_;
  const int indent_;
  bool first_ = true;
};

// `doc` (an object) as DashboardText writes it, with the value of its member `key` given as
// JSON text already written at that member's indent.
std::string DocumentText(const Json& doc, std::string_view key, std::string_view value) {
  std::string out;
  out.reserve(value.size() + (std::size_t{1} << 12));
  JsonWriter w(out);
  ObjectWriter o(w, 0);
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    o.Key(it.key());
    if (it.key() == key) {
      out += value;
    } else {
      w.Write(it.value(), o.Inner());
    }
  }
  o.End();
  out += '\n';
  return out;
}

// Shortest round-tripping decimal form, as PromQL and people read it (0.25, 1e-05).
std::string Num(double v) {
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// A window as the recording rules spell it in their names: whole days as "30d", else
// Prometheus' own form.
std::string WindowLabel(Seconds s) {
  if (s.count() > 0 && s.count() % 86400 == 0) return std::to_string(s.count() / 86400) + "d";
  return FormatDuration(s);
}

std::string Percent(double ratio) { return Num(ratio * 100) + "%"; }

std::string BaseName(const std::string& path) {
  std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

struct Query {
  std::string expr;
  std::string legend;  // empty: Grafana's automatic legend
  bool instant = false;
  std::string format = "time_series";  // "table", "heatmap"
};

struct Step {
  std::optional<double> value;  // nullopt: the base step (-Infinity)
  std::string color;
};

// What distinguishes one panel; the rest comes from panels.json. Panels are written as
// designated initializers, so the members are in the order a panel is read, and each has an
// initializer: GCC's -Wmissing-field-initializers flags omitted members that have none.
struct PanelSpec {
  std::string type = "timeseries";
  std::string title{};
  std::string unit{};
  int w = 12;
  int h = 8;
  std::optional<double> min{};
  std::optional<double> max{};
  std::optional<int> decimals{};
  std::vector<Step> steps{};       // empty: the template's thresholds
  std::string thresholds_style{};  // timeseries: "line", "dashed", "line+area"; empty: off
  std::string stacking{};          // timeseries: "normal" or "percent"; empty: none
  std::string description{};
  std::vector<Query> queries{};
  Json mappings{};         // array, or null for none
  Json options{};          // merged into the template's options
  Json custom{};           // merged into the template's fieldConfig.defaults.custom
  Json transformations{};  // array, or null for none
  Json overrides{};        // array appended to fieldConfig.overrides, or null
};

Json ThresholdSteps(const std::vector<Step>& steps) {
  Json out = Json::array();
  for (const Step& s : steps) {
    Json step = Json::object();
    step["color"] = s.color;
    step["value"] = s.value ? Json(*s.value) : Json(nullptr);
    out.push_back(std::move(step));
  }
  return Json{{"mode", "absolute"}, {"steps", std::move(out)}};
}

// Starts the member `key` of an object at `indent` that has members before it (as
// ObjectWriter::Key does after the first).
JsonWriter& Member(JsonWriter& w, std::string_view key, int indent) {
  w.Out() += ",\n";
  w.Out().append(static_cast<std::size_t>(indent), ' ');
  w.String(key);
  w.Out() += ": ";
  return w;
}

// The members "options" and "fieldConfig" of a panel of `spec` (each preceded by ",\n" and
// the indent of the panel's members, `indent`): the template's (`tpl`) options and
// fieldConfig, merged with the panel's own settings.
std::string MergedText(const Json& tpl, const PanelSpec& spec, int indent) {
  std::string text;
  JsonWriter w(text);
  // The template's options as they are, or a copy with the panel's merged in.
  static const Json kNoOptions = Json::object();
  auto tpl_options = tpl.find("options");
  const Json& options = tpl_options != tpl.end() ? *tpl_options : kNoOptions;
  if (spec.options.is_object()) {
    Json merged = options;
    merged.merge_patch(spec.options);
    Member(w, "options", indent).Write(merged, indent);
  } else {
    Member(w, "options", indent).Write(options, indent);
  }

  Json field_config = tpl.value("fieldConfig", Json::object());
  if (!field_config.contains("defaults")) field_config["defaults"] = Json::object();
  if (!field_config.contains("overrides")) field_config["overrides"] = Json::array();
  Json& defaults = field_config["defaults"];
  defaults["unit"] = spec.unit;
  if (spec.min) defaults["min"] = *spec.min;
  if (spec.max) defaults["max"] = *spec.max;
  if (spec.decimals) defaults["decimals"] = *spec.decimals;
  if (spec.mappings.is_array()) defaults["mappings"] = spec.mappings;
  if (!spec.steps.empty()) defaults["thresholds"] = ThresholdSteps(spec.steps);
  if (spec.custom.is_object()) defaults["custom"].merge_patch(spec.custom);
  if (spec.overrides.is_array()) {
    for (const Json& o : spec.overrides) field_config["overrides"].push_back(o);
  }
  if (spec.type == "timeseries") {
    Json& custom = defaults["custom"];
    if (!spec.stacking.empty()) {
      custom["stacking"]["mode"] = spec.stacking;
      custom["fillOpacity"] = 40;
    }
    if (!spec.thresholds_style.empty()) {
      custom["thresholdsStyle"]["mode"] = spec.thresholds_style;
    }
  }
  Member(w, "fieldConfig", indent).Write(field_config, indent);
  return text;
}

// Appends `s` to `key` so that no two different sequences of fields give the same key: its
// length, then its bytes.
void KeyField(std::string& key, std::string_view s) {
  char buf[24];
  key.append(buf, std::to_chars(buf, buf + sizeof buf, s.size()).ptr);
  key += ':';
  key += s;
}

void KeyNumber(std::string& key, std::optional<double> v) {
  if (!v) {
    key += '-';
    return;
  }
  char buf[32];
  key.append(buf, std::to_chars(buf, buf + sizeof buf, *v).ptr);  // shortest round trip: exact
  key += ';';
}

// A JSON value of a spec as a key field: its type and its compact dump (which tells apart
// any two values MergedText could write differently).
void KeyJson(std::string& key, const Json& j) {
  key += std::to_string(static_cast<int>(j.type()));
  KeyField(key, j.is_null() ? std::string() : j.dump());
}

// Everything of `spec` that MergedText reads, as a string: equal keys give equal text.
std::string PanelMergeKey(const PanelSpec& spec) {
  std::string key;
  key.reserve(128);
  KeyField(key, spec.type);
  KeyField(key, spec.unit);
  KeyNumber(key, spec.min);
  KeyNumber(key, spec.max);
  KeyNumber(key, spec.decimals ? std::optional<double>(*spec.decimals) : std::nullopt);
  key += std::to_string(spec.steps.size());
  key += ';';
  for (const Step& s : spec.steps) {
    KeyField(key, s.color);
    KeyNumber(key, s.value);
  }
  KeyField(key, spec.thresholds_style);
  KeyField(key, spec.stacking);
  KeyJson(key, spec.mappings);
  KeyJson(key, spec.options);
  KeyJson(key, spec.custom);
  KeyJson(key, spec.overrides);
  return key;
}

// MergedText by PanelMergeKey, for one DashboardTemplates (and one panel indent): a fleet's
// dashboards repeat a few dozen combinations of template and settings, each merged once.
// Holds at most kMaxEntries texts (a fleet of all-different settings merges the rest every
// time). Thread-safe.
class PanelTextCache {
 public:
  // Appends the text of `key` to `out`, made by `make` unless a call made it before.
  template <typename Make>
  void Append(const std::string& key, const Make& make, std::string& out) {
    const std::string* cached = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = texts_.find(key);
      if (it != texts_.end()) cached = &it->second;
    }
    if (cached) {  // an element's address outlives rehashing; elements are never erased
      out += *cached;
      return;
    }
    std::string text = make();
    out += text;
    std::lock_guard<std::mutex> lock(mu_);
    if (texts_.size() < kMaxEntries) texts_.try_emplace(key, std::move(text));
  }

 private:
  static constexpr std::size_t kMaxEntries = 4096;
  std::mutex mu_;
  std::unordered_map<std::string, std::string> texts_;
};

// Places panels left to right, wrapping at the grid width, and numbers them. Writes each
// panel as JSON text straight away (the dashboard's "panels" array, at the indent of a
// top-level member): a panel is built as a document only where it merges the template's
// options and fieldConfig.
class Layout {
 public:
  // `cache` must be used with `templates` only.
  Layout(const DashboardTemplates& templates, PanelTextCache& cache)
      : templates_(templates), cache_(cache) {}

  void Row(const std::string& title) {
    NewLine();
    const Json& row = TemplatePanel("row");
    ObjectWriter panel = StartPanel();
    panel.Key("type").String("row");
    panel.Key("id").Integer(next_id_++);
    panel.Key("title").String(title);
    panel.Key("collapsed").Out() += row.value("collapsed", false) ? "true" : "false";
    panel.Key("gridPos");
    GridPos(0, y_, kGridWidth, 1, panel.Inner());
    panel.Key("panels").Out() += "[]";
    panel.End();
    y_ += 1;
  }

  void Add(const PanelSpec& spec) {
    int w = std::clamp(spec.w, 1, kGridWidth);
    if (x_ + w > kGridWidth) NewLine();
    const Json& tpl = TemplatePanel(spec.type);
    ObjectWriter panel = StartPanel();
    panel.Key("type").String(spec.type);
    panel.Key("id").Integer(next_id_++);
    panel.Key("title").String(spec.title);
    panel.Key("description").String(spec.description);
    if (!spec.queries.empty()) {
      panel.Key("datasource");
      Datasource(panel.Inner());
    }
    panel.Key("gridPos");
    GridPos(x_, y_, w, spec.h, panel.Inner());
    if (!spec.queries.empty()) {
      panel.Key("targets").Out() += "[\n";
      const int indent = panel.Inner() + 2;
      char ref = 'A';
      for (const Query& q : spec.queries) {
        if (ref != 'A') text_ += ",\n";
        text_.append(static_cast<std::size_t>(indent), ' ');
        ObjectWriter t(writer_, indent);
        t.Key("datasource");
        Datasource(t.Inner());
        t.Key("editorMode").String("code");
        t.Key("expr").String(q.expr);
        t.Key("format").String(q.format);
        t.Key("instant").Out() += q.instant ? "true" : "false";
        t.Key("range").Out() += q.instant ? "false" : "true";
        t.Key("legendFormat").String(q.legend.empty() ? "__auto" : q.legend);
        t.Key("refId").String(std::string_view(&ref, 1));
        ++ref;
        t.End();
      }
      text_ += '\n';
      text_.append(static_cast<std::size_t>(panel.Inner()), ' ');
      text_ += ']';
    }
    if (spec.transformations.is_array()) {
      panel.Key("transformations").Write(spec.transformations, panel.Inner());
    }

    // The template's options and fieldConfig merged with the panel's own settings: the same
    // text for every panel of the same template and settings, made once per cache.
    cache_.Append(
        PanelMergeKey(spec), [&] { return MergedText(tpl, spec, panel.Inner()); }, text_);
    panel.End();

    x_ += w;
    line_height_ = std::max(line_height_, spec.h);
  }

  // The "panels" array as JSON text, at the indent of a top-level member.
  std::string Take() && {
    if (panels_ == 0) return "[]";
    text_ += "\n  ]";
    return std::move(text_);
  }

 private:
  static constexpr int kPanelIndent = 4;  // dashboard { "panels": [ panel

  ObjectWriter StartPanel() {
    text_ += panels_++ == 0 ? "[\n" : ",\n";
    text_.append(kPanelIndent, ' ');
    return ObjectWriter(writer_, kPanelIndent);
  }

  // The keys PanelFromTemplate would copy from the template of `type`, without copying them.
  const Json& TemplatePanel(const std::string& type) const {
    static const Json kNone = Json::object();
    auto it = templates_.panels.find(type);
    return it != templates_.panels.end() && it->is_object() ? *it : kNone;
  }

  // {"type": "prometheus", "uid": "${datasource}"}, the object at `indent`.
  void Datasource(int indent) {
    ObjectWriter o(writer_, indent);
    o.Key("type").String("prometheus");
    o.Key("uid").String("${datasource}");
    o.End();
  }

  void GridPos(int x, int y, int w, int h, int indent) {
    ObjectWriter o(writer_, indent);
    o.Key("h").Integer(h);
    o.Key("w").Integer(w);
    o.Key("x").Integer(x);
    o.Key("y").Integer(y);
    o.End();
  }

  void NewLine() {
    y_ += line_height_;
    x_ = 0;
    line_height_ = 0;
  }

  const DashboardTemplates& templates_;
  PanelTextCache& cache_;
  std::string text_;
  JsonWriter writer_{text_};
  int panels_ = 0;
  int next_id_ = 1;
  int x_ = 0;
  int y_ = 0;
  int line_height_ = 0;
};

// Adds `specs` as one line of equally wide panels (stat strips).
void AddStrip(Layout& layout, std::vector<PanelSpec> specs, int h) {
  if (specs.empty()) return;
  int w = kGridWidth / static_cast<int>(specs.size());
  for (PanelSpec& s : specs) {
    s.w = w;
    s.h = h;
    layout.Add(s);
  }
}

Json CustomVariable(const std::string& name, const std::string& label,
                    const std::string& description, const std::vector<std::string>& values) {
  Json var = Json::object();
  var["type"] = "custom";
  var["name"] = name;
  var["label"] = label;
  var["description"] = description;
  std::string query;
  Json options = Json::array();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) query += ",";
    query += values[i];
    options.push_back(Json{{"selected", i == 0}, {"text", values[i]}, {"value", values[i]}});
  }
  var["query"] = query;
  if (!values.empty()) var["current"] = Json{{"text", values[0]}, {"value", values[0]}};
  var["options"] = std::move(options);
  var["hide"] = 0;
  var["multi"] = false;
  var["includeAll"] = false;
  var["skipUrlSync"] = false;
  return var;
}

bool IsClassifier(const ModelConfig& m) { return m.task != Task::kRegression; }

std::string Sel(const std::string& metric, const std::string& matchers) {
  return metric + "{" + matchers + "}";
}

const char* kM = "model=\"$model\"";
const char* kMV = "model=\"$model\", version=~\"$version\"";
const char* kMW = "model=\"$model\", window=\"$window\"";
const char* kMVW = "model=\"$model\", version=~\"$version\", window=\"$window\"";
// The overview's: every model the $model variable selects.
const char* kModels = "model=~\"$model\"";

// Two colours: `below` under `at`, `above` from `at` on.
std::vector<Step> Threshold(const char* below, double at, const char* above) {
  return {{std::nullopt, below}, {at, above}};
}

// An alert's two levels: green, yellow from `warn`, red from `critical`.
std::vector<Step> Levels(double warn, double critical) {
  return {{std::nullopt, "green"}, {warn, "yellow"}, {critical, "red"}};
}

void AddPanels(Layout& layout, const std::vector<PanelSpec>& specs) {
  for (const PanelSpec& s : specs) layout.Add(s);
}

// Serving now: traffic, errors and latency, and what is left of the SLO's budgets.
std::vector<PanelSpec> SlaStrip(const ModelConfig& model) {
  const std::optional<double> error_objective = ErrorObjective(model);
  const bool latency_slo = model.slo && model.slo->latency_p99_ms;
  const double latency_ms = latency_slo ? *model.slo->latency_p99_ms : 0;
  const std::string period = model.slo ? WindowLabel(model.slo->period) : "30d";
  const std::vector<Step> budget_steps = {{std::nullopt, "red"}, {0.0, "yellow"}, {0.25, "green"}};
  std::vector<PanelSpec> strip = {
      {.type = "stat",
       .title = "Predictions per second",
       .unit = "reqps",
       .description = "Accepted prediction records per second over 5m, summed over the selected "
                      "versions (recording rule " +
                      std::string(series::kVersionPredictionRate5m) + ").",
       .queries = {{"sum(" + Sel(series::kVersionPredictionRate5m, kMV) + ")", "predictions/s"}}},
      {.type = "stat",
       .title = "Error ratio (5m)",
       .unit = "percentunit",
       .decimals = 2,
       .steps = error_objective ? Threshold("green", *error_objective, "red") : std::vector<Step>{},
       .description = "Share of predictions with a status other than ok over 5m, all versions." +
                      (error_objective ? " Red above the SLO's allowed error ratio of " +
                                             Percent(*error_objective) + "."
                                       : ""),
       .queries = {{Sel(series::ErrorRatio("5m"), kM), "error ratio"}}},
      {.type = "stat",
       .title = "p99 latency (5m)",
       .unit = "s",
       .steps = latency_slo ? Threshold("green", latency_ms / 1000.0, "red") : std::vector<Step>{},
       .description = "99th percentile of the request duration over 5m, all versions." +
                      (latency_slo ? " Red above the SLO's p99 objective of " +
                                         Num(latency_ms / 1000.0) + " s."
                                   : ""),
       .queries = {{Sel(series::kLatencyP99, kM), "p99"}}},
  };
  if (error_objective) {
    strip.push_back({
        .type = "stat",
        .title = "Availability (" + period + ")",
        .unit = "percentunit",
        .decimals = 3,
        .steps = Threshold("red", 1.0 - *error_objective, "green"),
        .description = "Share of predictions served without error over the SLO period (" + period +
                       "); green at or above the target of " + Percent(1.0 - *error_objective) +
                       ".",
        .queries = {{"1 - " + Sel(series::ErrorRatio(period), kM), "availability"}},
    });
    strip.push_back({
        .type = "stat",
        .title = "Error budget left",
        .unit = "percentunit",
        .decimals = 1,
        .steps = budget_steps,
        .description = "Share of the error budget of the SLO period (" + period +
                       ") still unspent: 100% untouched, 0 spent, negative overspent.",
        .queries = {{Sel(series::kErrorBudgetRemaining, kM), "error budget"}},
    });
  }
  if (latency_slo) {
    strip.push_back({
        .type = "stat",
        .title = "Latency budget left",
        .unit = "percentunit",
        .decimals = 1,
        .steps = budget_steps,
        .description = "Share of the latency budget (1% of requests may be slower than " +
                       Num(latency_ms) + " ms) of the SLO period (" + period + ") still unspent.",
        .queries = {{Sel(series::kLatencyBudgetRemaining, kM), "latency budget"}},
    });
  }
  return strip;
}

// Serving over time per version, and how fast errors and slow requests spend the budgets.
std::vector<PanelSpec> SlaGraphs(const ModelConfig& model) {
  const std::optional<double> error_objective = ErrorObjective(model);
  const bool latency_slo = model.slo && model.slo->latency_p99_ms;
  const double latency_ms = latency_slo ? *model.slo->latency_p99_ms : 0;
  PanelSpec latency = {
      .title = "Latency p50 / p95 / p99",
      .unit = "s",
      .w = 8,
      .description = "Request-duration quantiles over 5m for each selected version.",
      .queries = {{Sel(series::kVersionLatencyP50, kMV), "p50 {{version}}"},
                  {Sel(series::kVersionLatencyP95, kMV), "p95 {{version}}"},
                  {Sel(series::kVersionLatencyP99, kMV), "p99 {{version}}"}},
  };
  PanelSpec errors = {
      .title = "Error ratio vs SLO",
      .unit = "percentunit",
      .w = 8,
      .description = "Share of predictions that were serving errors over 5m, per version.",
      .queries = {{Sel(series::kVersionErrorRatio5m, kMV), "{{version}}"}},
  };
  // The SLO's objectives, where it sets them, as lines on the graphs they bound.
  if (latency_slo) {
    latency.description +=
        " The objective line is the SLO's p99 latency (" + Num(latency_ms) + " ms).";
    latency.queries.push_back({Sel(series::kLatencyObjectiveSeconds, kM), "p99 objective"});
  }
  if (error_objective) {
    errors.description +=
        " The objective line is the SLO's allowed error ratio (" + Percent(*error_objective) + ").";
    errors.queries.push_back({Sel(series::kErrorObjective, kM), "objective"});
  }
  std::vector<PanelSpec> panels = {
      {.title = "Request rate by version",
       .unit = "reqps",
       .w = 8,
       .description = "Predictions per second over 5m for each selected model version.",
       .queries = {{"sum by (version) (" + Sel(series::kVersionPredictionRate5m, kMV) + ")",
                    "{{version}}"}}},
      std::move(latency),
      std::move(errors),
      {.title = "Errors by type",
       .unit = "reqps",
       .w = 8,
       .stacking = "normal",
       .description = "Serving errors per second over 5m by error type (the record's status).",
       .queries = {{"sum by (error_type) (" + Sel(series::kErrorTypeRate5m, kMV) + ")",
                    "{{error_type}}"}}},
  };

  // A line per window of the multi-window alerts: the ratio over it per allowed ratio.
  const std::vector<Step> burn_steps = {
      {std::nullopt, "green"}, {1.0, "yellow"}, {6.0, "orange"}, {14.4, "red"}};
  std::vector<Query> error_burn;
  std::vector<Query> latency_burn;
  for (const char* w : {"1h", "6h", "1d", "3d"}) {
    error_burn.push_back(
        {Sel(series::ErrorRatio(w), kM) + " / on (model) " + Sel(series::kErrorObjective, kM), w});
    latency_burn.push_back({Sel(series::LatencySlowRatio(w), kM) + " / 0.01", w});
  }
  if (error_objective) {
    panels.push_back({
        .title = "Error-budget burn rate",
        .unit = "suffix:x",
        .w = 8,
        .steps = burn_steps,
        .thresholds_style = "dashed",
        .description = "Error ratio over each alert window divided by the allowed error ratio: 1 "
                       "spends the budget exactly over the SLO period; the multi-window alerts "
                       "page at 14.4 (1h) and 6 (6h) and open tickets at 3 (1d) and 1 (3d).",
        .queries = std::move(error_burn),
    });
  }
  if (latency_slo) {
    panels.push_back({
        .title = "Latency-budget burn rate",
        .unit = "suffix:x",
        .w = 8,
        .steps = burn_steps,
        .thresholds_style = "dashed",
        .description = "Share of requests slower than the p99 objective (" + Num(latency_ms) +
                       " ms) over each alert window divided by the allowed 1%: 1 spends the budget "
                       "exactly over the SLO period.",
        .queries = std::move(latency_burn),
    });
  }
  return panels;
}

// EntropyRise's own signal and threshold (entropy.compare).
PanelSpec EntropyStat(const ModelConfig& model) {
  const EntropyConfig& ent = model.entropy;
  if (ent.Effective(!model.baseline.empty()) == EntropyCompare::kWindows) {
    return {
        .type = "stat",
        .title = "Entropy ratio",
        .unit = "none",
        .decimals = 2,
        .steps = Threshold("green", ent.max_ratio, "red"),
        .description =
            "Mean prediction entropy over the shortest drift window divided by the longest, worst "
            "selected version; 1 = unchanged, EntropyRise fires above " +
            FormatNumber(ent.max_ratio) + ".",
        .queries = {{"max(" + Sel(series::kEntropyRatio, kMV) + ")", "entropy ratio"}},
    };
  }
  const std::string window =
      ent.window.empty() ? SortedDriftWindows(model).back().label : ent.window;
  return {
      .type = "stat",
      .title = "Entropy vs. baseline (" + window + ")",
      .unit = "none",
      .decimals = 2,
      .steps = Threshold("green", ent.sigmas, "red"),
      .description = "Mean prediction entropy over " + window +
                     " minus the baseline's mean, in standard deviations of the baseline's "
                     "records, worst selected version; EntropyRise fires above " +
                     FormatNumber(ent.sigmas) + ".",
      .queries = {{"max(" +
                       Sel(series::kEntropyShift,
                           std::string(kMV) + ", window=\"" + window + "\"") +
                       ")",
                   "entropy shift"}},
  };
}

// The degradation score and the signals it is built from, each against its alert's threshold.
std::vector<PanelSpec> HealthStrip(const ModelConfig& model) {
  const DriftConfig& drift = model.drift;
  const DegradationConfig& score = model.degradation;
  const std::string method = DriftMethodName(drift.method);
  const std::string drift_sel = std::string(kM) + ", method=\"" + method + "\", window=\"$window\"";
  std::vector<PanelSpec> strip = {
      {.type = "stat",
       .title = "Degradation score",
       .unit = "none",
       .min = 0,
       .max = 100,
       .steps = Levels(score.notify_at, score.page_at),
       .description =
           "Composite degradation score (0-100) of the worst selected version: notifies at " +
           Num(score.notify_at) + ", pages at " + Num(score.page_at) + ".",
       .queries = {{"max(" + Sel(metric::kModelDegradationScore.Name(), kMV) + ")", "score"}}},
      {.type = "stat",
       .title = "Max feature drift ($window)",
       .unit = "none",
       .decimals = 3,
       .steps = Levels(drift.warn, drift.critical),
       .description = "Largest " + method +
                      " drift over all features in the selected window; warns at " +
                      Num(drift.warn) + ", critical at " + Num(drift.critical) + ".",
       .queries = {{"max(" + Sel(series::kFeatureDriftMax, drift_sel) + ")", "max drift"}}},
      {.type = "stat",
       .title = "Features drifting ($window)",
       .unit = "short",
       .steps = Threshold("green", 1.0, "yellow"),
       .description = "Number of features whose " + method +
                      " drift is at or above the warn threshold (" + Num(drift.warn) +
                      ") in the selected window.",
       .queries = {{Sel(series::kFeaturesDrifting, kMW), "features"}}},
      {.type = "stat",
       .title = "Anomalous requests ($window)",
       .unit = "percentunit",
       .decimals = 2,
       .description = "Share of requests with at least one feature outside the training range in "
                      "the selected window.",
       .queries = {{Sel(metric::kModelAnomalousRequestsRatio.Name(), kMW), "anomalous"}}},
  };
  if (IsClassifier(model)) {
    strip.push_back({
        .type = "stat",
        .title = "Confidence ratio",
        .unit = "none",
        .decimals = 2,
        .steps = Threshold("red", model.confidence_min_ratio, "green"),
        .description = "Mean confidence over the shortest drift window divided by the longest, "
                       "worst selected version; 1 = unchanged, ConfidenceDrop fires below " +
                       FormatNumber(model.confidence_min_ratio) + ".",
        .queries = {{"min(" + Sel(series::kConfidenceRatio, kMV) + ")", "confidence ratio"}},
    });
    strip.push_back(EntropyStat(model));
  }
  return strip;
}

// What the model outputs, and which versions serve it.
std::vector<PanelSpec> OutputPanels(const ModelConfig& model) {
  std::vector<PanelSpec> panels;
  // Only binary classifiers log a score (model_prediction_score); multiclass models show
  // the volume per predicted class (model_predicted_class_total) in its place.
  if (model.task == Task::kBinaryClassification) {
    panels.push_back({
        .type = "heatmap",
        .title = "Score distribution",
        .unit = "short",
        .description = "Predictions per score bucket and interval (the " +
                       metric::kModelPredictionScore.Name() +
                       " histogram of the selected versions); a shift of the mass is a change in "
                       "the model's output.",
        .queries = {{"sum by (le) (increase(" + Sel(metric::kModelPredictionScore.Bucket(), kMV) +
                         "[$__rate_interval]))",
                     "{{le}}", false, "heatmap"}},
        .options = Json{{"calculate", false},
                        {"rowsFrame", {{"layout", "le"}, {"value", "predictions"}}},
                        {"yAxis", {{"unit", "none"}, {"decimals", 2}}},
                        {"cellValues", {{"unit", "short"}}}},
    });
  }
  if (model.task == Task::kMulticlassClassification) {
    panels.push_back({
        .title = "Predictions by class",
        .unit = "reqps",
        .stacking = "normal",
        .description = "Predictions per second by predicted class (" +
                       metric::kModelPredictedClassTotal.Name() +
                       ") over the selected versions; a shift between classes is a change in the "
                       "model's output.",
        .queries = {{"sum by (class) (rate(" + Sel(metric::kModelPredictedClassTotal.Name(), kMV) +
                         "[$__rate_interval]))",
                     "{{class}}"}},
    });
  }
  panels.push_back({
      .title = "Traffic share by version",
      .unit = "percentunit",
      .min = 0,
      .max = 1,
      .stacking = "normal",
      .description = "Share of predictions served by each version (all versions, regardless of the "
                     "version selection), to follow rollouts and canaries.",
      .queries = {{"sum by (version) (" + Sel(series::kVersionPredictionRate5m, kM) +
                       ") / ignoring (version) group_left sum(" +
                       Sel(series::kVersionPredictionRate5m, kM) + ")",
                   "{{version}}"}},
  });
  return panels;
}

// Drift of each feature. Features with their own drift settings (features[].drift) are drawn
// with their own method and thresholds, so each line is judged as its alert judges it.
PanelSpec FeatureDriftPanel(const ModelConfig& model) {
  const std::string method = DriftMethodName(model.drift.method);
  PanelSpec s = {
      .title = "Feature drift (" + method + ", $window)",
      .unit = "none",
      .steps = Levels(model.drift.warn, model.drift.critical),
      .thresholds_style = "dashed",
      .description = "Drift of each feature against the baseline (" + method +
                     ", the alerting method) in the selected window; dashed lines at the warn (" +
                     Num(model.drift.warn) + ") and critical (" + Num(model.drift.critical) +
                     ") thresholds. PII features are never exported.",
      .queries = {{Sel(metric::kModelFeatureDrift.Name(),
                       std::string(kM) + ", method=\"" + method + "\", window=\"$window\""),
                   "{{feature}}"}},
      .overrides = Json::array(),
  };
  std::map<DriftMethod, std::vector<std::string>> own_method;
  std::string own;
  for (const FeatureConfig& f : model.features) {
    if (f.pii) continue;
    const FeatureDriftSettings e = EffectiveFeatureDrift(model.drift, f);
    if (!f.alert) {
      own += std::string(own.empty() ? "" : "; ") + f.name + ": no alert";
      continue;
    }
    if (!e.overridden) continue;
    if (e.method != model.drift.method) own_method[e.method].push_back(f.name);
    own += std::string(own.empty() ? "" : "; ") + f.name + ": " + DriftMethodName(e.method) + ", " +
           Num(e.warn) + "/" + Num(e.critical);
    if (e.windows.size() != model.drift.windows.size()) {
      std::string ws;
      for (const Window& w : e.windows) ws += (ws.empty() ? "" : ", ") + w.label;
      own += " (alerts on " + ws + " only)";
    }
    s.overrides.push_back(Json{
        // byNames (options an object, as the dashboard schema requires; byName's is a
        // string).
        {"matcher",
         {{"id", "byNames"}, {"options", {{"mode", "include"}, {"names", Json::array({f.name})}}}}},
        {"properties",
         Json::array({Json{{"id", "thresholds"},
                           {"value", ThresholdSteps(Levels(e.warn, e.critical))}}})}});
  }
  if (!own.empty()) s.description += " Features with their own settings: " + own + ".";
  for (const auto& [m, names] : own_method) {
    std::string re;
    for (const std::string& n : names) re += (re.empty() ? "" : "|") + n;
    s.queries.push_back({Sel(metric::kModelFeatureDrift.Name(),
                             std::string(kM) + ", feature=~\"" + re + "\", method=\"" +
                                 DriftMethodName(m) + "\", window=\"$window\""),
                         "{{feature}}"});
  }
  return s;
}

// How far the inputs and outputs drifted, and how much each signal adds to the score.
std::vector<PanelSpec> DriftPanels(const ModelConfig& model) {
  const std::string method = DriftMethodName(model.drift.method);
  const DegradationConfig& score = model.degradation;
  std::string weights;
  for (const auto& [signal, weight] : score.weights) {
    weights += (weights.empty() ? "" : ", ") + signal + " " + Num(weight);
  }
  return {
      FeatureDriftPanel(model),
      {.title = "Prediction drift ($window)",
       .unit = "none",
       .steps = Levels(model.drift.warn, model.drift.critical),
       .thresholds_style = "dashed",
       .description = "Drift of the model's output distribution against the baseline (" + method +
                      ") per selected version in the selected window.",
       .queries = {{Sel(metric::kModelPredictionDrift.Name(),
                        std::string(kMV) + ", method=\"" + method + "\", window=\"$window\""),
                    "{{version}}"}}},
      {.title = "Degradation score by version",
       .unit = "none",
       .min = 0,
       .max = 100,
       .steps = Levels(score.notify_at, score.page_at),
       .thresholds_style = "dashed",
       .description =
           "Composite degradation score (0-100) per version; dashed lines at the notify (" +
           Num(score.notify_at) + ") and page (" + Num(score.page_at) + ") levels.",
       .queries = {{Sel(metric::kModelDegradationScore.Name(), kMV), "{{version}}"}}},
      {.title = "Degradation signals",
       .unit = "none",
       .min = 0,
       .stacking = "normal",
       .description = "The weighted inputs of the degradation score (weight x normalised input x "
                      "100); stacked, they add up to the score. Weights: " +
                      weights + ".",
       .queries = {{Sel(metric::kModelDegradationSignal.Name(), kMV), "{{signal}} ({{version}})"}}},
  };
}

// Proxies for performance before labels arrive: confidence, entropy, data quality, the
// positive rate and the class mix.
std::vector<PanelSpec> ProxyPanels(const ModelConfig& model) {
  const bool entropy_windows =
      model.entropy.Effective(!model.baseline.empty()) == EntropyCompare::kWindows;
  std::vector<PanelSpec> panels;
  if (IsClassifier(model)) {
    panels.push_back({
        .title = "Mean confidence ($window)",
        .unit = "percentunit",
        .w = 8,
        .description = "Mean confidence (largest class probability) per version in the selected "
                       "window; a drop means the model is less sure of its predictions.",
        .queries = {{Sel(metric::kModelPredictionConfidenceMean.Name(), kMVW), "{{version}}"}},
    });
    panels.push_back({
        .title = "Mean entropy ($window)",
        .unit = "none",
        .w = 8,
        .description = "Mean entropy of the class probabilities (natural log) per version in the "
                       "selected window; a rise means less decisive predictions.",
        .queries = {{Sel(metric::kModelPredictionEntropyMean.Name(), kMVW), "{{version}}"}},
    });
    panels.push_back({
        .title = "Confidence and entropy vs. baseline window",
        .unit = "none",
        .w = 8,
        .description =
            "Shortest over longest drift window for mean confidence (ConfidenceDrop below " +
            FormatNumber(model.confidence_min_ratio) + ") and mean entropy" +
            (entropy_windows ? " (EntropyRise above " + FormatNumber(model.entropy.max_ratio) + ")"
                             : "") +
            "; 1 = unchanged.",
        .queries = {{Sel(series::kConfidenceRatio, kMV), "confidence {{version}}"},
                    {Sel(series::kEntropyRatio, kMV), "entropy {{version}}"}},
    });
  }
  panels.push_back({
      .title = "Anomalies and data quality ($window)",
      .unit = "percentunit",
      .description =
          "Share of anomalous requests (any feature outside the training range), and per feature "
          "the share of missing and of out-of-range values in the selected window.",
      .queries = {{Sel(metric::kModelAnomalousRequestsRatio.Name(), kMW), "anomalous requests"},
                  {Sel(metric::kModelFeatureMissingRatio.Name(), kMW), "missing {{feature}}"},
                  {Sel(metric::kModelFeatureOutOfRangeRatio.Name(), kMW),
                   "out of range {{feature}}"}},
  });
  if (model.task == Task::kBinaryClassification) {
    panels.push_back({
        .title = "Positive rate ($window)",
        .unit = "percentunit",
        .w = 12,
        .description = "Share of predictions at or above the decision threshold (" +
                       Num(model.threshold) + ") per version in the selected window.",
        .queries = {{Sel(metric::kModelPositiveRate.Name(), kMVW), "{{version}}"}},
    });
    panels.push_back({
        .title = "Positive-rate shift (z-score, $window)",
        .unit = "none",
        .w = 12,
        .steps = {{std::nullopt, "red"},
                  {-5.0, "yellow"},
                  {-2.0, "green"},
                  {2.0, "yellow"},
                  {5.0, "red"}},
        .thresholds_style = "dashed",
        .description = "z-score of the positive rate against the baseline rate; PositiveRateShift "
                       "opens a ticket beyond 2 sigma and pages beyond 5 sigma.",
        .queries = {{Sel(metric::kModelPositiveRateZscore.Name(), kMVW), "{{version}}"}},
    });
  }
  if (model.task == Task::kMulticlassClassification) {
    panels.push_back({
        .title = "Predicted class share (1h)",
        .unit = "percentunit",
        .w = 12,
        .stacking = "normal",
        .description = "Share of predictions per predicted class over 1h, per version.",
        .queries = {{Sel(series::kClassShare1h, kMV), "{{class}} ({{version}})"}},
    });
  }
  // Estimated from confidence (and binned scores): classifiers only.
  if (IsClassifier(model)) {
    panels.push_back({
        .title = "Estimated performance (without labels)",
        .unit = "none",
        .w = 12,
        .description = "Performance estimated from the model's own outputs (e.g. confidence-based "
                       "accuracy), per metric, version and window; available before labels arrive.",
        .queries = {{Sel(metric::kModelEstimatedPerformance.Name(), kMV),
                     "{{metric}} {{version}} ({{window}})"}},
    });
  }
  return panels;
}

std::vector<PanelSpec> GroundTruthPanels(const GroundTruthConfig& gt) {
  std::vector<PanelSpec> panels = {
      {.title = "Performance from labels",
       .unit = "none",
       .description = "Performance computed from joined ground-truth labels, per metric, version "
                      "and window (labels arrive after a delay of " +
                      WindowLabel(gt.delay) +
                      "), next to the baseline's performance on its labelled reference data (when "
                      "the baseline was built with --labels).",
       .queries = {{Sel(metric::kModelPerformance.Name(), kMV),
                    "{{metric}} {{version}} ({{window}})"},
                   {Sel(metric::kModelBaselinePerformance.Name(), kM), "{{metric}} baseline"}}},
  };
  if (gt.retrain_when) {
    const RetrainConfig& r = *gt.retrain_when;
    const bool above = r.above.has_value();
    const double limit = above ? *r.above : r.below;
    panels.push_back({
        .title = "Retrain metric: " + r.metric,
        .unit = "none",
        .steps = above ? Threshold("green", limit, "red") : Threshold("red", limit, "green"),
        .thresholds_style = "dashed",
        .description =
            "The metric that decides retraining: PerformanceBelowRetrainThreshold fires when " +
            r.metric + (above ? " stays above " : " stays below ") + Num(limit) + " for " +
            WindowLabel(r.for_duration) + "; the baseline's value for comparison.",
        .queries = {{Sel(metric::kModelPerformance.Name(),
                         std::string(kMV) + ", metric=\"" + r.metric + "\""),
                     "{{version}} ({{window}})"},
                    {Sel(metric::kModelBaselinePerformance.Name(),
                         std::string(kM) + ", metric=\"" + r.metric + "\""),
                     "baseline"}},
    });
  }
  panels.push_back({
      .title = "Label match ratio",
      .unit = "percentunit",
      .min = 0,
      .max = 1,
      .steps = Threshold("red", gt.min_match_rate, "green"),
      .thresholds_style = "dashed",
      .description = "Of the predictions at least the label delay old, the share that received a "
                     "label; LowLabelMatchRate fires below " +
                     Percent(gt.min_match_rate) + ".",
      .queries = {{Sel(metric::kModelLabelMatchRatio.Name(), kM), "{{window}}"}},
  });
  panels.push_back({
      .title = "Unmatched labels",
      .unit = "cps",
      .description = "Labels per second that matched no prediction (wrong join key, or the "
                     "prediction is older than the join window).",
      .queries = {{"sum(rate(" + Sel(metric::kModelLabelsUnmatchedTotal.Name(), kM) +
                       "[$__rate_interval]))",
                   "unmatched labels/s"}},
  });
  if (!gt.segments.empty()) {
    std::string keys;
    for (const std::string& k : gt.segments) keys += (keys.empty() ? "" : ", ") + k;
    panels.push_back({
        .title = "Performance by segment",
        .unit = "none",
        .w = 24,
        .description =
            "Performance from labels per segment value, for the segment keys " + keys + ".",
        .queries = {{Sel(metric::kModelSegmentPerformance.Name(), kMV),
                     "{{segment}}={{value}} {{metric}} {{version}} ({{window}})"}},
    });
  }
  return panels;
}

std::vector<PanelSpec> ShadowPanels(const ShadowConfig& sh) {
  const std::string sel =
      std::string(kM) + ", champion=\"" + sh.champion + "\", challenger=\"" + sh.challenger + "\"";
  return {
      {.title = "Agreement",
       .unit = "percentunit",
       .w = 8,
       .min = 0,
       .max = 1,
       .steps = Threshold("red", sh.min_agreement, "green"),
       .thresholds_style = "dashed",
       .description = "Share of paired requests on which challenger " + sh.challenger +
                      " and champion " + sh.champion +
                      " predict the same class; ShadowDisagreement fires below " +
                      Percent(sh.min_agreement) + ".",
       .queries = {{Sel(metric::kModelShadowAgreementRatio.Name(), sel), "{{window}}"}}},
      {.title = "Score correlation",
       .unit = "none",
       .w = 8,
       .max = 1,
       .description = "Pearson correlation of the challenger's and the champion's scores on paired "
                      "requests, per window.",
       .queries = {{Sel(metric::kModelShadowScoreCorrelation.Name(), sel), "{{window}}"}}},
      {.title = "Score distribution distance (KS)",
       .unit = "none",
       .w = 8,
       .min = 0,
       .max = 1,
       .description = "Kolmogorov-Smirnov distance between the challenger's and the champion's "
                      "score distributions, per window (0 = identical).",
       .queries = {{Sel(metric::kModelShadowScoreKs.Name(), sel), "{{window}}"}}},
  };
}

std::vector<PanelSpec> ExporterPanels() {
  // Self-metrics without a model label belong to the whole exporter: match them too.
  const char* kSelf = "model=~\"$model|\"";
  return {
      {.title = "Lines read and rejected",
       .unit = "cps",
       .w = 8,
       .description = "Log lines read per second, and lines rejected per second by reason "
                      "(invalid_json, missing_field, bad_type, too_long, unknown_model, ...).",
       .queries = {{"sum(rate(" + Sel(metric::kModelwatchLinesReadTotal.Name(), kSelf) +
                        "[$__rate_interval]))",
                    "read"},
                   {"sum by (reason) (rate(" +
                        Sel(metric::kModelwatchLinesRejectedTotal.Name(), kSelf) +
                        "[$__rate_interval]))",
                    "rejected {{reason}}"}}},
      {.title = "Source lag",
       .unit = "bytes",
       .w = 8,
       .description = "Bytes written to the tailed log files but not yet read; a growing lag means "
                      "the exporter falls behind.",
       .queries = {{Sel(metric::kModelwatchSourceLagBytes.Name(), kSelf), ""}}},
      {.title = "File rotations",
       .unit = "short",
       .w = 8,
       .description = "Log-file rotations (rename and copytruncate) the tailer followed.",
       .queries = {{"sum(increase(" + Sel(metric::kModelwatchFileRotationsTotal.Name(), kSelf) +
                        "[$__rate_interval]))",
                    "rotations"}}},
      {.title = "Late records",
       .unit = "cps",
       .w = 8,
       .description = "Records per second older than their window's start minus the allowed "
                      "lateness; they are counted but enter no window.",
       .queries = {{"sum(rate(" + Sel(metric::kModelLateRecordsTotal.Name(), kM) +
                        "[$__rate_interval]))",
                    "late records/s"}}},
      {.title = "Samples per window",
       .unit = "short",
       .w = 8,
       .description = "Records in each drift window; below min_samples the window's drift and "
                      "proxy gauges are absent.",
       .queries = {{Sel(metric::kModelWindowSamples.Name(), kM), "{{window}}"}}},
      {.type = "table",
       .title = "Baseline in use",
       .unit = "none",
       .w = 8,
       .description = "The baseline profile the exporter compares against (" +
                      metric::kModelBaselineInfo.Name() + ").",
       .queries = {{Sel(metric::kModelBaselineInfo.Name(), kM), "", true, "table"}},
       .transformations = Json::array(
           {Json{{"id", "organize"},
                 {"options",
                  {{"excludeByName", {{"Time", true}, {"Value", true}, {"__name__", true}}}}}}})},
  };
}

// Which models are in trouble now: health from the firing alerts, the alerts themselves, and
// links to each model's dashboard.
std::vector<PanelSpec> FleetHealthPanels(const ConfigSet& config) {
  std::string links;
  for (const ModelConfig& m : config.models) {
    links += (links.empty() ? "" : " | ");
    links += "[" + m.name + "](/d/" + series::DashboardUid(m.name) + ") (tier " +
             std::to_string(m.tier) + ", " + m.owner.team + ")";
  }
  if (links.empty()) links = "No models are configured.";
  // Per model: 2 while a page fires, 1 while only tickets fire, else 0 (from its traffic).
  auto firing = [](const std::string& severity) {
    return "max by (model) (" +
           Sel("ALERTS", "alertstate=\"firing\", severity=\"" + severity + "\", " + kModels) + ")";
  };
  const std::string health = "max by (model) (\n  2 * " + firing("page") + "\n  or 1 * " +
                             firing("ticket") + "\n  or 0 * max by (model) (" +
                             Sel(metric::kModelPredictionsTotal.Name(), kModels) + ")\n)";
  return {
      {.type = "table",
       .title = "Model health",
       .unit = "none",
       .w = 12,
       .h = 10,
       .steps = Levels(1.0, 2.0),
       .description =
           "One row per model: red (Critical) while a page-severity alert fires for it, yellow "
           "(Warning) while only ticket-severity alerts fire, green (OK) otherwise.",
       .queries = {{health, "", true, "table"}},
       .mappings =
           Json::array({Json{{"type", "value"},
                             {"options",
                              {{"0", {{"text", "OK"}, {"color", "green"}, {"index", 0}}},
                               {"1", {{"text", "Warning"}, {"color", "yellow"}, {"index", 1}}},
                               {"2", {{"text", "Critical"}, {"color", "red"}, {"index", 2}}}}}}}),
       .options = Json{{"sortBy", Json::array({Json{{"displayName", "Health"}, {"desc", true}}})}},
       .custom = Json{{"cellOptions",
                       {{"type", "color-background"}, {"mode", "basic"}, {"applyToRow", true}}}},
       .transformations =
           Json::array({Json{{"id", "organize"},
                             {"options",
                              {{"excludeByName", {{"Time", true}}},
                               {"renameByName", {{"model", "Model"}, {"Value", "Health"}}}}}}})},
      {.type = "table",
       .title = "Firing alerts",
       .unit = "short",
       .w = 12,
       .h = 10,
       .description = "Alerts firing now, by model, alert name and severity (page, ticket, info).",
       .queries = {{"count by (model, alertname, severity) (ALERTS{alertstate=\"firing\", " +
                        std::string(kModels) + "})",
                    "", true, "table"}},
       .transformations = Json::array(
           {Json{{"id", "organize"},
                 {"options",
                  {{"excludeByName", {{"Time", true}, {"Value", true}}},
                   {"renameByName",
                    {{"model", "Model"}, {"alertname", "Alert"}, {"severity", "Severity"}}}}}}})},
      {.type = "text",
       .title = "Model dashboards",
       .unit = "none",
       .w = 24,
       .h = 2 + static_cast<int>((config.models.size() + 3) / 4),
       .description = "Links to the per-model dashboards.",
       .options = Json{{"mode", "markdown"}, {"content", links}}},
  };
}

// Drift side by side, for the method and window chosen on the dashboard.
std::vector<PanelSpec> FleetDriftPanels() {
  const std::string drift_sel = std::string(kModels) + ", method=\"$method\", window=\"$window\"";
  const std::string max_drift =
      "max by (model) (" + Sel(metric::kModelFeatureDrift.Name(), drift_sel) + ")";
  return {
      {.title = "Max feature drift by model ($method, $window)",
       .unit = "none",
       .w = 16,
       .description =
           "Largest feature drift of each model over time, side by side, for the selected method "
           "and window. Thresholds differ per model; see each model's dashboard.",
       .queries = {{max_drift, "{{model}}"}}},
      {.type = "bargauge",
       .title = "Current max feature drift",
       .unit = "none",
       .w = 8,
       .decimals = 3,
       .description =
           "Largest feature drift of each model now, for the selected method and window.",
       .queries = {{max_drift, "{{model}}", true, "time_series"}}},
      {.title = "Features drifting by model ($window)",
       .unit = "short",
       .w = 12,
       .description = "Number of features at or above each model's warn threshold (alerting "
                      "method) in the selected window.",
       .queries = {{"sum by (model) (" +
                        Sel(series::kFeaturesDrifting,
                            std::string(kModels) + ", window=\"$window\"") +
                        ")",
                    "{{model}}"}}},
      {.title = "Degradation score by model",
       .unit = "none",
       .w = 12,
       .min = 0,
       .max = 100,
       .description = "Composite degradation score (0-100) of each model's worst version.",
       .queries = {{"max by (model) (" + Sel(metric::kModelDegradationScore.Name(), kModels) + ")",
                    "{{model}}"}}},
  };
}

// Serving side by side: one graph per signal, a line per model.
std::vector<PanelSpec> FleetServingPanels() {
  const struct {
    const char* title;
    const char* unit;
    std::string recording_rule;
    const char* description;
  } signals[] = {
      {"Request rate by model", "reqps", series::kPredictionRate5m,
       "Predictions per second over 5m per model."},
      {"Error ratio by model", "percentunit", series::ErrorRatio("5m"),
       "Share of predictions that were serving errors over 5m per model."},
      {"p99 latency by model", "s", series::kLatencyP99,
       "99th percentile request duration over 5m per model."},
  };
  std::vector<PanelSpec> panels;
  for (const auto& s : signals) {
    panels.push_back({
        .title = s.title,
        .unit = s.unit,
        .w = 8,
        .description = s.description,
        .queries = {{Sel(s.recording_rule, kModels), "{{model}}"}},
    });
  }
  return panels;
}

std::vector<std::string> DriftWindowLabels(const ModelConfig& model) {
  std::vector<std::string> out;
  for (const Window& w : model.drift.windows) out.push_back(w.label);
  if (out.empty()) out = {"1h", "24h"};
  return out;
}

std::string DashboardDescription(const std::string& what, const std::string& source) {
  return what + " Generated by modelwatch-rulegen from " + source + " \u2014 " + kGeneratedMark +
         ".";
}

// ModelDashboardText with the merged panel texts of `cache` (made with `templates`).
std::string ModelDashboardText(const ModelConfig& model, const DashboardTemplates& templates,
                               PanelTextCache& cache) {
  Json dash = templates.model;
  std::string what = "Model " + model.name + " (" + TaskName(model.task) + ", tier " +
                     std::to_string(model.tier) + ", team " + model.owner.team + ").";
  if (!model.description.empty()) what += " " + model.description;
  FillTokens(dash, {{"uid", series::DashboardUid(model.name)},
                    {"title", "modelwatch / " + model.name},
                    {"description", DashboardDescription(what, BaseName(model.file))},
                    {"model", model.name},
                    {"tier", std::to_string(model.tier)},
                    {"team", model.owner.team}});

  Json& vars = dash["templating"]["list"];
  if (!vars.is_array()) vars = Json::array();
  vars.push_back(CustomVariable("window", "Drift window",
                                "The drift window (the `window` label) of drift, proxy and "
                                "data-quality panels.",
                                DriftWindowLabels(model)));

  Layout layout(templates, cache);
  layout.Row("SLA overview");
  AddStrip(layout, SlaStrip(model), 4);
  AddPanels(layout, SlaGraphs(model));
  layout.Row("Model health");
  AddStrip(layout, HealthStrip(model), 4);
  AddPanels(layout, OutputPanels(model));
  AddPanels(layout, DriftPanels(model));
  AddPanels(layout, ProxyPanels(model));
  if (model.ground_truth) {
    layout.Row("Ground truth");
    AddPanels(layout, GroundTruthPanels(*model.ground_truth));
  }
  if (model.shadow) {
    layout.Row("Shadow: " + model.shadow->challenger + " vs " + model.shadow->champion);
    AddPanels(layout, ShadowPanels(*model.shadow));
  }
  layout.Row("Exporter");
  AddPanels(layout, ExporterPanels());
  dash["panels"] = Json::array();  // its place among the template's keys; the text is the layout's
  return DocumentText(dash, "panels", std::move(layout).Take());
}

// OverviewDashboardText with the merged panel texts of `cache` (made with `templates`).
std::string OverviewDashboardText(const ConfigSet& config, const DashboardTemplates& templates,
                                  PanelTextCache& cache) {
  Json dash = templates.overview;
  std::string models_regex;
  std::vector<std::string> windows;
  std::vector<std::string> methods;
  auto add_unique = [](std::vector<std::string>& v, const std::string& s) {
    if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
  };
  for (const ModelConfig& m : config.models) {
    if (!models_regex.empty()) models_regex += "|";
    models_regex += m.name;
    for (const std::string& w : DriftWindowLabels(m)) add_unique(windows, w);
    add_unique(methods, DriftMethodName(m.drift.method));
  }
  if (methods.empty()) methods = {"psi"};
  if (windows.empty()) windows = {"1h", "24h"};
  for (const ModelConfig& m : config.models) {
    for (DriftMethod dm : m.drift.methods) add_unique(methods, DriftMethodName(dm));
  }
  FillTokens(dash,
             {{"uid", series::kOverviewDashboardUid},
              {"title", "modelwatch / overview"},
              {"description",
               DashboardDescription(
                   "Health, drift and serving of the " + std::to_string(config.models.size()) +
                       (config.models.size() == 1 ? " monitored model." : " monitored models."),
                   "the model configuration directory")},
              {"models_regex", models_regex.empty() ? "^$" : models_regex}});
  Json& vars = dash["templating"]["list"];
  if (!vars.is_array()) vars = Json::array();
  vars.push_back(CustomVariable("method", "Drift method",
                                "Drift method compared across models (each model's alerting "
                                "method comes first).",
                                methods));
  vars.push_back(
      CustomVariable("window", "Drift window", "Drift window compared across models.", windows));

  Layout layout(templates, cache);
  layout.Row("Fleet health");
  AddPanels(layout, FleetHealthPanels(config));
  layout.Row("Drift across models");
  AddPanels(layout, FleetDriftPanels());
  layout.Row("Serving across models");
  AddPanels(layout, FleetServingPanels());
  dash["panels"] = Json::array();
  return DocumentText(dash, "panels", std::move(layout).Take());
}

}  // namespace

std::string ModelDashboardText(const ConfigSet& config, const ModelConfig& model,
                               const DashboardTemplates& templates) {
  (void)config;
  PanelTextCache cache;
  return ModelDashboardText(model, templates, cache);
}

std::string OverviewDashboardText(const ConfigSet& config, const DashboardTemplates& templates) {
  PanelTextCache cache;
  return OverviewDashboardText(config, templates, cache);
}

Json ModelDashboard(const ConfigSet& config, const ModelConfig& model,
                    const DashboardTemplates& templates) {
  return Json::parse(ModelDashboardText(config, model, templates));
}

Json OverviewDashboard(const ConfigSet& config, const DashboardTemplates& templates) {
  return Json::parse(OverviewDashboardText(config, templates));
}

std::string DashboardText(const Json& dashboard) {
  std::string out;
  out.reserve(std::size_t{1} << 17);
  JsonWriter(out).Write(dashboard, 0);
  out += '\n';
  return out;
}

GrafanaEmitter::GrafanaEmitter(std::string template_dir) : template_dir_(std::move(template_dir)) {}

namespace {

// Each model's dashboard as soon as its model comes; the overview and the provisioning file
// at the end.
class GrafanaRun : public EmitterRun {
 public:
  GrafanaRun(const ConfigSet& config, DashboardTemplates templates)
      : config_(config), templates_(std::move(templates)) {}

  void Model(std::size_t, const ModelConfig& model, const RuleFile&, FileSink& out) override {
    out.Add("dashboards/" + model.name + ".json", ModelDashboardText(model, templates_, cache_));
  }

  void Finish(const RuleFile&, FileSink& out) override {
    out.Add("dashboards/overview.json", OverviewDashboardText(config_, templates_, cache_));
    out.Add("dashboards/provisioning.yml",
            FillTokens(
                templates_.provisioning,
                {{"generated_mark", std::string(kGeneratedMark) + " (modelwatch-rulegen generate)"},
                 {"path", kGrafanaDashboardPath}}));
  }

 private:
  const ConfigSet& config_;
  const DashboardTemplates templates_;
  PanelTextCache cache_;  // shared by the models' threads
};

}  // namespace

std::unique_ptr<EmitterRun> GrafanaEmitter::Start(const ConfigSet& config) const {
  auto templates = LoadDashboardTemplates(template_dir_);
  if (!templates) throw std::runtime_error(templates.error().ToString());
  return std::make_unique<GrafanaRun>(config, std::move(*templates));
}

std::optional<std::pair<std::string, std::string>> GrafanaConfigMap(
    const std::string& path, const std::string& content, const std::string& namespace_name) {
  const std::string prefix = "dashboards/";
  const std::string suffix = ".json";
  if (path.size() <= prefix.size() + suffix.size() || path.compare(0, prefix.size(), prefix) != 0 ||
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  const std::string file = path.substr(prefix.size());
  if (file.find('/') != std::string::npos) return std::nullopt;
  const std::string name = file.substr(0, file.size() - suffix.size());
  // Kubernetes object names are DNS subdomains: no underscores.
  std::string object_name = "modelwatch-dashboard-" + name;
  std::replace(object_name.begin(), object_name.end(), '_', '-');
  std::string yaml = "# " + std::string(kGeneratedMark) + " (modelwatch-rulegen generate)\n";
  yaml += "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + object_name + "\n";
  if (!namespace_name.empty()) yaml += "  namespace: " + namespace_name + "\n";
  yaml +=
      "  labels:\n    grafana_dashboard: \"1\"\n    app.kubernetes.io/part-of: modelwatch\n"
      "  annotations:\n    grafana_folder: modelwatch\ndata:\n  " +
      file + ": |\n";
  std::size_t pos = 0;
  while (pos < content.size()) {
    std::size_t end = content.find('\n', pos);
    if (end == std::string::npos) end = content.size();
    if (end > pos) yaml.append("    ").append(content, pos, end - pos);
    yaml += "\n";
    pos = end + 1;
  }
  return std::make_pair("kubernetes/grafana-dashboard-" + name + ".yaml", std::move(yaml));
}

void AddGrafanaConfigMaps(OutputFiles& out, const std::string& namespace_name) {
  OutputFiles maps;
  for (const auto& [path, content] : out) {
    if (auto map = GrafanaConfigMap(path, content, namespace_name)) maps.insert(std::move(*map));
  }
  for (auto& [path, content] : maps) out[path] = std::move(content);
}

}  // namespace modelwatch
