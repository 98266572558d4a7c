#include "exporter/http/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "exporter/http/http_request.h"
#include "exporter/metrics/family_merge.h"
#include "exporter/metrics/metric_family.h"

namespace modelwatch {
namespace {

using Clock = std::chrono::steady_clock;

// A request head longer than this is answered 431 and the connection closed.
constexpr std::size_t kMaxHeadBytes = 16 * 1024;
// File descriptors kept for everything but connections (logs, stores, the checkpoint).
constexpr rlim_t kOtherFiles = 256;
// How often deadlines are checked; a timeout fires up to this late.
constexpr auto kSweepEvery = std::chrono::milliseconds(100);
// At most this many connections are accepted per wake-up, so that a flood of connection
// attempts cannot starve the connections already open.
constexpr int kAcceptBatch = 256;
// epoll ids of the two non-connection descriptors; connections count from kFirstConnection.
constexpr std::uint64_t kListenId = 0;
constexpr std::uint64_t kWakeId = 1;
constexpr std::uint64_t kFirstConnection = 2;

// Why the server closed a connection before answering it in full (the label values of
// modelwatch_http_connections_refused_total).
enum class Refusal { kLimit, kEvicted, kHeaderTimeout, kWriteTimeout, kBadRequest, kCount };
constexpr std::array<const char*, static_cast<std::size_t>(Refusal::kCount)> kRefusalNames = {
    "limit", "evicted", "header_timeout", "write_timeout", "bad_request"};

enum class ConnState { kReading, kHandling, kWriting };

// An answer as written to the socket: the status line and headers, then the body. Kept apart
// so that a scrape's body (megabytes for a large fleet) is sent from the buffer it was
// written into, never copied behind its headers.
struct Output {
  std::string head;
  std::string body;
  std::size_t size() const { return head.size() + body.size(); }
};

struct Connection {
  int fd = -1;
  ConnState state = ConnState::kReading;
  std::string in;  // received and not consumed yet
  Output out;
  std::size_t out_done = 0;
  bool keep_alive = false;
  bool eof = false;        // the client shut down its side
  bool in_request = true;  // reading a request (header timeout) rather than idle between two
  Clock::time_point deadline;
  std::uint64_t wait_seq = 0;  // key in Impl::waiting while kReading
};

struct Job {
  std::uint64_t id;
  HttpRequestHead head;
};

struct Answer {
  int status = 200;
  const char* reason = "OK";
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string extra_headers;  // each ending in \r\n
  bool gzip = false;
};

// The answer's bytes; its body is moved, not copied.
Output Serialize(Answer a, bool head_only, bool keep_alive) {
  Output out;
  out.head = "HTTP/1.1 " + std::to_string(a.status) + " " + a.reason +
             "\r\nContent-Type: " + a.content_type +
             "\r\nContent-Length: " + std::to_string(a.body.size()) +
             "\r\nCache-Control: no-cache\r\n";
  if (a.gzip) out.head += "Content-Encoding: gzip\r\n";
  out.head += a.extra_headers;
  out.head += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!head_only) out.body = std::move(a.body);
  return out;
}

Answer Plain(int status, const char* reason, std::string body) {
  Answer a;
  a.status = status;
  a.reason = reason;
  a.body = std::move(body);
  return a;
}

// A handler thread's gzip compressor, kept from one scrape to the next (deflateReset instead
// of allocating the compressor's 300 KB of state for every scrape).
class GzipStream {
 public:
  GzipStream() {
    ok_ = deflateInit2(&zs_, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~GzipStream() {
    if (ok_) deflateEnd(&zs_);
  }
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  // Replaces `out` by the gzip (RFC 1952) of `in`; returns false (`out` unspecified) on
  // failure. Written a chunk at a time, so `out` is neither zero-filled nor sized for the
  // worst case first.
  bool Compress(std::string_view in, std::string& out) {
    if (!ok_ || deflateReset(&zs_) != Z_OK) return false;
    out.clear();
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    std::array<char, 64 * 1024> chunk;
    int rc = Z_OK;
    while (rc == Z_OK) {
      zs_.next_out = reinterpret_cast<Bytef*>(chunk.data());
      zs_.avail_out = static_cast<uInt>(chunk.size());
      rc = deflate(&zs_, Z_FINISH);
      out.append(chunk.data(), chunk.size() - zs_.avail_out);
    }
    return rc == Z_STREAM_END;
  }

 private:
  z_stream zs_{};
  bool ok_ = false;
};

// Large answer buffers handed back after they were written, so that the next scrape writes
// into memory the process already has: allocating a fresh multi-megabyte string per scrape
// costs a page fault per 4 KiB touched (and the kernel zeroing each page), which measured as
// much CPU as writing the text itself. At most kMaxSpare are kept.
class BufferPool {
 public:
  static constexpr std::size_t kMaxSpare = 2;
  static constexpr std::size_t kMinKept = 64 * 1024;  // smaller buffers are not worth keeping

  // An empty string, with the largest capacity kept if any.
  std::string Take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (spare_.empty()) return {};
    auto largest = std::max_element(spare_.begin(), spare_.end(), [](const auto& a, const auto& b) {
      return a.capacity() < b.capacity();
    });
    std::string out = std::move(*largest);
    spare_.erase(largest);
    out.clear();
    return out;
  }

  void Give(std::string buffer) {
    if (buffer.capacity() < kMinKept) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (spare_.size() < kMaxSpare) {
      spare_.push_back(std::move(buffer));
      return;
    }
    // Full: keep the larger ones.
    auto smallest =
        std::min_element(spare_.begin(), spare_.end(),
                         [](const auto& a, const auto& b) { return a.capacity() < b.capacity(); });
    if (smallest->capacity() < buffer.capacity()) *smallest = std::move(buffer);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> spare_;
};

// True when an Accept-Encoding value accepts gzip: `gzip` or `*` listed without `q=0`.
bool AcceptsGzip(std::string_view value) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string item(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    item.erase(
        std::remove_if(item.begin(), item.end(), [](char c) { return c == ' ' || c == '\t'; }),
        item.end());
    for (char& c : item) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto semicolon = item.find(';');
    const std::string coding = item.substr(0, semicolon);
    if (coding != "gzip" && coding != "*") continue;
    double q = 1;
    const auto qpos = item.find(";q=");
    if (qpos != std::string::npos) q = std::strtod(item.c_str() + qpos + 3, nullptr);
    if (q > 0) return true;
  }
  return false;
}

std::string BindError(int e) {
  std::string why = std::strerror(e);
  if (e == EADDRINUSE) why += " (another process listens there: stop it or choose another port)";
  if (e == EACCES) why += " (ports below 1024 need privileges)";
  if (e == EADDRNOTAVAIL) why += " (no interface of this machine has that address)";
  return why;
}

// This server speaks plain HTTP only: a web config asking for TLS is refused, at start and
// at a reload alike.
Result<void> RefuseTls(const WebConfig& config) {
  if (!config.has_tls) return {};
  return MakeError("TLS is not supported by this build (tls_server_config in " + config.file +
                       "): terminate TLS in a proxy in front of the exporter, or remove "
                       "tls_server_config",
                   {config.file});
}

}  // namespace

struct HttpServer::Impl {
  HttpOptions options;
  HttpHandlers handlers;
  std::shared_ptr<MergingCollector> metrics;
  // Replaced as a whole by ReloadWebConfig(); a handler checks a request against the copy it
  // took under auth_mu.
  std::mutex auth_mu;
  std::shared_ptr<BasicAuthChecker> auth;

  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  int spare_fd = -1;  // closed to accept (and close) a connection when out of descriptors
  int port = 0;
  std::atomic<bool> stop{false};
  std::thread io_thread;
  std::vector<std::thread> handler_threads;

