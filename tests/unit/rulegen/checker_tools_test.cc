#include <gtest/gtest.h>

#include <sstream>

#include "rulegen/checker.h"

namespace modelwatch {
namespace {

// A missing promtool or amtool is one clear line each (how to install it, which flag names
// it) and a failed check, before any step runs.
TEST(CheckerToolsTest, MissingToolsAreOneLineEachAndFailTheCheck) {
  std::ostringstream out, err;
  CheckTools tools{"/nonexistent/promtool", "no-such-amtool-on-path"};
  EXPECT_FALSE(RunAllChecks("/nonexistent-dir", OutputFiles{}, tools, out, err));
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(),
            "error: /nonexistent/promtool not found: install it (Debian: apt-get install "
            "prometheus) or name it with --promtool=PATH\n"
            "error: no-such-amtool-on-path not found: install it (Debian: apt-get install "
            "prometheus-alertmanager) or name it with --amtool=PATH\n");
}

}  // namespace
}  // namespace modelwatch
