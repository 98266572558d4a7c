#include "exporter/commands/daemon_command.h"

#include <charconv>
#include <iostream>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/command.h"
#include "core/duration.h"
#include "core/flags.h"
#include "core/metric_catalogue.h"
#include "exporter/commands/subcommands.h"
#include "exporter/daemon/exporter_daemon.h"
#include "exporter/daemon/logger.h"
#include "exporter/http/http_server.h"
#include "exporter/metrics/family_merge.h"

namespace modelwatch {
namespace {

constexpr const char* kVersion = MODELWATCH_VERSION;

// Parses "0.01,0.05,..." into ascending positive bucket bounds.
Result<std::vector<double>> ParseBuckets(const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      double v = std::stod(item, &used);
      if (used != item.size() || !(v > 0) || (!out.empty() && v <= out.back())) throw 0;
      out.push_back(v);
    } catch (...) {
      return MakeError("--metrics.latency-buckets: \"" + text +
                       "\" must be ascending positive numbers separated by commas");
    }
  }
  if (out.empty()) return MakeError("--metrics.latency-buckets: no buckets");
  return out;
}

}  // namespace

int RunDaemon(const std::vector<std::string>& args) {
  FlagParser flags(
      "modelwatch-exporter --config.dir=DIR [flags]",
      "Tails prediction and ground-truth label logs and serves per-model histograms, drift, "
      "proxy signals, performance and a degradation score for Prometheus.\n\n" +
          SubcommandHelp(),
      {{"config.dir", "Directory of model YAML files.", "", false, true},
       {"web.listen-address", "Address to listen on for HTTP.", ":9841"},
       {"web.telemetry-path", "Path under which to expose metrics.", "/metrics"},
       {"web.config.file", "Exporter-toolkit web config (basic auth; TLS is refused).", ""},
       {"web.max-connections",
        "Connections held open at most; at the cap a new one replaces the oldest one still "
        "waiting for its request, or is refused when all are being answered.",
        "1024"},
       {"web.read-header-timeout",
        "Time a client has to send a whole request head, from connecting (or from the "
        "first byte of a later request on a kept-alive connection).",
        "5s"},
       {"web.idle-timeout", "Time a kept-alive connection may wait for its next request.", "1m"},
       {"web.write-timeout", "Time allowed to write one answer.", "30s"},
       {"web.handler-threads", "Threads computing answers (authentication, the scrape).", "4"},
       {"web.statistics-interval",
        "How often the drift statistics of models that read records since are recomputed, "
        "on a thread of their own; scrapes serve the last ones computed. 0: computed at every "
        "scrape instead.",
        "1s"},
       {"state.dir", "Directory for the checkpoint and ground-truth stores.",
        "/var/lib/modelwatch"},
       {"state.checkpoint-interval", "How often to write the checkpoint.", "5s"},
       {"ingest.future-tolerance",
        "Reject records whose event time is later than the clock plus this "
        "(reason future_timestamp).",
        "5m"},
       {"ingest.threads",
        "Threads reading the logs: the sources are split into this many shards, each read by "
        "its own thread (a model's records always by one thread, in file order); at most one "
        "per source. 0: one per CPU core.",
        "0"},
       {"metrics.latency-buckets",
        "Buckets of " + metric::kModelRequestDurationSeconds.Name() + ", in seconds.",
        "0.01,0.05,0.1,0.25,0.5,1,2.5,5"},
       {"log.level",
        "Only log messages with the given severity or above: debug, info, warn, "
        "error.",
        "info"},
       {"log.format", "Output format of log messages: logfmt or json.", "logfmt"},
       {"version", "Print the version and exit.", "", true}});
  if (auto ok = flags.Parse(args); !ok) {
    // --version alone must work without --config.dir.
    if (std::find(args.begin(), args.end(), "--version") != args.end()) {
      std::cout << "modelwatch-exporter " << kVersion << "\n";
      return kExitOk;
    }
    std::cerr << "modelwatch-exporter: " << ok.error().ToString() << "\nTry --help.\n";
    return kExitUsage;
  }
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return kExitOk;
  }
  if (flags.GetBool("version")) {
    std::cout << "modelwatch-exporter " << kVersion << "\n";
    return kExitOk;
  }
  const std::string level = flags.Get("log.level");
  const std::string format = flags.Get("log.format");
  static const std::map<std::string, LogLevel> kLevels = {{"debug", LogLevel::kDebug},
                                                          {"info", LogLevel::kInfo},
                                                          {"warn", LogLevel::kWarn},
                                                          {"error", LogLevel::kError}};
  if (!kLevels.count(level)) {
    std::cerr << "modelwatch-exporter: --log.level must be debug, info, warn or error\n";
    return kExitUsage;
  }
  if (format != "logfmt" && format != "json") {
    std::cerr << "modelwatch-exporter: --log.format must be logfmt or json\n";
    return kExitUsage;
  }
  Log().Configure(kLevels.at(level), format == "json");

  ExporterOptions options;
  options.config_dir = flags.Get("config.dir");
  options.state_dir = flags.Get("state.dir");
  options.telemetry_path = flags.Get("web.telemetry-path");
  auto interval = ParseDuration(flags.Get("state.checkpoint-interval"));
  if (!interval) {
    std::cerr << "modelwatch-exporter: --state.checkpoint-interval: " << interval.error().message
              << "\n";
    return kExitUsage;
  }
  options.checkpoint_interval = std::chrono::duration_cast<std::chrono::milliseconds>(*interval);
  const std::string statistics = flags.Get("web.statistics-interval");
  if (statistics == "0" || statistics == "0s") {
    options.statistics_interval = std::chrono::milliseconds(0);
  } else {
    auto every = ParseDuration(statistics);
    if (!every) {
      std::cerr << "modelwatch-exporter: --web.statistics-interval: " << every.error().message
                << "\n";
      return kExitUsage;
    }
    options.statistics_interval = std::chrono::duration_cast<std::chrono::milliseconds>(*every);
  }
  auto tolerance = ParseDuration(flags.Get("ingest.future-tolerance"));
  if (!tolerance) {
    std::cerr << "modelwatch-exporter: --ingest.future-tolerance: " << tolerance.error().message
              << "\n";
    return kExitUsage;
  }
  options.future_tolerance = std::chrono::duration_cast<std::chrono::seconds>(*tolerance);
  auto buckets = ParseBuckets(flags.Get("metrics.latency-buckets"));
  if (!buckets) {
    std::cerr << "modelwatch-exporter: " << buckets.error().message << "\n";
    return kExitUsage;
  }
  options.latency_buckets = *buckets;

  HttpOptions http;
  http.listen_address = flags.Get("web.listen-address");
  // A malformed address is a usage error, reported before any model is loaded.
  if (auto address = ParseListenAddress(http.listen_address); !address) {
    std::cerr << "modelwatch-exporter: " << address.error().message << "\n";
    return kExitUsage;
  }
  http.telemetry_path = flags.Get("web.telemetry-path");
  for (auto [flag, target] : {std::pair<const char*, std::chrono::milliseconds*>{
                                  "web.read-header-timeout", &http.read_header_timeout},
                              {"web.idle-timeout", &http.idle_timeout},
                              {"web.write-timeout", &http.write_timeout}}) {
    auto d = ParseDuration(flags.Get(flag));
    if (!d) {
      std::cerr << "modelwatch-exporter: --" << flag << ": " << d.error().message << "\n";
      return kExitUsage;
    }
    *target = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  }
  int ingest_threads = 0;
  for (auto [flag, target, low, high] :
       {std::tuple<const char*, int*, int, int>{"web.max-connections", &http.max_connections, 1,
                                                1000000},
        {"web.handler-threads", &http.handler_threads, 1, 64},
        {"ingest.threads", &ingest_threads, 0, 256}}) {
    const std::string text = flags.Get(flag);
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < low || value > high) {
      std::cerr << "modelwatch-exporter: --" << flag << " must be an integer from " << low << " to "
                << high << ", not \"" << text << "\"\n";
      return kExitUsage;
    }
    *target = value;
  }
  options.ingest_threads =
      ingest_threads == 0 ? UsableCores() : static_cast<std::size_t>(ingest_threads);
  const std::string web_config_file = flags.Get("web.config.file");
  if (!web_config_file.empty()) {
    auto web = LoadWebConfig(web_config_file);
    if (!web) {
      std::cerr << web.error().ToString() << "\n";
      return kExitInvalidInput;
    }
    http.web_config = std::move(*web);
    if (http.web_config.has_tls) {
      std::cerr << "modelwatch-exporter: error: TLS is not supported by this build "
                   "(tls_server_config in "
                << http.web_config.file
                << "); terminate TLS in a reverse proxy in front of the exporter, or remove "
                   "tls_server_config\n";
      return kExitInvalidInput;
    }
  }
  // SIGHUP re-reads the web config too (the server is running by the time Run() reloads).
  HttpServer* web_server = nullptr;
  if (!web_config_file.empty()) {
    options.reload_web_config = [&web_server, web_config_file]() -> Result<void> {
      auto web = LoadWebConfig(web_config_file);
      if (!web) return tl::unexpected(web.error());
      if (web_server == nullptr)
        return MakeError("the HTTP server is not running", {web_config_file});
      return web_server->ReloadWebConfig(*web);
    };
  }

  InstallSignalHandlers();
  Exporter exporter(options);
  if (auto ok = exporter.Start(); !ok) {
    for (const Error& e : ok.error()) std::cerr << e.ToString() << "\n";
    return kExitInvalidInput;
  }
  auto collector = std::make_shared<MergingCollector>(
      [&exporter](Exposition& out) { exporter.CollectAll(out); });
  HttpHandlers handlers;
  handlers.ready = [&exporter] { return exporter.Ready(); };
  handlers.landing_page = [&exporter] { return exporter.LandingPage(); };
  handlers.sample = [&exporter](const std::string& model) { return exporter.Sample(model); };
  auto server = HttpServer::Start(http, collector, handlers);
  if (!server) {
    std::cerr << "modelwatch-exporter: error: " << server.error().message << "\n";
    return kExitInvalidInput;
  }
  web_server = server->get();
  std::string ports;
  for (int p : (*server)->ListeningPorts()) ports += (ports.empty() ? "" : ",") + std::to_string(p);
  Log().Log(LogLevel::kInfo, "listening",
            {{"address", http.listen_address}, {"ports", ports}, {"version", kVersion}});
  exporter.Run();
  web_server = nullptr;
  server->reset();
  return kExitOk;
}

}  // namespace modelwatch