  std::mutex jobs_mu;
  std::condition_variable jobs_cv;
  std::deque<Job> jobs;
  std::mutex answers_mu;
  std::vector<std::pair<std::uint64_t, std::pair<Output, bool>>> answers;  // id, bytes, keep
  BufferPool buffers;  // scrape bodies, back from the I/O thread once written

  // I/O thread only.
  std::unordered_map<std::uint64_t, Connection> conns;
  std::map<std::uint64_t, std::uint64_t> waiting;  // wait_seq -> id: oldest waiting first
  std::uint64_t next_id = kFirstConnection;
  std::uint64_t next_seq = 0;

  // Read by scrapes.
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> open{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Refusal::kCount)> refused{};
  std::mutex codes_mu;
  std::map<int, std::uint64_t> requests_by_code;

  ~Impl() {
    for (int fd : {listen_fd, epoll_fd, wake_fd, spare_fd}) {
      if (fd >= 0) ::close(fd);
    }
  }

  void Wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }
  void Count(Refusal r) { refused[static_cast<std::size_t>(r)].fetch_add(1); }

  // ---- I/O thread ----
  void IoLoop();
  void AcceptSome(Clock::time_point now);
  void OnReadable(std::uint64_t id, Connection& c, Clock::time_point now);
  void TryDispatch(std::uint64_t id, Connection& c, Clock::time_point now);
  void StartWrite(std::uint64_t id, Connection& c, Output bytes, bool keep_alive,
                  Clock::time_point now);
  void OnWritable(std::uint64_t id, Connection& c, Clock::time_point now);
  void WaitForRequest(std::uint64_t id, Connection& c, Clock::time_point now);
  void Close(std::uint64_t id);
  void Sweep(Clock::time_point now);
  void Watch(std::uint64_t id, int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = id;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev);
  }

  // ---- handler threads ----
  void HandlerLoop();
  Answer Handle(const HttpRequestHead& head, GzipStream& gzip);
  void AppendSelfMetrics(std::vector<prometheus::MetricFamily>& out);
};

