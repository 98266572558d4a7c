// libFuzzer target: any bytes as --state.dir/checkpoint.json, restored by the daemon's own
// start-up (Exporter::Start: ReadCheckpoint, then every source's and model's RestoreState).
// A checkpoint never keeps the exporter from starting: a damaged one is moved aside, a part
// that does not fit is discarded. So Start() must succeed (the model configuration is valid),
// nothing may throw, every restore step must check the fields it reads (not lean on Start's
// last-resort catch), and the restored state must then scrape.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "exporter/daemon/exporter_daemon.h"
#include "exporter/daemon/logger.h"

namespace {

// Two models sharing one source (so sources are named "a+b"), drift, ground truth with its
// label tailer and store. The paths are fixed, not under the temporary directory, so that a
// seed checkpoint's saved patterns match them; nothing is read from them (no Poll()).
constexpr const char* kModelA = R"(model: a
owner: {team: t}
tier: 2
task: binary_classification
source: {paths: ["/modelwatch-fuzz/predictions/*.jsonl"], start_at: end}
drift: {windows: [1h], min_samples: 10}
ground_truth: {paths: ["/modelwatch-fuzz/labels/a.jsonl"], start_at: end, windows: [1h]}
)";
constexpr const char* kModelB = R"(model: b
owner: {team: t}
tier: 2
task: regression
source: {paths: ["/modelwatch-fuzz/predictions/*.jsonl"], start_at: beginning,
         fields: {prediction: eta_minutes}}
)";

struct Setup {
  std::string root;
  std::string config_dir;
  std::string state_dir;
  Setup() {
    // On a tmpfs where there is one: the stores and the key file are fsynced at every start,
    // which on a disk makes each input take tens of milliseconds.
    const bool shm = std::filesystem::is_directory("/dev/shm");
    std::string tmpl =
        std::string(shm ? "/dev/shm" : "/tmp") + "/modelwatch-checkpoint-fuzz.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    root = tmpl;
    config_dir = root + "/models";
    state_dir = root + "/state";
    std::filesystem::create_directories(config_dir);
    std::ofstream(config_dir + "/a.yaml") << kModelA;
    std::ofstream(config_dir + "/b.yaml") << kModelB;
    modelwatch::Log().Configure(modelwatch::LogLevel::kError, false);
  }
  ~Setup() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A fresh directory for each input (a moved-aside checkpoint and the stores of the last
  // input must not carry over), removed after it: libFuzzer's exit runs no destructors.
  Setup setup;
  std::filesystem::create_directories(setup.state_dir);
  {
    std::ofstream out(setup.state_dir + "/checkpoint.json", std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  modelwatch::ExporterOptions options;
  options.config_dir = setup.config_dir;
  options.state_dir = setup.state_dir;
  modelwatch::Exporter exporter(options);
  auto started = exporter.Start();
  if (!started) {
    for (const auto& e : started.error()) std::fprintf(stderr, "%s\n", e.ToString().c_str());
    std::abort();  // a checkpoint must never stop the start
  }
  modelwatch::Exposition exposition;
  exporter.CollectAll(exposition);
  const auto& families = exposition.families;
  if (families.empty()) std::abort();
  // Start() catches a JSON type error no restore step foresaw and starts without the
  // checkpoint (reason invalid_field): safe, but a field left unchecked. Report it.
  for (const auto& f : families) {
    if (f.name != "modelwatch_state_resets_total") continue;
    for (const auto& m : f.metric) {
      for (const auto& l : m.label) {
        if (l.name == "reason" && l.value == "invalid_field") {
          std::fprintf(stderr, "a restore step threw on a field it does not check\n");
          std::abort();
        }
      }
    }
  }
  exporter.LandingPage();
  return 0;
}
