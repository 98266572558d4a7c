// libFuzzer target: the model and fleet config parsers must never crash or throw, and every
// failure must carry at least one located error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  modelwatch::LoadOptions options;
  options.baseline = modelwatch::BaselineCheck::kAllowMissing;
  auto model = modelwatch::ParseModelConfig(text, "fuzz.yaml", options);
  if (!model && model.error().empty()) std::abort();
  auto fleet = modelwatch::ParseFleetConfig(text, "modelwatch.yaml");
  if (!fleet && fleet.error().empty()) std::abort();
  return 0;
}