void HttpServer::Impl::IoLoop() {
  std::array<epoll_event, 256> events;
  Clock::time_point last_sweep = Clock::now();
  while (!stop.load()) {
    const int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()),
                               static_cast<int>(kSweepEvery.count()));
    const Clock::time_point now = Clock::now();
    for (int i = 0; i < n; ++i) {
      const std::uint64_t id = events[i].data.u64;
      if (id == kListenId) {
        AcceptSome(now);
        continue;
      }
      if (id == kWakeId) {
        std::uint64_t count;
        [[maybe_unused]] auto r = ::read(wake_fd, &count, sizeof count);
        decltype(answers) ready;
        {
          std::lock_guard<std::mutex> lock(answers_mu);
          ready.swap(answers);
        }
        for (auto& [conn_id, answer] : ready) {
          auto it = conns.find(conn_id);
          if (it == conns.end()) continue;
          StartWrite(conn_id, it->second, std::move(answer.first), answer.second, now);
        }
        continue;
      }
      auto it = conns.find(id);
      if (it == conns.end()) continue;
      Connection& c = it->second;
      if (c.state == ConnState::kReading) {
        OnReadable(id, c, now);
      } else if (c.state == ConnState::kWriting) {
        OnWritable(id, c, now);
      }
    }
    if (now - last_sweep >= kSweepEvery) {
      Sweep(now);
      last_sweep = now;
    }
  }
  while (!conns.empty()) Close(conns.begin()->first);
}

void HttpServer::Impl::AcceptSome(Clock::time_point now) {
  for (int i = 0; i < kAcceptBatch; ++i) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: take the connection off the queue and close it, or the
        // listening socket stays readable and this loop spins.
        ::close(spare_fd);
        const int victim = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (victim >= 0) {
          ::close(victim);
          Count(Refusal::kLimit);
        }
        spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        continue;
      }
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN: the queue is empty
    }
    accepted.fetch_add(1);
    if (conns.size() >= static_cast<std::size_t>(options.max_connections)) {
      if (waiting.empty()) {
        ::close(fd);
        Count(Refusal::kLimit);
        continue;
      }
      Close(waiting.begin()->second);
      Count(Refusal::kEvicted);
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const std::uint64_t id = next_id++;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = id;
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      continue;
    }
    Connection& c = conns[id];
    c.fd = fd;
    c.in_request = true;
    c.deadline = now + options.read_header_timeout;
    c.wait_seq = next_seq++;
    waiting.emplace(c.wait_seq, id);
    open.store(conns.size());
  }
}

