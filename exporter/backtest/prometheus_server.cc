#include "exporter/backtest/prometheus_server.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace modelwatch {
namespace {

// A port the kernel considers free right now (bound to 0, read back, released).
Result<int> FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return MakeError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return MakeError("cannot find a free port on 127.0.0.1");
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::size_t Append(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

std::string FormatTime(double t) {
  std::ostringstream os;
  os.precision(15);
  os << t;
  return os.str();
}

}  // namespace

Result<std::unique_ptr<PrometheusServer>> PrometheusServer::Start(const std::string& tsdb_dir,
                                                                  const std::string& work_dir) {
  const std::string config = work_dir + "/prometheus.yml";
  {
    std::ofstream out(config);
    out << "# backtest: no scraping, no rules; the TSDB is backfilled.\nglobal: {}\n";
  }
  const std::string log_path = work_dir + "/prometheus.log";
  // The port may be taken between FreePort() and the bind; try a few.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto port = FreePort();
    if (!port) return tl::unexpected(port.error());
    const std::string address = "127.0.0.1:" + std::to_string(*port);
    auto process = ChildProcess::Start(
        {"prometheus", "--config.file=" + config, "--storage.tsdb.path=" + tsdb_dir,
         "--web.listen-address=" + address, "--storage.tsdb.retention.time=100y",
         "--query.max-samples=200000000", "--query.timeout=10m", "--log.level=warn"},
        log_path);
    if (!process) return tl::unexpected(process.error());
    std::unique_ptr<PrometheusServer> server(
        new PrometheusServer("http://" + address, std::move(*process), log_path));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline && server->process_.Running()) {
      if (auto ready = server->Get("/-/ready"); ready) return server;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (server->process_.Running()) {
      return MakeError("prometheus did not become ready within 120 s:\n" + Tail(log_path));
    }
    if (Tail(log_path).find("address already in use") == std::string::npos) {
      return MakeError("prometheus exited at start:\n" + Tail(log_path));
    }
  }
  return MakeError("prometheus could not bind a free port:\n" + Tail(log_path));
}

PrometheusServer::~PrometheusServer() { process_.Stop(); }

Result<std::string> PrometheusServer::Get(const std::string& path_and_query) const {
  CURL* curl = curl_easy_init();
  if (!curl) return MakeError("curl_easy_init failed");
  std::string body;
  const std::string url = url_ + path_and_query;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 900L);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return MakeError(std::string("GET ") + url + ": " + curl_easy_strerror(rc));
  if (status != 200) {
    return MakeError("GET " + path_and_query.substr(0, 200) + ": HTTP " + std::to_string(status) +
                     ": " + body.substr(0, 500));
  }
  return body;
}

Result<std::vector<RangeSeries>> PrometheusServer::QueryRange(const std::string& expr, double start,
                                                              double end, double step) const {
  constexpr double kMaxSteps = 10000;
  std::map<std::map<std::string, std::string>, std::size_t> index;
  std::vector<RangeSeries> out;
  CURL* curl = curl_easy_init();
  char* escaped = curl_easy_escape(curl, expr.c_str(), static_cast<int>(expr.size()));
  const std::string query = escaped;
  curl_free(escaped);
  curl_easy_cleanup(curl);
  for (double from = start; from <= end; from += kMaxSteps * step) {
    const double to = std::min(end, from + (kMaxSteps - 1) * step);
    auto body = Get("/api/v1/query_range?query=" + query + "&start=" + FormatTime(from) +
                    "&end=" + FormatTime(to) + "&step=" + FormatTime(step));
    if (!body) {
      return MakeError("query " + expr.substr(0, 300) + ": " + body.error().message);
    }
    nlohmann::json doc = nlohmann::json::parse(*body, nullptr, false);
    if (doc.is_discarded() || doc.value("status", "") != "success") {
      return MakeError("query " + expr.substr(0, 300) + ": unexpected answer " +
                       body->substr(0, 300));
    }
    for (const auto& s : doc["data"]["result"]) {
      std::map<std::string, std::string> labels;
      for (auto it = s["metric"].begin(); it != s["metric"].end(); ++it) {
        labels[it.key()] = it.value().get<std::string>();
      }
      auto [pos, inserted] = index.try_emplace(labels, out.size());
      if (inserted) out.push_back({labels, {}});
      auto& samples = out[pos->second].samples;
      for (const auto& v : s["values"]) {
        samples.emplace_back(v[0].get<double>(), std::stod(v[1].get<std::string>()));
      }
    }
  }
  return out;
}

}  // namespace modelwatch
