// Helpers shared by the tests of the promql engine's rule groups: loading a config directory
// with its baselines, and reading its errors.
#ifndef MODELWATCH_TESTS_UNIT_RULEGEN_PROMQL_TEST_UTIL_H_
#define MODELWATCH_TESTS_UNIT_RULEGEN_PROMQL_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <string>

#include "core/config_loader.h"
#include "rulegen/promql_drift.h"
#include "tests/unit/scratch_dir.h"

namespace modelwatch::testing {

// Every error of a failed load, one per line; empty when it succeeded.
inline std::string Errors(const MultiResult<ConfigSet>& r) {
  std::string out;
  if (r) return out;
  for (const auto& e : r.error()) out += e.ToString() + "\n";
  return out;
}

// The config of DIR, which must load (an empty one, and a failed expectation, if not).
inline ConfigSet LoadConfigOrFail(const ScratchDir& dir) {
  auto config = LoadConfigDir(dir.path());
  EXPECT_TRUE(config.has_value()) << Errors(config);
  return config ? *config : ConfigSet{};
}

// The same, with the promql engine's baselines read in.
inline ConfigSet LoadPromqlConfig(const ScratchDir& dir) {
  ConfigSet config = LoadConfigOrFail(dir);
  EXPECT_TRUE(LoadPromqlReferences(config).has_value());
  return config;
}

}  // namespace modelwatch::testing

#endif  // MODELWATCH_TESTS_UNIT_RULEGEN_PROMQL_TEST_UTIL_H_