void HttpServer::Impl::OnReadable(std::uint64_t id, Connection& c, Clock::time_point now) {
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      if (c.in.empty() && !c.in_request) {
        // The first byte of the next request on a kept-alive connection: from now on its
        // head must arrive within the header timeout.
        c.in_request = true;
        c.deadline = now + options.read_header_timeout;
      }
      c.in.append(buf, static_cast<std::size_t>(n));
      if (c.in.size() > kMaxHeadBytes) break;
      continue;
    }
    if (n == 0) {
      c.eof = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    Close(id);
    return;
  }
  TryDispatch(id, c, now);
}

void HttpServer::Impl::TryDispatch(std::uint64_t id, Connection& c, Clock::time_point now) {
  HttpRequestHead head;
  const HeadParse parsed = ParseRequestHead(c.in, head);
  if (parsed == HeadParse::kIncomplete && c.in.size() <= kMaxHeadBytes) {
    if (c.eof) Close(id);  // the client left before finishing its request
    return;
  }
  if (parsed != HeadParse::kComplete || head.head_bytes > kMaxHeadBytes) {
    Count(Refusal::kBadRequest);
    const bool too_long = parsed != HeadParse::kBad;
    {
      std::lock_guard<std::mutex> lock(codes_mu);
      ++requests_by_code[too_long ? 431 : 400];
    }
    Answer a = too_long ? Plain(431, "Request Header Fields Too Large", "Request head too long\n")
                        : Plain(400, "Bad Request", "Bad request\n");
    waiting.erase(c.wait_seq);
    c.in.clear();
    StartWrite(id, c, Serialize(std::move(a), false, false), false, now);
    return;
  }
  c.in.erase(0, head.head_bytes);
  c.keep_alive = head.KeepAlive() && !c.eof;
  c.state = ConnState::kHandling;
  waiting.erase(c.wait_seq);
  Watch(id, c.fd, 0);  // nothing to read or write until the answer is ready
  {
    std::lock_guard<std::mutex> lock(jobs_mu);
    jobs.push_back(Job{id, std::move(head)});
  }
  jobs_cv.notify_one();
}

void HttpServer::Impl::StartWrite(std::uint64_t id, Connection& c, Output bytes, bool keep_alive,
                                  Clock::time_point now) {
  c.state = ConnState::kWriting;
  c.out = std::move(bytes);
  c.out_done = 0;
  c.keep_alive = keep_alive && c.keep_alive;
  c.deadline = now + options.write_timeout;
  OnWritable(id, c, now);
}

void HttpServer::Impl::OnWritable(std::uint64_t id, Connection& c, Clock::time_point now) {
  while (c.out_done < c.out.size()) {
    // What is left of the head and of the body, in one call.
    std::array<iovec, 2> iov{};
    std::size_t parts = 0;
    std::size_t done = c.out_done;
    for (std::string* part : {&c.out.head, &c.out.body}) {
      if (done >= part->size()) {
        done -= part->size();
        continue;
      }
      iov[parts].iov_base = part->data() + done;
      iov[parts].iov_len = part->size() - done;
      ++parts;
      done = 0;
    }
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = parts;
    const ssize_t n = ::sendmsg(c.fd, &msg, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      Watch(id, c.fd, EPOLLOUT);
      return;
    }
    Close(id);
    return;
  }
  if (!c.keep_alive) {
    ::shutdown(c.fd, SHUT_WR);
    Close(id);
    return;
  }
  WaitForRequest(id, c, now);
}

