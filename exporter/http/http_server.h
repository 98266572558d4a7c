// The exporter's HTTP endpoint: /metrics (gzip when asked), a landing page at /, /-/healthy,
// /-/ready, and basic auth from the web config on every path.
//
// One I/O thread owns every connection (epoll, non-blocking sockets): it accepts, reads request
// heads against a deadline, and writes answers; a small pool of handler threads computes the
// answers (basic auth, the scrape). An idle or slow client therefore costs a file descriptor
// and a few bytes, never a thread, and the number of connections is capped: at the cap a new
// connection takes the place of the oldest one still waiting for its request, or is refused
// when every connection is being answered.
#ifndef MODELWATCH_EXPORTER_HTTP_HTTP_SERVER_H_
#define MODELWATCH_EXPORTER_HTTP_HTTP_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "exporter/http/web_config.h"
#include "exporter/metrics/family_merge.h"

namespace modelwatch {

struct HttpOptions {
  std::string listen_address = ":9841";  // [host]:port
  std::string telemetry_path = "/metrics";
  WebConfig web_config;        // basic auth users; TLS is refused (see Start)
  int handler_threads = 4;     // threads computing answers (auth, scrape)
  int max_connections = 1024;  // open connections at most; the excess is evicted or refused
  std::chrono::milliseconds read_header_timeout{5000};  // accept (or first byte) to head end
  std::chrono::milliseconds idle_timeout{60000};        // keep-alive: between two requests
  std::chrono::milliseconds write_timeout{30000};       // writing one answer
};

struct HttpHandlers {
  std::function<bool()> ready;                // /-/ready: 200 when true, 503 otherwise
  std::function<std::string()> landing_page;  // HTML for /
  // JSON for /api/v1/samples/<model>; nullopt: no such model (404).
  std::function<std::optional<std::string>(const std::string& model)> sample;
};

// Owns the server; stops it on destruction. Handlers and the collectable may be called from
// several server threads at once until then.
class HttpServer {
 public:
  // Starts listening. Fails for an unusable address (e.g. in use), when the web config asks
  // for TLS, which this build does not serve, and when the process may not open
  // max_connections file descriptors (the soft RLIMIT_NOFILE is raised up to the hard one).
  static Result<std::unique_ptr<HttpServer>> Start(HttpOptions options,
                                                   std::shared_ptr<MergingCollector> metrics,
                                                   HttpHandlers handlers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::vector<int> ListeningPorts() const;

  // Authenticates every request received from now on against `config`'s users (a request
  // already being checked finishes with the previous ones; verified passwords are forgotten).
  // Refuses a config asking for TLS, which this server never serves, and one without users
  // while authentication is on (switching it off takes a restart): the running web config
  // then stays. Thread-safe.
  Result<void> ReloadWebConfig(const WebConfig& config);

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "host:port" / ":port" -> the IPv4 host ("" for every interface) and the port. Returns an
// error for a missing or non-numeric port and for IPv6 addresses.
Result<std::pair<std::string, int>> ParseListenAddress(const std::string& listen_address);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_HTTP_HTTP_SERVER_H_
