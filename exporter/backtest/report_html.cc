#include "exporter/backtest/report_html.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <vector>

#include "core/html.h"
#include "core/utc_time.h"

namespace modelwatch {
namespace {

using Json = nlohmann::ordered_json;

constexpr double kWidth = 1000, kLeft = 60, kRight = 190, kPlotHeight = 160;
const char* const kPalette[] = {"#1f77b4", "#2ca02c", "#9467bd", "#8c564b",
                                "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};

std::string Num(double v, int precision = 4) {
  std::ostringstream os;
  os.precision(precision);
  os << v;
  return os.str();
}

std::string Time(double t) { return FormatUtc(t, "%Y-%m-%d %H:%M"); }

std::string Duration(const Json& seconds) {
  if (seconds.is_null()) return "—";
  const double s = seconds.get<double>();
  const double a = std::abs(s);
  std::string sign = s < 0 ? "−" : "";
  if (a >= 86400) return sign + Num(a / 86400, 3) + " d";
  if (a >= 3600) return sign + Num(a / 3600, 3) + " h";
  return sign + Num(a / 60, 3) + " min";
}

std::string SeverityColour(const std::string& severity) {
  if (severity == "page") return "#d62728";
  if (severity == "ticket") return "#ff7f0e";
  return "#1f77b4";
}

struct Axis {
  double t0, t1;
  double X(double t) const { return kLeft + (t - t0) / (t1 - t0) * (kWidth - kLeft - kRight); }
};

// Time ticks (about 8, on whole days when the range is long) along the bottom of a plot.
std::string TimeTicks(const Axis& axis, double y) {
  std::ostringstream out;
  const double span = axis.t1 - axis.t0;
  double tick = 3600;
  for (double c : {3600.0, 6 * 3600.0, 12 * 3600.0, 86400.0, 2 * 86400.0, 7 * 86400.0, 14 * 86400.0,
                   28 * 86400.0}) {
    tick = c;
    if (span / c <= 10) break;
  }
  for (double t = std::ceil(axis.t0 / tick) * tick; t <= axis.t1; t += tick) {
    out << "<line x1='" << Num(axis.X(t), 6) << "' x2='" << Num(axis.X(t), 6) << "' y1='0' y2='"
        << y << "' stroke='#eee'/>";
    out << "<text x='" << Num(axis.X(t), 6) << "' y='" << y + 14
        << "' font-size='10' text-anchor='middle'>" << HtmlEscape(Time(t).substr(5)) << "</text>";
  }
  return out.str();
}

// Incident shading: from window_start to visible_at light, from visible_at to end darker.
std::string IncidentShading(const Axis& axis, const Json& incidents, const std::string& model,
                            double height) {
  std::ostringstream out;
  for (const auto& inc : incidents) {
    if (inc["model"] != model) continue;
    const double w0 = std::max(axis.t0, inc["window_start"].get<double>());
    const double v = std::max(axis.t0, inc["visible_at"].get<double>());
    const double e = std::min(axis.t1, inc["end"].get<double>());
    if (v > w0) {
      out << "<rect class='incident-window' x='" << Num(axis.X(w0), 6) << "' y='0' width='"
          << Num(axis.X(v) - axis.X(w0), 6) << "' height='" << height
          << "' fill='#fde0dd' opacity='0.5'/>";
    }
    if (e > v) {
      out << "<rect class='incident' x='" << Num(axis.X(v), 6) << "' y='0' width='"
          << Num(axis.X(e) - axis.X(v), 6) << "' height='" << height
          << "' fill='#fa9fb5' opacity='0.45'><title>" << HtmlEscape(inc["id"].get<std::string>())
          << " visible in labels " << Time(inc["visible_at"].get<double>()) << "</title></rect>";
      out << "<text x='" << Num(axis.X(v) + 2, 6) << "' y='10' font-size='10'>"
          << HtmlEscape(inc["id"].get<std::string>()) << "</text>";
    }
  }
  return out.str();
}

// A line plot of several series (each [{name, points: [[t, v|null], ...]}]) on one y axis.
std::string LinePlot(const std::string& kind, const std::string& title, const Axis& axis,
                     const std::vector<std::pair<std::string, const Json*>>& series,
                     const std::vector<std::pair<std::string, double>>& hlines,
                     const std::string& shading, std::optional<std::pair<double, double>> range) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& [name, points] : series) {
    for (const auto& p : *points) {
      if (p[1].is_null()) continue;
      lo = std::min(lo, p[1].get<double>());
      hi = std::max(hi, p[1].get<double>());
    }
  }
  for (const auto& [name, v] : hlines) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (range) std::tie(lo, hi) = *range;
  if (!(lo < hi)) {
    lo = std::isfinite(lo) ? lo - 1 : 0;
    hi = std::isfinite(hi) ? hi + 1 : 1;
  }
  const double pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  auto y = [&](double v) { return kPlotHeight - (v - lo) / (hi - lo) * kPlotHeight; };
  std::ostringstream out;
  out << "<figure><figcaption>" << HtmlEscape(title) << "</figcaption><svg class='plot' data-kind='"
      << kind << "' xmlns='http://www.w3.org/2000/svg' width='" << kWidth << "' height='"
      << kPlotHeight + 20 << "' viewBox='0 0 " << kWidth << " " << kPlotHeight + 20 << "'>";
  out << shading << TimeTicks(axis, kPlotHeight);
  for (int i = 0; i <= 4; ++i) {
    const double v = lo + (hi - lo) * i / 4;
    out << "<text x='" << kLeft - 4 << "' y='" << Num(y(v) + 3, 6)
        << "' font-size='10' text-anchor='end'>" << Num(v, 3) << "</text>";
  }
  out << "<rect x='" << kLeft << "' y='0' width='" << kWidth - kLeft - kRight << "' height='"
      << kPlotHeight << "' fill='none' stroke='#999'/>";
  for (const auto& [name, v] : hlines) {
    out << "<line class='threshold' x1='" << kLeft << "' x2='" << kWidth - kRight << "' y1='"
        << Num(y(v), 6) << "' y2='" << Num(y(v), 6)
        << "' stroke='#d62728' stroke-dasharray='4 3'/><text x='" << kWidth - kRight + 4 << "' y='"
        << Num(y(v) + 3, 6) << "' font-size='10' fill='#d62728'>" << HtmlEscape(name) << " "
        << Num(v, 3) << "</text>";
  }
  int colour = 0, legend = 0;
  for (const auto& [name, points] : series) {
    const char* c = kPalette[colour++ % 8];
    std::ostringstream d;
    bool pen_down = false;
    double previous = -INFINITY;
    double gap = INFINITY;
    if (points->size() > 1)
      gap = 1.5 * ((*points)[1][0].get<double>() - (*points)[0][0].get<double>());
    int drawn = 0;
    for (const auto& p : *points) {
      const double t = p[0].get<double>();
      if (p[1].is_null() || t - previous > gap) pen_down = false;
      previous = t;
      if (p[1].is_null()) continue;
      d << (pen_down ? "L" : "M") << Num(axis.X(t), 6) << " " << Num(y(p[1].get<double>()), 6);
      pen_down = true;
      ++drawn;
    }
    out << "<path class='series' data-series='" << HtmlEscape(name) << "' data-points='" << drawn
        << "' d='" << d.str() << "' fill='none' stroke='" << c << "' stroke-width='1.2'/>";
    out << "<text x='" << kWidth - kRight + 4 << "' y='" << 12 + 12 * legend++
        << "' font-size='10' fill='" << c << "'>" << HtmlEscape(name) << "</text>";
  }
  out << "</svg></figure>\n";
  return out.str();
}

std::string AlertBands(const Axis& axis, const Json& alerts, const std::string& model,
                       const std::string& shading, const std::string& kind = "alerts",
                       const std::string& title = "Alerts firing") {
  // One row per alertname/severity; every label set of it draws in the same row.
  std::map<std::pair<std::string, std::string>, std::vector<const Json*>> rows;
  for (const auto& a : alerts) {
    if (a["model"] != model) continue;
    rows[{a["alertname"].get<std::string>(), a["severity"].get<std::string>()}].push_back(&a);
  }
  const double row_h = 16;
  const double height = std::max(1.0, static_cast<double>(rows.size())) * row_h;
  std::ostringstream out;
  out << "<figure><figcaption>" << HtmlEscape(title)
      << " (red: page, orange: ticket, blue: info)</figcaption><svg class='plot' data-kind='"
      << kind << "' xmlns='http://www.w3.org/2000/svg' width='" << kWidth << "' height='"
      << height + 20 << "' viewBox='0 0 " << kWidth << " " << height + 20 << "'>";
  out << shading << TimeTicks(axis, height);
  int row = 0;
  for (const auto& [key, list] : rows) {
    const double y = row * row_h;
    out << "<text x='" << kWidth - kRight + 4 << "' y='" << y + 12 << "' font-size='10'>"
        << HtmlEscape(key.first + " " + key.second) << "</text>";
    for (const Json* a : list) {
      for (const auto& i : (*a)["firing"]) {
        const double s = std::max(axis.t0, i[0].get<double>());
        const double e = std::min(axis.t1, i[1].get<double>());
        if (e <= s) continue;
        out << "<rect class='alert-band' data-severity='" << HtmlEscape(key.second) << "' x='"
            << Num(axis.X(s), 7) << "' y='" << y + 2 << "' width='"
            << Num(std::max(1.0, axis.X(e) - axis.X(s)), 6) << "' height='" << row_h - 4
            << "' fill='" << SeverityColour(key.second) << "'><title>"
            << HtmlEscape(key.first + " (" + key.second + ") " + Time(i[0].get<double>()) + " – " +
                          Time(i[1].get<double>()))
            << "</title></rect>";
      }
    }
    ++row;
  }
  out << "</svg></figure>\n";
  return out.str();
}

std::string Cell(const Json& v) {
  if (v.is_null()) return "—";
  if (v.is_number_float()) return Num(v.get<double>(), 4);
  if (v.is_string()) return HtmlEscape(v.get<std::string>());
  return HtmlEscape(v.dump());
}

}  // namespace

