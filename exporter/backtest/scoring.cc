#include "exporter/backtest/scoring.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

namespace modelwatch {

std::vector<Interval> FiringIntervals(const std::vector<double>& present, double start, double end,
                                      double interval, double for_seconds,
                                      double keep_firing_for_seconds) {
  enum class State { kInactive, kPending, kFiring };
  std::vector<Interval> out;
  State state = State::kInactive;
  double active_at = 0, fired_at = 0;
  std::optional<double> keep_firing_since;
  std::size_t next = 0;
  const double tolerance = interval / 2;
  const auto steps = static_cast<long long>(std::floor((end - start) / interval + 1e-9));
  for (long long k = 0; k <= steps; ++k) {
    const double t = start + static_cast<double>(k) * interval;
    while (next < present.size() && present[next] < t - tolerance) ++next;
    const bool returned = next < present.size() && std::abs(present[next] - t) <= tolerance;
    if (returned) {
      keep_firing_since.reset();
      if (state == State::kInactive) {
        state = State::kPending;
        active_at = t;
      }
      if (state == State::kPending && t - active_at >= for_seconds) {
        state = State::kFiring;
        fired_at = t;
      }
      continue;
    }
    if (state == State::kPending) {
      state = State::kInactive;
    } else if (state == State::kFiring) {
      bool keep = false;
      if (keep_firing_for_seconds > 0) {
        if (!keep_firing_since) keep_firing_since = t;
        keep = t - *keep_firing_since < keep_firing_for_seconds;
      }
      if (!keep) {
        out.push_back({fired_at, t});
        state = State::kInactive;
        keep_firing_since.reset();
      }
    }
  }
  if (state == State::kFiring) {
    out.push_back({fired_at, start + static_cast<double>(steps) * interval + interval});
  }
  return out;
}

std::vector<Incident> FindLabelIncidents(const std::string& model,
                                         const std::vector<std::pair<double, double>>& samples,
                                         double step, double threshold, bool below,
                                         double merge_gap, double lookback) {
  std::vector<Interval> runs;
  std::optional<Interval> run;
  double previous_t = -INFINITY;
  for (const auto& [t, v] : samples) {
    const bool bad = !std::isnan(v) && (below ? v < threshold : v > threshold);
    const bool contiguous = t - previous_t <= 1.5 * step;
    previous_t = t;
    if (run && (!bad || !contiguous)) {
      runs.push_back(*run);
      run.reset();
    }
    if (bad) {
      if (!run) run = Interval{t, t + step};
      run->end = t + step;
    }
  }
  if (run) runs.push_back(*run);
  std::vector<Interval> merged;
  for (const Interval& r : runs) {
    if (!merged.empty() && r.start - merged.back().end < merge_gap) {
      merged.back().end = r.end;
    } else {
      merged.push_back(r);
    }
  }
  std::vector<Incident> out;
  for (const Interval& r : merged) {
    Incident inc;
    inc.model = model;
    inc.source = "labels";
    inc.visible_at = r.start;
    inc.end = r.end;
    inc.window_start = r.start - lookback;
    out.push_back(inc);
  }
  return out;
}

std::optional<double> Median(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

namespace {

// Total length of the union of `intervals` clipped to [lo, hi).
double CoveredSeconds(std::vector<Interval> intervals, double lo, double hi) {
  std::sort(intervals.begin(), intervals.end(),
            [](const Interval& a, const Interval& b) { return a.start < b.start; });
  double covered = 0, reach = lo;
  for (const Interval& i : intervals) {
    const double s = std::max(i.start, reach), e = std::min(i.end, hi);
    if (e > s) {
      covered += e - s;
      reach = e;
    }
  }
  return covered;
}

}  // namespace

void ScoreAlerts(const std::vector<AlertSeries>& alerts, std::vector<Incident>& incidents,
                 const std::vector<std::string>& models, double range_start, double range_end,
                 std::vector<Episode>* episodes, std::vector<ModelScore>* scores) {
  // Episodes: per (severity, receiver, alertname, model), the union of firing intervals.
  std::map<std::tuple<std::string, std::string, std::string, std::string>, std::vector<Interval>>
      groups;
  for (const AlertSeries& a : alerts) {
    if (a.model.empty() || (a.severity != "page" && a.severity != "ticket")) continue;
    auto& g = groups[{a.severity, a.receiver, a.alertname, a.model}];
    g.insert(g.end(), a.firing.begin(), a.firing.end());
  }
  episodes->clear();
  for (auto& [key, intervals] : groups) {
    std::sort(intervals.begin(), intervals.end(),
              [](const Interval& a, const Interval& b) { return a.start < b.start; });
    for (const Interval& i : intervals) {
      if (!episodes->empty()) {
        Episode& last = episodes->back();
        if (std::tie(last.severity, last.receiver, last.alertname, last.model) == key &&
            i.start <= last.span.end) {
          last.span.end = std::max(last.span.end, i.end);
          continue;
        }
      }
      Episode e;
      std::tie(e.severity, e.receiver, e.alertname, e.model) = key;
      e.span = i;
      episodes->push_back(e);
    }
  }
  std::sort(episodes->begin(), episodes->end(), [](const Episode& a, const Episode& b) {
    return std::tie(a.span.start, a.alertname, a.severity) <
           std::tie(b.span.start, b.alertname, b.severity);
  });
  for (std::size_t i = 0; i < incidents.size(); ++i) {
    Incident& inc = incidents[i];
    if (inc.id.empty()) inc.id = "I" + std::to_string(i + 1);
    inc.detected_by.clear();
    inc.first_page_at.reset();
    inc.first_ticket_at.reset();
    inc.pages = inc.tickets = 0;
  }
  for (Episode& e : *episodes) {
    for (Incident& inc : incidents) {
      if (inc.model != e.model || e.span.start < inc.window_start || e.span.start >= inc.end) {
        continue;
      }
      e.incidents.push_back(inc.id);
      const bool page = e.severity == "page";
      (page ? inc.pages : inc.tickets)++;
      auto& first = page ? inc.first_page_at : inc.first_ticket_at;
      if (!first || e.span.start < *first) first = e.span.start;
      const std::string who = e.alertname + "/" + e.severity;
      if (std::find(inc.detected_by.begin(), inc.detected_by.end(), who) == inc.detected_by.end()) {
        inc.detected_by.push_back(who);
      }
    }
  }
  scores->clear();
  for (const std::string& model : models) {
    ModelScore s;
    s.model = model;
    std::vector<Interval> windows;
    std::vector<double> page_leads, ticket_leads, leads;
    for (const Incident& inc : incidents) {
      if (inc.model != model) continue;
      ++s.incidents;
      windows.push_back({inc.window_start, inc.end});
      if (inc.detected()) ++s.detected;
      if (inc.first_page_at) {
        ++s.detected_by_page;
        page_leads.push_back(inc.visible_at - *inc.first_page_at);
      }
      if (inc.first_ticket_at) ticket_leads.push_back(inc.visible_at - *inc.first_ticket_at);
      if (inc.detected()) {
        const double first =
            std::min(inc.first_page_at.value_or(INFINITY), inc.first_ticket_at.value_or(INFINITY));
        leads.push_back(inc.visible_at - first);
      }
    }
    for (const Episode& e : *episodes) {
      if (e.model != model) continue;
      const bool page = e.severity == "page";
      (page ? s.pages : s.tickets)++;
      if (e.incidents.empty()) (page ? s.false_pages : s.false_tickets)++;
    }
    s.days = (range_end - range_start) / 86400;
    s.days_outside_incidents = s.days - CoveredSeconds(windows, range_start, range_end) / 86400;
    if (s.days_outside_incidents > 0) {
      s.false_pages_per_day = s.false_pages / s.days_outside_incidents;
      s.false_tickets_per_day = s.false_tickets / s.days_outside_incidents;
      s.false_notifications_per_day = (s.false_pages + s.false_tickets) / s.days_outside_incidents;
    }
    if (s.incidents > 0) {
      s.pages_per_incident = static_cast<double>(s.pages - s.false_pages) / s.incidents;
    }
    s.median_page_lead_seconds = Median(page_leads);
    s.median_ticket_lead_seconds = Median(ticket_leads);
    s.median_lead_seconds = Median(leads);
    scores->push_back(s);
  }
}

}  // namespace modelwatch
