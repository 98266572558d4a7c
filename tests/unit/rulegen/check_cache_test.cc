// check's verdict cache: split test files that are the same but for the model's name run once.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "core/temp_dir.h"
#include "rulegen/checker.h"

namespace modelwatch {
namespace {

// One model's rule file and test file, with `threshold` in the alert and a marker in the test.
OutputFiles Model(const std::string& model, const std::string& threshold,
                  const std::string& marker = "ok") {
  OutputFiles f;
  f["rules/" + model + ".rules.yml"] =
      "groups:\n- name: modelwatch-" + model + "-alerts\n  rules:\n  - alert: Down\n" +
      "    expr: up{model=\"" + model + "\"} < " + threshold + "\n";
  f["tests/" + model + ".test.yml"] = "rule_files:\n- ../rules/" + model +
                                      ".rules.yml\ntests:\n- name: " + model + " down " + marker +
                                      "\n  input_series:\n  - series: up{model=\"" + model +
                                      "\"}\n    values: 0x5\n  alert_rule_test:\n  - "
                                      "alertname: Down\n    eval_time: 1m\n    exp_alerts: []\n";
  return f;
}

std::string Key(const std::string& model, const std::string& text) {
  return RenamedPartKey(OutputFiles{{"tests/" + model + ".test.yml", text}}, model);
}

TEST(RenamedPartKeyTest, SameButForTheModelsNameIsOneKey) {
  const OutputFiles a = Model("fraud-detector-0001", "1");
  const OutputFiles b = Model("fraud-detector-0002", "1");
  const std::string key = RenamedPartKey(a, "fraud-detector-0001");
  EXPECT_FALSE(key.empty());
  EXPECT_EQ(key, RenamedPartKey(b, "fraud-detector-0002"));
  // Another threshold is another test.
  EXPECT_NE(key, RenamedPartKey(Model("fraud-detector-0002", "2"), "fraud-detector-0002"));
}

TEST(RenamedPartKeyTest, RenamesOnlyWholeWords) {
  // "beta" holds "eta", "babc" holds "abc": renaming inside words would make these one key.
  EXPECT_NE(Key("eta", "x{model=\"eta\",feature=\"beta\"}"),
            Key("abc", "x{model=\"abc\",feature=\"babc\"}"));
  EXPECT_NE(Key("eta", "x{model=\"eta\",feature=\"eta_1\"}"),
            Key("abc", "x{model=\"abc\",feature=\"abc_2\"}"));
  EXPECT_NE(Key("eta", "a: x.eta"), Key("abc", "a: x.abc"));
  // Hyphens, quotes, slashes and dots after the name delimit it (group and file names).
  EXPECT_EQ(Key("eta", "modelwatch-eta-alerts ../rules/eta.rules.yml \"eta\""),
            Key("abc", "modelwatch-abc-alerts ../rules/abc.rules.yml \"abc\""));
}

TEST(RenamedPartKeyTest, PathsAndTextsDoNotRunTogether) {
  EXPECT_NE(RenamedPartKey(OutputFiles{{"tests/eta.test.yml", "a b"}}, "eta"),
            RenamedPartKey(OutputFiles{{"tests/eta.test.yml a", "b"}}, "eta"));
}

TEST(RenamedPartKeyTest, NamesThatCouldMeanSomethingElseAreNotCached) {
  for (const char* name : {"", "5m", "1", "-a", "inf", "nan", "true", "null", "no", "by", "A"}) {
    EXPECT_EQ(Key(name, std::string("v: ") + name), "") << name;
  }
  EXPECT_EQ(Key("eta", std::string("v: eta \x01")), "");
  EXPECT_EQ(Key("eta", std::string("v: eta \0", 8)), "");
}

TEST(RoutesIgnoreTest, OnlyWhenNoRouteMatchesOnTheLabel) {
  const std::string head = "route:\n  receiver: r\n  routes:\n  - receiver: a\n";
  EXPECT_TRUE(RoutesIgnore(head + "    matchers: ['team=\"t\"', 'models=\"x\"']\n", "model"));
  EXPECT_FALSE(RoutesIgnore(head + "    matchers: ['team=\"t\"']\n    routes:\n    - receiver: "
                                   "b\n      matchers: ['model=~\"x.*\"']\n",
                            "model"));
  EXPECT_FALSE(RoutesIgnore(head + "    match: {model: x}\n", "model"));
  EXPECT_FALSE(RoutesIgnore(head + "    match_re: {model: x.*}\n", "model"));
  EXPECT_FALSE(RoutesIgnore(head + "    matchers: ['not a matcher']\n", "model"));
  EXPECT_FALSE(RoutesIgnore("route: [", "model"));
  EXPECT_FALSE(RoutesIgnore("receivers: []\n", "model"));
}

class CheckCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("modelwatch-check-cache-test");
    ASSERT_TRUE(dir.has_value());
    dir_.emplace(std::move(*dir));
    // promtool: records the test files it is given; fails when one holds "FAILME".
    Script("promtool",
           "#!/bin/sh\n"
           "[ \"$1\" = test ] || exit 0\n"
           "code=0\n"
           "for a in \"$@\"; do case \"$a\" in *.test.yml)\n"
           "  echo \"$(basename \"$a\")\" >>" +
               dir_->path() +
               "/promtool.log\n"
               "  if grep -q FAILME \"$a\"; then echo \"FAILED: $a\"; code=1; fi;; esac; done\n"
               "exit $code\n");
    // amtool: records the label sets of routing tests; fails when one has team=bad.
    Script("amtool",
           "#!/bin/sh\n"
           "[ \"$1\" = config ] || exit 0\n"
           "shift 4\n"
           "echo \"$*\" >>" +
               dir_->path() +
               "/amtool.log\n"
               "case \"$*\" in *team=bad*) echo \"FAILED: $*\"; exit 1;; esac\n");
  }

