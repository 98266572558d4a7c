#include "exporter/http/http_server.h"

#include <CivetServer.h>
#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <prometheus/exposer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace modelwatch {

struct HttpServer::Impl {
  HttpOptions options;
  HttpHandlers handlers;
  std::shared_ptr<prometheus::Collectable> metrics;
  std::unique_ptr<BasicAuthChecker> auth;
  CivetCallbacks callbacks;
  std::unique_ptr<prometheus::Exposer> exposer;
};

namespace {

// civetweb's begin_request has no user pointer that the Exposer leaves to us; one server per
// process is all the exporter runs.
std::atomic<HttpServer::Impl*> g_server{nullptr};

void Send(mg_connection* conn, int status, const char* reason, const char* content_type,
          const std::string& body, const char* extra_headers = "") {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-cache\r\n%sConnection: close\r\n\r\n",
            status, reason, content_type, body.size(), extra_headers);
  const mg_request_info* info = mg_get_request_info(conn);
  if (info != nullptr && info->request_method != nullptr &&
      std::strcmp(info->request_method, "HEAD") == 0) {
    return;
  }
  mg_write(conn, body.data(), body.size());
}

int BeginRequest(mg_connection* conn) {
  HttpServer::Impl* s = g_server.load();
  const mg_request_info* info = mg_get_request_info(conn);
  if (s == nullptr || info == nullptr || info->local_uri == nullptr) return 0;
  if (s->auth && s->auth->enabled()) {
    const char* header = mg_get_header(conn, "Authorization");
    std::string user, password;
    if (header == nullptr || !ParseBasicAuthorization(header, user, password) ||
        !s->auth->Check(user, password)) {
      Send(conn, 401, "Unauthorized", "text/plain; charset=utf-8", "Unauthorized\n",
           "WWW-Authenticate: Basic realm=\"modelwatch\"\r\n");
      return 401;
    }
  }
  const std::string uri = info->local_uri;
  if (uri == s->options.telemetry_path) return 0;  // the Exposer's handler
  if (uri == "/-/healthy") {
    Send(conn, 200, "OK", "text/plain; charset=utf-8", "Healthy\n");
    return 200;
  }
  if (uri == "/-/ready") {
    if (s->handlers.ready && s->handlers.ready()) {
      Send(conn, 200, "OK", "text/plain; charset=utf-8", "Ready\n");
      return 200;
    }
    Send(conn, 503, "Service Unavailable", "text/plain; charset=utf-8", "Not ready\n");
    return 503;
  }
  if (uri == "/" && s->handlers.landing_page) {
    Send(conn, 200, "OK", "text/html; charset=utf-8", s->handlers.landing_page());
    return 200;
  }
  Send(conn, 404, "Not Found", "text/plain; charset=utf-8", "Not found\n");
  return 404;
}

}  // namespace

Result<std::string> ToCivetListeningPorts(const std::string& listen_address) {
  auto colon = listen_address.rfind(':');
  if (colon == std::string::npos) {
    return MakeError("--web.listen-address \"" + listen_address + "\" must be [host]:port");
  }
  std::string host = listen_address.substr(0, colon);
  std::string port = listen_address.substr(colon + 1);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
      port.size() > 5) {
    return MakeError("--web.listen-address \"" + listen_address + "\": bad port");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return MakeError("--web.listen-address \"" + listen_address +
                     "\": IPv6 addresses are not supported");
  }
  if (host.empty() || host == "0.0.0.0") return port;
  return host + ":" + port;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

namespace {

// Why civetweb could not listen on `civet_ports` ("port" or "ipv4:port"), found by binding
// the same address ourselves: civetweb itself only says "null context when constructing
// CivetServer". Empty when the address binds (the failure was something else).
std::string WhyCannotBind(const std::string& civet_ports) {
  const auto colon = civet_ports.rfind(':');
  const std::string host = colon == std::string::npos ? "0.0.0.0" : civet_ports.substr(0, colon);
  const int port = std::atoi(civet_ports.c_str() + (colon == std::string::npos ? 0 : colon + 1));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return {};
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as civetweb does
  std::string why;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    why = std::strerror(e);
    if (e == EADDRINUSE) why += " (another process listens there: stop it or choose another port)";
    if (e == EACCES) why += " (ports below 1024 need privileges)";
    if (e == EADDRNOTAVAIL) why += " (no interface of this machine has that address)";
  }
  ::close(fd);
  return why;
}

// Opens and closes a TCP connection to host:port, ignoring every error.
void Knock(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  ::close(fd);
}

}  // namespace

HttpServer::~HttpServer() {
  // civetweb's master thread sees the stop flag only when its poll() returns: at a new
  // connection or after its 2 s quantum. Knocking on our own port while the server stops
  // makes shutdown take milliseconds instead of up to 2 s. (IPv4 addresses only; others
  // simply wait for the quantum.)
  const std::vector<int> ports = impl_->exposer->GetListeningPorts();
  std::string host = impl_->options.listen_address.substr(
      0, impl_->options.listen_address.rfind(':') == std::string::npos
             ? 0
             : impl_->options.listen_address.rfind(':'));
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  std::atomic<bool> stopped{false};
  std::thread knocker([&] {
    while (!stopped.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      for (int port : ports) Knock(host, port);
    }
  });
  impl_->exposer.reset();
  stopped.store(true);
  knocker.join();
  g_server.store(nullptr);
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(
    HttpOptions options, std::shared_ptr<prometheus::Collectable> metrics, HttpHandlers handlers) {
  if (options.web_config.has_tls) {
    return MakeError(
        "TLS is not supported by this build (tls_server_config in " + options.web_config.file +
        "): the civetweb library it uses cannot serve HTTPS with OpenSSL 3; terminate TLS in a "
        "proxy in front of the exporter, or remove tls_server_config");
  }
  if (options.telemetry_path.empty() || options.telemetry_path[0] != '/' ||
      options.telemetry_path == "/" || options.telemetry_path == "/-/healthy" ||
      options.telemetry_path == "/-/ready") {
    return MakeError("--web.telemetry-path \"" + options.telemetry_path +
                     "\" must be a path such as /metrics");
  }
  auto ports = ToCivetListeningPorts(options.listen_address);
  if (!ports) return tl::unexpected(ports.error());
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->handlers = std::move(handlers);
  impl->metrics = std::move(metrics);
  impl->auth = std::make_unique<BasicAuthChecker>(impl->options.web_config.basic_auth_users);
  impl->callbacks.begin_request = &BeginRequest;
  Impl* expected = nullptr;
  if (!g_server.compare_exchange_strong(expected, impl.get())) {
    return MakeError("an HTTP server is already running in this process");
  }
  try {
    impl->exposer = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", *ports, "num_threads",
                                 std::to_string(impl->options.threads), "enable_keep_alive", "no"},
        &impl->callbacks);
    impl->exposer->RegisterCollectable(impl->metrics, impl->options.telemetry_path);
  } catch (const std::exception& e) {
    g_server.store(nullptr);
    const std::string why = WhyCannotBind(*ports);
    return MakeError("cannot listen on " + impl->options.listen_address + ": " +
                     (why.empty() ? std::string(e.what()) : why));
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::vector<int> HttpServer::ListeningPorts() const { return impl_->exposer->GetListeningPorts(); }

}  // namespace modelwatch
