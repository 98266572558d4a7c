// Throughput of LogTailer reading a large file from the beginning (page cache warm), with a
// sink that only counts: the tailer's own cost per line.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "exporter/tail/log_tailer.h"

namespace modelwatch {
namespace {

constexpr int kLines = 200000;

// A prediction-log-like file of kLines lines, ~170 bytes each, in a directory removed when
// the benchmark exits.
class BenchFile {
 public:
  BenchFile() {
    std::string dir_template =
        (std::filesystem::temp_directory_path() / "tail-bench-XXXXXX").string();
    if (mkdtemp(dir_template.data()) == nullptr) std::abort();
    dir_ = dir_template;
    path_ = dir_ + "/predictions.jsonl";
    std::FILE* out = std::fopen(path_.c_str(), "w");
    if (out == nullptr) std::abort();
    for (int i = 0; i < kLines; ++i) {
      std::fprintf(out,
                   "{\"ts\":%d.%03d,\"model\":\"fraud-detector\",\"model_version\":\"v3\","
                   "\"request_id\":\"req-%08d\",\"score\":0.%06d,\"latency_ms\":%d.5,"
                   "\"features\":{\"amount\":%d.25,\"country\":\"DE\",\"age\":%d}}\n",
                   1700000000 + i, i % 1000, i, (i * 7919) % 1000000, i % 97, i % 5000,
                   18 + i % 60);
    }
    std::fclose(out);
  }
  ~BenchFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

void BM_LogTailer_ReadLines(benchmark::State& state) {
  static const BenchFile bench_file;
  const std::string& file = bench_file.path();
  const auto bytes = static_cast<std::int64_t>(std::filesystem::file_size(file));
  std::int64_t lines = 0;
  for (auto _ : state) {
    LogTailerOptions options;
    options.patterns = {file};
    options.start_at = StartAt::kBeginning;
    LogTailer tailer(options);
    std::size_t total = 0;
    tailer.Poll([&](std::string_view line) { total += line.size(); });
    benchmark::DoNotOptimize(total);
    lines += static_cast<std::int64_t>(tailer.Stats().lines_delivered);
  }
  state.SetItemsProcessed(lines);
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_LogTailer_ReadLines)->Unit(benchmark::kMillisecond);

// Many small appends, each followed by a Poll: the per-Poll overhead (glob, fstat,
// fingerprint check) when the exporter keeps up with a live writer.
void BM_LogTailer_PollAfterAppend(benchmark::State& state) {
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "tail-bench-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr) std::abort();
  const std::string file = dir_template + "/app.log";
  std::FILE* out = std::fopen(file.c_str(), "w");
  LogTailerOptions options;
  options.patterns = {dir_template + "/*.log"};
  options.start_at = StartAt::kBeginning;
  LogTailer tailer(options);
  std::size_t total = 0;
  auto sink = [&](std::string_view line) { total += line.size(); };
  for (auto _ : state) {
    std::fputs("{\"ts\":1700000000,\"model\":\"m\",\"score\":0.5}\n", out);
    std::fflush(out);
    tailer.Poll(sink);
  }
  benchmark::DoNotOptimize(total);
  state.SetItemsProcessed(static_cast<std::int64_t>(tailer.Stats().lines_delivered));
  std::fclose(out);
  std::error_code ec;
  std::filesystem::remove_all(dir_template, ec);
}
BENCHMARK(BM_LogTailer_PollAfterAppend);

}  // namespace
}  // namespace modelwatch