  void Script(const std::string& name, const std::string& text) {
    const std::string path = dir_->path() + "/" + name;
    std::ofstream(path) << text;
    ASSERT_EQ(chmod(path.c_str(), 0755), 0);
  }

  // Runs the checks on `files`; returns the test files promtool was given, one a line.
  std::string Run(const OutputFiles& files) {
    out_.str("");
    err_.str("");
    CheckTools tools{dir_->path() + "/promtool", dir_->path() + "/amtool"};
    ok_ = RunAllChecks(dir_->path(), files, tools, out_, err_);
    amtool_log_ = Log("amtool");
    return Log("promtool");
  }

  // The lines `tool` logged, sorted (the runs share the cores in any order).
  std::string Log(const std::string& tool) {
    const std::string path = dir_->path() + "/" + tool + ".log";
    std::ifstream log(path);
    std::multiset<std::string> lines;
    for (std::string line; std::getline(log, line);) lines.insert(line);
    std::remove(path.c_str());
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    return text;
  }

  static OutputFiles Fleet(const std::string& marker) {
    OutputFiles files;
    for (const auto& [model, threshold] :
         {std::pair{"aaa", "1"}, std::pair{"bbb", "1"}, std::pair{"ccc", "2"}}) {
      files.merge(Model(model, threshold, marker));
    }
    files["alertmanager/alertmanager.yml"] =
        "route:\n  receiver: r\n  routes:\n  - receiver: a\n    matchers: ['team=\"t\"']\n";
    files["tests/routes.txt"] =
        "route a alertname=Down,model=aaa,team=t\n"
        "route a alertname=Down,model=bbb,team=t\n"
        "route r alertname=Down,model=ccc,team=u\n"
        "route r alertname=Down,model=aaa,team=bad\n"
        "route r alertname=Down,model=bbb,team=bad\n";
    return files;
  }

  std::optional<TempDir> dir_;
  std::string amtool_log_;
  std::ostringstream out_, err_;
  bool ok_ = false;
};

TEST_F(CheckCacheTest, ModelsOfOneShapeRunOnce) {
  EXPECT_EQ(Run(Fleet("ok")), "aaa.test.yml\nccc.test.yml\n");
  EXPECT_NE(out_.str().find("promtool test rules: ok\n"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("promtool test rules: 2 of 3 split test files run; the other 1 are "
                            "the same as one of them but for the model's name\n"),
            std::string::npos)
      << out_.str();
}

TEST_F(CheckCacheTest, AFailureRunsTheFilesThatBorrowedItsVerdict) {
  EXPECT_EQ(Run(Fleet("FAILME")), "aaa.test.yml\nbbb.test.yml\nccc.test.yml\n");
  EXPECT_FALSE(ok_);
  for (const char* file : {"aaa", "bbb", "ccc"}) {
    EXPECT_NE(err_.str().find(std::string("promtool test rules failed (exit 1) on tests/") + file +
                              ".test.yml"),
              std::string::npos)
        << file << "\n"
        << err_.str();
  }
  // bbb's failure is reported with its own output.
  EXPECT_NE(err_.str().find("/tests/bbb.test.yml\n"), std::string::npos) << err_.str();
}

}  // namespace
}  // namespace modelwatch

namespace modelwatch {
namespace {

TEST_F(CheckCacheTest, RoutingCasesThatDifferOnlyInTheModelRunOnce) {
  OutputFiles files = Fleet("ok");
  Run(files);
  EXPECT_EQ(amtool_log_,
            "--verify.receivers=a alertname=Down model=aaa team=t\n"
            "--verify.receivers=r alertname=Down model=aaa team=bad\n"
            "--verify.receivers=r alertname=Down model=bbb team=bad\n"
            "--verify.receivers=r alertname=Down model=ccc team=u\n");
  // The failed case ran for bbb too, and both failures are reported.
  EXPECT_NE(err_.str().find("{alertname=\"Down\",model=\"aaa\",team=\"bad\"} should go to r"),
            std::string::npos)
      << err_.str();
  EXPECT_NE(err_.str().find("{alertname=\"Down\",model=\"bbb\",team=\"bad\"} should go to r"),
            std::string::npos)
      << err_.str();
  // A route on the model label: every case runs.
  files["alertmanager/alertmanager.yml"] += "  - receiver: r\n    matchers: ['model=\"bbb\"']\n";
  Run(files);
  EXPECT_EQ(amtool_log_,
            "--verify.receivers=a alertname=Down model=aaa team=t\n"
            "--verify.receivers=a alertname=Down model=bbb team=t\n"
            "--verify.receivers=r alertname=Down model=aaa team=bad\n"
            "--verify.receivers=r alertname=Down model=bbb team=bad\n"
            "--verify.receivers=r alertname=Down model=ccc team=u\n");
}

}  // namespace
}  // namespace modelwatch
