// generate's streamed output (GenerateToDirectory, RunEmitters): the same files as the
// in-memory Generate, on any number of threads, and still all or nothing on disk.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include "rulegen/commands.h"
#include "rulegen/emitter.h"
#include "rulegen/generator.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;

const fs::path kExamples = fs::path(MODELWATCH_SOURCE_DIR) / "examples";

// A fresh directory under the test's temp dir, removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(fs::path(testing::TempDir()) / ("rulegen_stream_" + name)) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// `n` models cycling through the three examples (fraud-detector-0000, eta-predictor-0001, …)
// with the examples' fleet file and baselines, as bench/rulegen_fleet_bench.sh builds them.
ConfigSet Fleet(const TempDir& dir, int n) {
  fs::copy(kExamples / "baselines", dir.path() / "baselines", fs::copy_options::recursive);
  fs::create_directories(dir.path() / "models");
  fs::copy(kExamples / "models" / "modelwatch.yaml", dir.path() / "models" / "modelwatch.yaml");
  const char* examples[] = {"fraud-detector", "eta-predictor", "intent-classifier"};
  for (int i = 0; i < n; ++i) {
    const std::string ex = examples[i % 3];
    char name[64];
    std::snprintf(name, sizeof name, "%s-%04d", ex.c_str(), i);
    std::ifstream in(kExamples / "models" / (ex + ".yaml"));
    std::stringstream text;
    text << in.rdbuf();
    std::string yaml = "\n" + text.str();
    const std::string line = "\nmodel: " + ex + "\n";
    const auto at = yaml.find(line);
    if (at == std::string::npos) throw std::runtime_error("no model line in " + ex);
    yaml.replace(at, line.size(), "\nmodel: " + std::string(name) + "\n");
    std::ofstream(dir.path() / "models" / (std::string(name) + ".yaml")) << yaml.substr(1);
  }
  auto config = LoadRulegenConfig((dir.path() / "models").string());
  if (!config) throw std::runtime_error("fleet config does not load");
  return std::move(*config);
}

OutputFiles ReadTree(const fs::path& root) {
  OutputFiles files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    files[fs::relative(e.path(), root).generic_string()] = text.str();
  }
  return files;
}

int Entries(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}

TEST(GenerateToDirectoryTest, WritesExactlyWhatGenerateFilesReturns) {
  TempDir dir("same");
  const ConfigSet config = Fleet(dir, 7);
  for (OutputFormat format : {OutputFormat::kPrometheus, OutputFormat::kPrometheusOperator}) {
    const fs::path out = dir.path() / "out";
    auto written = GenerateToDirectory(config, format, out.string());
    ASSERT_TRUE(written) << written.error().ToString();
    auto expected = GenerateFiles(config, format);
    ASSERT_TRUE(expected);
    const OutputFiles on_disk = ReadTree(out);
    EXPECT_EQ(*written, expected->size());
    ASSERT_EQ(on_disk.size(), expected->size());
    for (const auto& [path, content] : *expected) {
      auto it = on_disk.find(path);
      ASSERT_NE(it, on_disk.end()) << path;
      EXPECT_EQ(it->second, content) << path;
    }
    // Every model's files and the fleet's (the operator format adds ConfigMaps and manifests).
    EXPECT_TRUE(on_disk.count("rules/eta-predictor-0004.rules.yml"));
    EXPECT_TRUE(on_disk.count("runbooks/ModelDown.md"));
    EXPECT_TRUE(on_disk.count("tests/routes.txt"));
    EXPECT_EQ(on_disk.count("kubernetes/grafana-dashboard-fraud-detector-0006.yaml"),
              format == OutputFormat::kPrometheusOperator ? 1u : 0u);
  }
}

TEST(GenerateToDirectoryTest, FailedWriteHalfWayLeavesThePreviousOutput) {
  TempDir dir("fail");
  const ConfigSet config = Fleet(dir, 4);
  const fs::path out = dir.path() / "out";
  ASSERT_TRUE(WriteOutputAtomically(out.string(), {{"previous.txt", "old\n"}}));
  // Files larger than 20 KB cannot be written (EFBIG): rule files and small runbooks are,
  // dashboards are not, so the run fails after it has written some files.
  struct rlimit saved {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 20000;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  auto written = GenerateToDirectory(config, OutputFormat::kPrometheus, out.string());
  setrlimit(RLIMIT_FSIZE, &saved);
  signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("cannot write"), std::string::npos)
      << written.error().message;
  EXPECT_EQ(ReadTree(out), (OutputFiles{{"previous.txt", "old\n"}}));
  // out/, models/ and baselines/: no temporary directory left behind.
  EXPECT_EQ(Entries(dir.path()), 3);
}