void HttpServer::Impl::WaitForRequest(std::uint64_t id, Connection& c, Clock::time_point now) {
  c.state = ConnState::kReading;
  buffers.Give(std::move(c.out.body));
  c.out = Output{};
  c.out_done = 0;
  c.in_request = !c.in.empty();
  c.deadline = now + (c.in_request ? options.read_header_timeout : options.idle_timeout);
  c.wait_seq = next_seq++;
  waiting.emplace(c.wait_seq, id);
  Watch(id, c.fd, EPOLLIN | EPOLLRDHUP);
  if (c.in_request) TryDispatch(id, c, now);  // a pipelined request
}

void HttpServer::Impl::Close(std::uint64_t id) {
  auto it = conns.find(id);
  if (it == conns.end()) return;
  if (it->second.state == ConnState::kReading) waiting.erase(it->second.wait_seq);
  ::close(it->second.fd);  // also removes it from the epoll set
  buffers.Give(std::move(it->second.out.body));
  conns.erase(it);
  open.store(conns.size());
}

void HttpServer::Impl::Sweep(Clock::time_point now) {
  std::vector<std::pair<std::uint64_t, Refusal>> expired;
  for (const auto& [id, c] : conns) {
    if (c.state == ConnState::kHandling || now < c.deadline) continue;
    if (c.state == ConnState::kWriting) {
      expired.emplace_back(id, Refusal::kWriteTimeout);
    } else if (c.in_request) {
      expired.emplace_back(id, Refusal::kHeaderTimeout);
    } else {
      expired.emplace_back(id, Refusal::kCount);  // idle keep-alive: an ordinary end
    }
  }
  for (const auto& [id, why] : expired) {
    if (why != Refusal::kCount) Count(why);
    Close(id);
  }
}

void HttpServer::Impl::HandlerLoop() {
  GzipStream gzip;
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(jobs_mu);
      jobs_cv.wait(lock, [this] { return stop.load() || !jobs.empty(); });
      if (stop.load()) return;
      job = std::move(jobs.front());
      jobs.pop_front();
    }
    Answer a;
    try {
      a = Handle(job.head, gzip);
    } catch (const std::exception& e) {
      a = Plain(500, "Internal Server Error", std::string("Internal error: ") + e.what() + "\n");
    }
    {
      std::lock_guard<std::mutex> lock(codes_mu);
      ++requests_by_code[a.status];
    }
    const bool keep_alive = job.head.KeepAlive();
    Output bytes = Serialize(std::move(a), job.head.method == "HEAD", keep_alive);
    {
      std::lock_guard<std::mutex> lock(answers_mu);
      answers.emplace_back(job.id, std::make_pair(std::move(bytes), keep_alive));
    }
    Wake();
  }
}

Answer HttpServer::Impl::Handle(const HttpRequestHead& head, GzipStream& gzip) {
  std::shared_ptr<BasicAuthChecker> checker;
  {
    std::lock_guard<std::mutex> lock(auth_mu);
    checker = auth;
  }
  if (checker && checker->enabled()) {
    std::string user, password;
    const std::string header(head.Header("authorization"));
    if (header.empty() || !ParseBasicAuthorization(header, user, password) ||
        !checker->Check(user, password)) {
      Answer a = Plain(401, "Unauthorized", "Unauthorized\n");
      a.extra_headers = "WWW-Authenticate: Basic realm=\"modelwatch\"\r\n";
      return a;
    }
  }
  if (head.method != "GET" && head.method != "HEAD") {
    Answer a = Plain(405, "Method Not Allowed", "Method not allowed\n");
    a.extra_headers = "Allow: GET, HEAD\r\n";
    return a;
  }
  const std::string& path = head.path;
  if (path == options.telemetry_path) {
    std::vector<prometheus::MetricFamily> self;
    AppendSelfMetrics(self);
    Answer a = Plain(200, "OK", buffers.Take());
    metrics->Write(a.body, std::move(self));
    a.content_type = "text/plain; version=0.0.4; charset=utf-8";
    if (AcceptsGzip(head.Header("accept-encoding"))) {
      std::string zipped = buffers.Take();
      if (gzip.Compress(a.body, zipped)) {
        std::swap(a.body, zipped);
        a.gzip = true;
      }
      buffers.Give(std::move(zipped));
    }
    return a;
  }
  if (path == "/-/healthy") return Plain(200, "OK", "Healthy\n");
  if (path == "/-/ready") {
    if (handlers.ready && handlers.ready()) return Plain(200, "OK", "Ready\n");
    return Plain(503, "Service Unavailable", "Not ready\n");
  }
  constexpr std::string_view kSamples = "/api/v1/samples/";
  if (handlers.sample && path.size() > kSamples.size() &&
      std::string_view(path).substr(0, kSamples.size()) == kSamples) {
    std::optional<std::string> json = handlers.sample(path.substr(kSamples.size()));
    if (!json) return Plain(404, "Not Found", "No such model, or its sample is off\n");
    Answer a = Plain(200, "OK", std::move(*json));
    a.content_type = "application/json";
    return a;
  }
  if (path == "/" && handlers.landing_page) {
    Answer a = Plain(200, "OK", handlers.landing_page());
    a.content_type = "text/html; charset=utf-8";
    return a;
  }
  return Plain(404, "Not Found", "Not found\n");
}

