// libFuzzer target for the baseline loader: any bytes → JSON → ParseBaselineProfile.
//
// The content hash is recomputed before parsing so mutations reach the structural checks
// instead of stopping at the id comparison. Invariants: never crash; a profile that parses
// serialises to a document that parses again to the same content id.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "exporter/baseline/baseline_profile.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using nlohmann::json;
  json doc = json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  if (doc.is_object()) doc["id"] = modelwatch::BaselineContentId(doc);
  auto profile = modelwatch::ParseBaselineProfile(doc, "fuzz.json");
  if (!profile) return 0;

  modelwatch::ModelConfig model;
  model.name = profile->model;
  model.task = profile->task;
  for (const auto& f : profile->features) {
    model.features.push_back({f.name, f.type, false, false, {}});
  }
  if (!modelwatch::CheckBaselineMatchesModel(*profile, model)) std::abort();

  const json again = modelwatch::BaselineToJson(*profile);
  auto reparsed = modelwatch::ParseBaselineProfile(json::parse(again.dump()), "again.json");
  if (!reparsed || reparsed->id != again["id"].get<std::string>()) std::abort();
  return 0;
}
