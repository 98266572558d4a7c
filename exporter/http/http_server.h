// The exporter's HTTP endpoint: /metrics (prometheus-cpp's Exposer, gzip included), a landing
// page at /, /-/healthy, /-/ready, and basic auth from the web config on every path.
#ifndef MODELWATCH_EXPORTER_HTTP_HTTP_SERVER_H_
#define MODELWATCH_EXPORTER_HTTP_HTTP_SERVER_H_

#include <prometheus/collectable.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "exporter/http/web_config.h"

namespace modelwatch {

struct HttpOptions {
  std::string listen_address = ":9841";  // [host]:port
  std::string telemetry_path = "/metrics";
  WebConfig web_config;  // basic auth users; TLS is refused (see Start)
  int threads = 4;
};

struct HttpHandlers {
  std::function<bool()> ready;                // /-/ready: 200 when true, 503 otherwise
  std::function<std::string()> landing_page;  // HTML for /
};

// Owns the server; stops it on destruction. Handlers and the collectable may be called from
// several server threads at once until then.
class HttpServer {
 public:
  // Starts listening. Fails for an unusable address (e.g. in use) and when the web config
  // asks for TLS, which this build cannot serve reliably.
  static Result<std::unique_ptr<HttpServer>> Start(HttpOptions options,
                                                   std::shared_ptr<prometheus::Collectable> metrics,
                                                   HttpHandlers handlers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::vector<int> ListeningPorts() const;

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "host:port" / ":port" -> civetweb's listening_ports value ("port" or "host:port").
// Returns an error for a missing or non-numeric port.
Result<std::string> ToCivetListeningPorts(const std::string& listen_address);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_HTTP_HTTP_SERVER_H_