void HttpServer::Impl::AppendSelfMetrics(std::vector<prometheus::MetricFamily>& out) {
  using prometheus::MetricType;
  auto family = [&out](const MetricSpec& spec) -> auto& {
    out.push_back(MakeFamily(spec));
    return out.back();
  };
  auto sample = [](prometheus::MetricFamily& f, std::vector<prometheus::ClientMetric::Label> l,
                   double v) {
    prometheus::ClientMetric m;
    m.label = std::move(l);
    if (f.type == MetricType::Counter) {
      m.counter.value = v;
    } else {
      m.gauge.value = v;
    }
    f.metric.push_back(std::move(m));
  };
  out.reserve(out.size() + 5);
  sample(family(metric::kModelwatchHttpConnectionsOpen), {}, static_cast<double>(open.load()));
  sample(family(metric::kModelwatchHttpConnectionsMax), {}, options.max_connections);
  sample(family(metric::kModelwatchHttpConnectionsAcceptedTotal), {},
         static_cast<double>(accepted.load()));
  auto& refusals = family(metric::kModelwatchHttpConnectionsRefusedTotal);
  for (std::size_t r = 0; r < kRefusalNames.size(); ++r) {
    sample(refusals, {{"reason", kRefusalNames[r]}}, static_cast<double>(refused[r].load()));
  }
  auto& requests = family(metric::kModelwatchHttpRequestsTotal);
  std::lock_guard<std::mutex> lock(codes_mu);
  for (const auto& [code, n] : requests_by_code) {
    sample(requests, {{"code", std::to_string(code)}}, static_cast<double>(n));
  }
}

