// DriftTracker's checkpoint: SaveState and RestoreState (see drift_tracker.h), the counters
// written sparsely (index and value of every non-zero cell).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "exporter/drift/drift_tracker.h"
#include "exporter/drift/drift_tracker_layout.h"

namespace modelwatch {

namespace {

template <typename T>
nlohmann::json Sparse(const T* cells, std::size_t size) {
  nlohmann::json index = nlohmann::json::array();
  nlohmann::json value = nlohmann::json::array();
  for (std::size_t i = 0; i < size; ++i) {
    if (cells[i] != 0) {
      index.push_back(i);
      value.push_back(cells[i]);
    }
  }
  return nlohmann::json{{"i", std::move(index)}, {"v", std::move(value)}};
}

template <typename T>
bool Unsparse(const nlohmann::json& j, T* cells, std::size_t size) {
  if (!j.is_object() || !j.contains("i") || !j.contains("v")) return false;
  const auto& index = j["i"];
  const auto& value = j["v"];
  if (!index.is_array() || !value.is_array() || index.size() != value.size()) return false;
  for (std::size_t k = 0; k < index.size(); ++k) {
    if (!index[k].is_number_unsigned() || !value[k].is_number()) return false;
    const auto i = index[k].get<std::uint64_t>();
    if (i >= size) return false;
    cells[i] = value[k].get<T>();
  }
  return true;
}

}  // namespace

nlohmann::json DriftTracker::SaveState() const {
  using nlohmann::json;
  const VersionLayout& vl = *version_layout_;
  json windows = json::array();
  for (const auto& w : windows_) {
    json slots = json::array();
    const int sub = w.clock.sub_windows();
    for (int s = 0; s < sub; ++s) {
      const std::size_t us = static_cast<std::size_t>(s);
      json versions = json::array();
      for (std::size_t v = 0; v < versions_.size(); ++v) {
        versions.push_back(
            json{{"counts", Sparse(w.vcounts[v].data() + us * vl.counts_size, vl.counts_size)},
                 {"sums", Sparse(w.vsums[v].data() + us * vl.sums_size, vl.sums_size)}});
      }
      slots.push_back(json{{"counts", Sparse(w.counts.data() + us * slot_counts_, slot_counts_)},
                           {"sums", Sparse(w.sums.data() + us * slot_sums_, slot_sums_)},
                           {"versions", std::move(versions)}});
    }
    windows.push_back(json{{"window", w.label},
                           {"started", w.clock.started()},
                           {"newest_sub_window", w.clock.newest_sub_window()},
                           {"newest_timestamp", w.clock.end()},
                           {"late", w.late},
                           {"slots", std::move(slots)}});
  }
  return json{{"format", "modelwatch-drift-state"},
              {"version", 1},
              {"model", model_.name},
              {"layout", layout_id_},
              {"versions", versions_},
              {"windows", std::move(windows)}};
}

double DriftTracker::NewestEventTime() const {
  double newest = -std::numeric_limits<double>::infinity();
  for (const auto& w : windows_) {
    if (w.clock.started()) newest = std::max(newest, w.clock.end());
  }
  return newest;
}

Result<void> DriftTracker::RestoreState(const nlohmann::json& state) {
  ++generation_;  // even a failed restore may have changed some counters
  auto fail = [&](const std::string& what) {
    return MakeError("drift state for model " + model_.name + " not restored: " + what);
  };
  if (!state.is_object() || state.value("format", nlohmann::json()) != "modelwatch-drift-state" ||
      !state.contains("version") || state["version"] != 1) {
    return fail("not a version 1 drift state");
  }
  if (state.value("layout", nlohmann::json()) != layout_id_) {
    return fail("the config or baseline changed since it was saved");
  }
  const auto& versions = state.contains("versions") ? state["versions"] : nlohmann::json();
  const auto& windows = state.contains("windows") ? state["windows"] : nlohmann::json();
  if (!versions.is_array() || !windows.is_array() || windows.size() != windows_.size()) {
    return fail("malformed");
  }
  const std::size_t limit = static_cast<std::size_t>(std::max(1, model_.max_versions)) + 1;
  if (versions.size() > limit) return fail("too many versions");
  for (const auto& v : versions) {
    if (!v.is_string()) return fail("malformed versions");
  }
  // Build into a fresh tracker state, then swap, so a malformed state changes nothing.
  std::vector<Window> restored;
  for (const auto& w : windows_) {
    restored.emplace_back(w.label, w.length, w.clock.sub_windows(), model_.drift.lateness);
    restored.back().counts.assign(w.counts.size(), 0);
    restored.back().sums.assign(w.sums.size(), 0.0);
  }
  const VersionLayout& vl = *version_layout_;
  for (std::size_t wi = 0; wi < windows_.size(); ++wi) {
    const auto& jw = windows[wi];
    Window& w = restored[wi];
    const int sub = w.clock.sub_windows();
    if (!jw.is_object() || jw.value("window", nlohmann::json()) != w.label ||
        !jw.contains("slots") || !jw["slots"].is_array() ||
        jw["slots"].size() != static_cast<std::size_t>(sub) || !jw.contains("started") ||
        !jw["started"].is_boolean() || !jw.contains("newest_sub_window") ||
        !jw["newest_sub_window"].is_number_integer() || !jw.contains("newest_timestamp") ||
        !jw["newest_timestamp"].is_number() || !jw.contains("late") ||
        !jw["late"].is_number_unsigned()) {
      return fail("malformed window " + w.label);
    }
    w.clock.Restore(jw["started"].get<bool>(), jw["newest_sub_window"].get<std::int64_t>(),
                    jw["newest_timestamp"].get<double>());
    w.late = jw["late"].get<std::uint64_t>();
    for (std::size_t v = 0; v < versions.size(); ++v) {
      w.vcounts.emplace_back(static_cast<std::size_t>(sub) * vl.counts_size, 0);
      w.vsums.emplace_back(static_cast<std::size_t>(sub) * vl.sums_size, 0.0);
    }
    for (int s = 0; s < sub; ++s) {
      const std::size_t us = static_cast<std::size_t>(s);
      const auto& js = jw["slots"][us];
      if (!js.is_object() || !js.contains("counts") || !js.contains("sums") ||
          !js.contains("versions") || !js["versions"].is_array() ||
          js["versions"].size() != versions.size()) {
        return fail("malformed window " + w.label);
      }
      if (!Unsparse(js["counts"], w.counts.data() + us * slot_counts_, slot_counts_) ||
          !Unsparse(js["sums"], w.sums.data() + us * slot_sums_, slot_sums_)) {
        return fail("malformed window " + w.label);
      }
      for (std::size_t v = 0; v < versions.size(); ++v) {
        const auto& jv = js["versions"][v];
        if (!jv.is_object() || !jv.contains("counts") || !jv.contains("sums") ||
            !Unsparse(jv["counts"], w.vcounts[v].data() + us * vl.counts_size, vl.counts_size) ||
            !Unsparse(jv["sums"], w.vsums[v].data() + us * vl.sums_size, vl.sums_size)) {
          return fail("malformed window " + w.label);
        }
      }
    }
  }
  versions_.clear();
  for (const auto& v : versions) versions_.push_back(v.get<std::string>());
  windows_ = std::move(restored);
  return {};
}

}  // namespace modelwatch