std::string RenderBacktestHtml(const Json& result) {
  const Json& range = result["range"];
  const Axis axis{range["start"].get<double>(), range["end"].get<double>()};
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>modelwatch "
         "backtest</title><style>body{font:14px sans-serif;margin:24px;color:#222}"
         "table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;"
         "padding:3px 8px;text-align:right}th{background:#f4f4f4}td:first-child,"
         "th:first-child{text-align:left}figure{margin:8px 0}figcaption{font-weight:bold;"
         "font-size:12px}.miss{color:#d62728;font-weight:bold}.hit{color:#2ca02c}</style>"
         "</head><body>\n";
  out << "<h1>modelwatch backtest</h1><p>History " << HtmlEscape(Time(axis.t0)) << " – "
      << HtmlEscape(Time(axis.t1)) << " UTC, replay step "
      << Num(range["step_seconds"].get<double>()) << " s; alerts evaluated until "
      << HtmlEscape(Time(range["alerts_end"].get<double>()))
      << ". Incidents are periods where the label-based performance was worse than the retrain "
         "threshold (dark) plus the look-back before it in which alerts count for them "
         "(light).</p>\n";
  out << "<h2>Summary</h2><table id='summary'><tr><th>model</th><th>incidents</th>"
         "<th>detected</th><th>missed</th><th>median page lead</th><th>median ticket "
         "lead</th><th>pages</th><th>false pages</th><th>false pages/day</th><th>false "
         "tickets/day</th><th>pages/incident</th></tr>";
  for (const auto& s : result["summary"]) {
    out << "<tr><td>" << Cell(s["model"]) << "</td><td>" << Cell(s["incidents"]) << "</td><td>"
        << Cell(s["detected"]) << "</td><td>" << Cell(s["missed"]) << "</td><td>"
        << Duration(s["median_page_lead_seconds"]) << "</td><td>"
        << Duration(s["median_ticket_lead_seconds"]) << "</td><td>" << Cell(s["pages"])
        << "</td><td>" << Cell(s["false_pages"]) << "</td><td>" << Cell(s["false_pages_per_day"])
        << "</td><td>" << Cell(s["false_tickets_per_day"]) << "</td><td>"
        << Cell(s["pages_per_incident"]) << "</td></tr>";
  }
  out << "</table>\n";
  out << "<h2>Incidents</h2><table id='incidents'><tr><th>id</th><th>model</th><th>source</th>"
         "<th>visible in labels</th><th>end</th><th>detected</th><th>page lead</th><th>ticket "
         "lead</th><th>pages</th><th>by</th></tr>";
  for (const auto& inc : result["incidents"]) {
    std::string by;
    for (const auto& b : inc["detected_by"]) by += (by.empty() ? "" : ", ") + b.get<std::string>();
    out << "<tr><td>" << Cell(inc["id"]) << "</td><td>" << Cell(inc["model"]) << "</td><td>"
        << Cell(inc["source"]) << (inc["name"] != "" ? " (" + Cell(inc["name"]) + ")" : "")
        << "</td><td>" << Time(inc["visible_at"].get<double>()) << "</td><td>"
        << Time(inc["end"].get<double>()) << "</td><td class='"
        << (inc["detected"].get<bool>() ? "hit'>yes" : "miss'>missed") << "</td><td>"
        << Duration(inc["page_lead_seconds"]) << "</td><td>" << Duration(inc["ticket_lead_seconds"])
        << "</td><td>" << Cell(inc["pages"]) << "</td><td>" << HtmlEscape(by) << "</td></tr>";
  }
  out << "</table>\n";
  const Json no_peers = Json::array();
  const Json& peers = result.contains("peers") ? result["peers"] : no_peers;
  if (!peers.empty()) {
    out << "<h2>Peer comparison</h2><p>The same replay and incidents judged by other rule sets "
           "(fixed thresholds of the kind other monitoring tools ship):";
    for (const auto& p : peers) out << " <code>" << Cell(p["name"]) << "</code>";
    out << ". Lead: first notification of either severity before the labels showed the "
           "incident.</p><table id='peer-comparison'><tr><th>model</th><th>rules</th>"
           "<th>detected</th><th>median lead</th><th>median page lead</th><th>false "
           "pages/day</th><th>false notifications/day</th></tr>";
    for (std::size_t i = 0; i < result["summary"].size(); ++i) {
      std::vector<std::pair<std::string, const Json*>> rows = {
          {"modelwatch", &result["summary"][i]}};
      for (const auto& p : peers) rows.push_back({p["name"].get<std::string>(), &p["summary"][i]});
      for (const auto& [name, s] : rows) {
        out << "<tr data-rules='" << HtmlEscape(name) << "'><td>" << Cell((*s)["model"])
            << "</td><td>" << HtmlEscape(name) << "</td><td>" << Cell((*s)["detected"]) << " / "
            << Cell((*s)["incidents"]) << "</td><td>" << Duration((*s)["median_lead_seconds"])
            << "</td><td>" << Duration((*s)["median_page_lead_seconds"]) << "</td><td>"
            << Cell((*s)["false_pages_per_day"]) << "</td><td>"
            << Cell((*s)["false_notifications_per_day"]) << "</td></tr>";
      }
    }
    out << "</table>\n<table id='peer-incidents'><tr><th>id</th><th>model</th>"
           "<th>modelwatch lead</th>";
    for (const auto& p : peers) out << "<th>" << Cell(p["name"]) << " lead (first alerts)</th>";
    out << "</tr>";
    auto lead = [](const Json& inc) {
      return inc["detected"].get<bool>() ? Duration(inc["lead_seconds"])
                                         : std::string("<span class='miss'>missed</span>");
    };
    for (std::size_t i = 0; i < result["incidents"].size(); ++i) {
      const Json& inc = result["incidents"][i];
      out << "<tr><td>" << Cell(inc["id"]) << "</td><td>" << Cell(inc["model"]) << "</td><td>"
          << lead(inc) << "</td>";
      for (const auto& p : peers) {
        const Json& pi = p["incidents"][i];
        std::string by;
        for (std::size_t k = 0; k < pi["detected_by"].size() && k < 2; ++k) {
          by += (by.empty() ? "" : ", ") + pi["detected_by"][k].get<std::string>();
        }
        out << "<td>" << lead(pi) << (by.empty() ? "" : " (" + HtmlEscape(by) + ")") << "</td>";
      }
      out << "</tr>";
    }
    out << "</table>\n";
  }
  if (result.contains("suggestions") && !result["suggestions"].empty()) {
    out << "<h2>Suggested thresholds and weights</h2><p>Page thresholds: the lowest value of "
           "each signal at which its page alert would have met the target false-page rate "
           "(the lowest fires first, so it has the best lead); weights: each degradation "
           "signal's correlation with the incidents. Fitted on this history's few incidents: "
           "backtest the pasted values on other history before trusting them.</p>"
           "<table id='suggested-thresholds'><tr><th>model</th><th>key</th><th></th>"
           "<th>threshold</th><th>detected</th><th>median page lead</th><th>false "
           "pages/day</th></tr>";
    for (const auto& sug : result["suggestions"]) {
      for (const auto& t : sug["thresholds"]) {
        for (const char* which : {"current", "suggested"}) {
          const Json& o = t[which];
          out << "<tr><td>" << Cell(sug["model"]) << "</td><td>" << Cell(t["key"]) << "</td><td>"
              << which << "</td>";
          if (o.is_null()) {
            out << "<td colspan='4' class='miss'>no threshold meets the target</td></tr>";
            continue;
          }
          out << "<td>" << Cell(o["threshold"]) << "</td><td>" << Cell(o["detected"]) << " / "
              << Cell(o["incidents"]) << "</td><td>" << Duration(o["median_lead_seconds"])
              << "</td><td>" << Cell(o["false_pages_per_day"]) << "</td></tr>";
        }
      }
    }
    out << "</table>\n<table id='suggested-weights'><tr><th>model</th><th>signal</th>"
           "<th>correlation with incidents</th><th>weight now</th><th>suggested</th></tr>";
    for (const auto& sug : result["suggestions"]) {
      const Json& w = sug["weights"];
      for (const auto& [signal, now] : w["current"].items()) {
        out << "<tr><td>" << Cell(sug["model"]) << "</td><td>" << HtmlEscape(signal) << "</td><td>"
            << (w["correlation"].contains(signal) ? Cell(w["correlation"][signal]) : "—")
            << "</td><td>" << Cell(now) << "</td><td>"
            << (w["suggested"].is_object() && w["suggested"].contains(signal)
                    ? Cell(w["suggested"][signal])
                    : "—")
            << "</td></tr>";
      }
    }
    out << "</table>\n";
    for (const auto& sug : result["suggestions"]) {
      out << "<pre class='suggestion' data-model='" << Cell(sug["model"]) << "'>"
          << HtmlEscape(sug["yaml"].get<std::string>()) << "</pre>\n";
    }
  }
  for (const auto& m : result["models"]) {
    const std::string model = m["model"].get<std::string>();
    out << "<h2 class='model'>" << HtmlEscape(model) << "</h2>\n";
    const Json& plot = result["plots"][model];
    std::vector<std::pair<std::string, const Json*>> score;
    for (const auto& s : plot["degradation_score"]) score.push_back({"score", &s["points"]});
    for (const auto& s : plot["degradation_signals"]) {
      score.push_back({s["name"].get<std::string>(), &s["points"]});
    }
    const std::string shade = IncidentShading(axis, result["incidents"], model, kPlotHeight);
    out << LinePlot("degradation", "Degradation score and its signals (0–100)", axis, score, {},
                    shade, std::make_pair(0.0, 100.0));
    if (plot.contains("performance") && !m["retrain"].is_null()) {
      std::vector<std::pair<std::string, const Json*>> perf;
      for (const auto& s : plot["performance"]) perf.push_back({"performance", &s["points"]});
      const Json& rt = m["retrain"];
      out << LinePlot("performance",
                      "Label-based " + rt["metric"].get<std::string>() + " over " +
                          rt["window"].get<std::string>() + " (worst version)",
                      axis, perf, {{"retrain", rt["threshold"].get<double>()}}, shade,
                      std::nullopt);
    }
    out << AlertBands(axis, result["alerts"], model,
                      IncidentShading(axis, result["incidents"], model, 1000));
    for (const auto& p : peers) {
      out << AlertBands(axis, p["alerts"], model,
                        IncidentShading(axis, result["incidents"], model, 1000), "peer-alerts",
                        "Rules of " + p["name"].get<std::string>() + " firing");
    }
  }
  out << "<h2>Notifications</h2><table id='notifications'><tr><th>start</th><th>end</th>"
         "<th>model</th><th>alert</th><th>severity</th><th>receiver</th><th>incident</th></tr>";
  int shown = 0;
  for (const auto& e : result["notifications"]) {
    if (++shown > 1000) break;
    std::string incs;
    for (const auto& i : e["incidents"]) incs += (incs.empty() ? "" : ", ") + i.get<std::string>();
    out << "<tr><td>" << Time(e["start"].get<double>()) << "</td><td>"
        << Time(e["end"].get<double>()) << "</td><td>" << Cell(e["model"]) << "</td><td>"
        << Cell(e["alertname"])
        << "</td><td style='color:" << SeverityColour(e["severity"].get<std::string>()) << "'>"
        << Cell(e["severity"]) << "</td><td>" << Cell(e["receiver"]) << "</td><td>"
        << (incs.empty() ? "<span class='miss'>false</span>" : HtmlEscape(incs)) << "</td></tr>";
  }
  out << "</table></body></html>\n";
  return out.str();
}

}  // namespace modelwatch