Result<std::pair<std::string, int>> ParseListenAddress(const std::string& listen_address) {
  auto colon = listen_address.rfind(':');
  if (colon == std::string::npos) {
    return MakeError("--web.listen-address \"" + listen_address + "\" must be [host]:port");
  }
  std::string host = listen_address.substr(0, colon);
  std::string port = listen_address.substr(colon + 1);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
      port.size() > 5 || std::stoi(port) > 65535) {
    return MakeError("--web.listen-address \"" + listen_address + "\": bad port");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return MakeError("--web.listen-address \"" + listen_address +
                     "\": IPv6 addresses are not supported");
  }
  if (host == "0.0.0.0") host.clear();
  return std::make_pair(host, std::stoi(port));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  {
    // Under the lock: a handler between its predicate check and its wait would otherwise miss
    // the notification and sleep forever (seen once in CI as a 900 s hang at shutdown).
    std::lock_guard<std::mutex> lock(impl_->jobs_mu);
    impl_->stop.store(true);
  }
  impl_->jobs_cv.notify_all();
  impl_->Wake();
  if (impl_->io_thread.joinable()) impl_->io_thread.join();
  for (auto& t : impl_->handler_threads) t.join();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpOptions options,
                                                      std::shared_ptr<MergingCollector> metrics,
                                                      HttpHandlers handlers) {
  if (auto plain = RefuseTls(options.web_config); !plain) return tl::unexpected(plain.error());
  if (options.telemetry_path.empty() || options.telemetry_path[0] != '/' ||
      options.telemetry_path == "/" || options.telemetry_path == "/-/healthy" ||
      options.telemetry_path == "/-/ready") {
    return MakeError("--web.telemetry-path \"" + options.telemetry_path +
                     "\" must be a path such as /metrics");
  }
  if (options.max_connections < 1 || options.handler_threads < 1 || options.handler_threads > 64) {
    return MakeError(
        "--web.max-connections must be at least 1 and --web.handler-threads "
        "between 1 and 64");
  }
  auto address = ParseListenAddress(options.listen_address);
  if (!address) return tl::unexpected(address.error());

  // Every open connection is a descriptor: make sure the process may hold them all.
  rlimit limit{};
  const rlim_t needed = static_cast<rlim_t>(options.max_connections) + kOtherFiles;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < needed) {
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) {
      return MakeError("--web.max-connections=" + std::to_string(options.max_connections) +
                       " needs " + std::to_string(needed) +
                       " open files, but the process may open at most " +
                       std::to_string(limit.rlim_max) +
                       " (raise LimitNOFILE / ulimit -n, or lower --web.max-connections)");
    }
    limit.rlim_cur = needed;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(address->second));
  const std::string& host = address->first;
  if (host.empty()) {
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
  } else if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
      return MakeError("cannot listen on " + options.listen_address + ": unknown host \"" + host +
                       "\"");
    }
    addr.sin_addr = reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr;
    ::freeaddrinfo(found);
  }

  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->handlers = std::move(handlers);
  impl->metrics = std::move(metrics);
  impl->auth = std::make_shared<BasicAuthChecker>(impl->options.web_config.basic_auth_users);
  const auto fail = [&](const std::string& what) {
    return MakeError("cannot listen on " + impl->options.listen_address + ": " + what);
  };
  impl->listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (impl->listen_fd < 0) return fail(std::strerror(errno));
  const int one = 1;
  ::setsockopt(impl->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(impl->listen_fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return fail(BindError(errno));
  }
  if (::listen(impl->listen_fd, SOMAXCONN) != 0) return fail(std::strerror(errno));
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ::getsockname(impl->listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
  impl->port = ntohs(bound.sin_port);
  impl->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  impl->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  impl->spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (impl->epoll_fd < 0 || impl->wake_fd < 0) return fail(std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenId;
  ::epoll_ctl(impl->epoll_fd, EPOLL_CTL_ADD, impl->listen_fd, &ev);
  ev.data.u64 = kWakeId;
  ::epoll_ctl(impl->epoll_fd, EPOLL_CTL_ADD, impl->wake_fd, &ev);

  Impl* raw = impl.get();
  raw->io_thread = std::thread([raw] { raw->IoLoop(); });
  for (int i = 0; i < raw->options.handler_threads; ++i) {
    raw->handler_threads.emplace_back([raw] { raw->HandlerLoop(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::vector<int> HttpServer::ListeningPorts() const { return {impl_->port}; }

Result<void> HttpServer::ReloadWebConfig(const WebConfig& config) {
  if (auto plain = RefuseTls(config); !plain) return plain;
  auto checker = std::make_shared<BasicAuthChecker>(config.basic_auth_users);
  std::lock_guard<std::mutex> lock(impl_->auth_mu);
  if (impl_->auth->enabled() && !checker->enabled()) {
    // A file emptied or truncated at the wrong moment must not open every endpoint.
    return MakeError(
        "the web config names no basic_auth_users: switching authentication off needs a "
        "restart",
        {config.file});
  }
  impl_->auth = std::move(checker);
  return {};
}

}  // namespace modelwatch