// An emitter that writes one file per model and throws at the models named in `bad`.
class ThrowingEmitter : public Emitter {
 public:
  explicit ThrowingEmitter(std::set<std::string> bad) : bad_(std::move(bad)) {}
  const char* Name() const override { return "throwing"; }
  std::unique_ptr<EmitterRun> Start(const ConfigSet&) const override {
    return std::make_unique<Run>(bad_);
  }

 private:
  class Run : public EmitterRun {
   public:
    explicit Run(const std::set<std::string>& bad) : bad_(bad) {}
    void Model(std::size_t, const ModelConfig& m, const RuleFile&, FileSink& out) override {
      if (bad_.count(m.name)) throw std::runtime_error("broken at " + m.name);
      out.Add("x/" + m.name, m.name);
    }
    void Finish(const RuleFile&, FileSink& out) override { out.Add("x/fleet", "fleet"); }

   private:
    const std::set<std::string>& bad_;
  };
  std::set<std::string> bad_;
};

TEST(RunEmittersTest, SameFilesOnOneThreadAndOnSeveral) {
  TempDir dir("threads");
  const ConfigSet config = Fleet(dir, 9);
  const auto emitters = MakeEmitters(OutputFormat::kPrometheus);
  std::vector<const Emitter*> list;
  for (const auto& e : emitters) list.push_back(e.get());
  OutputFiles one;
  OutputFiles several;
  MapSink one_sink(one);
  MapSink several_sink(several);
  RunEmitters(config, list, one_sink, 1);
  RunEmitters(config, list, several_sink, 4);
  EXPECT_EQ(one.size(), Generate(config, OutputFormat::kPrometheus).size());
  EXPECT_TRUE(one.count("tests/intent-classifier-0008.test.yml"));
  EXPECT_TRUE(one == several);
}

TEST(RunEmittersTest, RethrowsTheFirstModelsExceptionAfterAllThreadsStop) {
  TempDir dir("throws");
  const ConfigSet config = Fleet(dir, 12);
  const std::set<std::string> bad = {"intent-classifier-0005", "fraud-detector-0009"};
  // The first of them in the config's order (models sorted by file name).
  std::size_t first = 0;
  while (!bad.count(config.models[first].name)) ++first;
  ASSERT_EQ(config.models[first].name, "fraud-detector-0009");
  for (unsigned threads : {1u, 3u}) {
    ThrowingEmitter emitter(bad);
    OutputFiles files;
    MapSink sink(files);
    try {
      RunEmitters(config, {&emitter}, sink, threads);
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), "broken at fraud-detector-0009") << threads;
    }
    EXPECT_FALSE(files.count("x/fleet")) << "Finish ran after a model failed";
    EXPECT_TRUE(files.count("x/" + config.models[first - 1].name));
    if (threads == 1) {  // on one thread nothing runs after the failed model
      EXPECT_EQ(files.size(), first);
    }
  }
}

TEST(GenerateToDirectoryTest, ExceptionLeavesThePreviousOutputAndNoTemporaryDirectory) {
  TempDir dir("exception");
  const ConfigSet config = Fleet(dir, 3);
  const fs::path out = dir.path() / "out";
  ASSERT_TRUE(WriteOutputAtomically(out.string(), {{"previous.txt", "old\n"}}));
  // The Grafana emitter throws when its templates cannot be loaded.
  setenv("MODELWATCH_DASHBOARD_TEMPLATES", (dir.path() / "no-such-dir").c_str(), 1);
  EXPECT_THROW(GenerateToDirectory(config, OutputFormat::kPrometheus, out.string()),
               std::runtime_error);
  unsetenv("MODELWATCH_DASHBOARD_TEMPLATES");
  EXPECT_EQ(ReadTree(out), (OutputFiles{{"previous.txt", "old\n"}}));
  EXPECT_EQ(Entries(dir.path()), 3) << "a temporary directory was left behind";
}

}  // namespace
}  // namespace modelwatch
