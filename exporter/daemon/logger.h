// The exporter daemon's log: logfmt (default) or JSON lines on stderr, filtered by level.
// Thread-safe.
#ifndef MODELWATCH_EXPORTER_DAEMON_LOGGER_H_
#define MODELWATCH_EXPORTER_DAEMON_LOGGER_H_

#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace modelwatch {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

class Logger {
 public:
  using Fields = std::vector<std::pair<std::string, std::string>>;

  void Configure(LogLevel level, bool json) {
    level_ = level;
    json_ = json;
  }

  void Log(LogLevel level, const std::string& msg, const Fields& fields = {}) {
    if (level < level_) return;
    static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
    char ts[40];
    std::timespec now{};
    std::timespec_get(&now, TIME_UTC);
    std::tm tm{};
    gmtime_r(&now.tv_sec, &tm);
    std::size_t n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(ts + n, sizeof ts - n, ".%03ldZ", now.tv_nsec / 1000000);
    std::string line;
    const char* name = kNames[static_cast<int>(level)];
    if (json_) {
      line = "{\"ts\":\"" + std::string(ts) + "\",\"level\":\"" + name +
             "\",\"msg\":" + JsonQuote(msg);
      for (const auto& [k, v] : fields) line += "," + JsonQuote(k) + ":" + JsonQuote(v);
      line += "}\n";
    } else {
      line = "ts=" + std::string(ts) + " level=" + name + " msg=" + LogfmtValue(msg);
      for (const auto& [k, v] : fields) line += " " + k + "=" + LogfmtValue(v);
      line += "\n";
    }
    std::lock_guard<std::mutex> lock(mu_);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }

 private:
  static std::string JsonQuote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += c;
      }
    }
    return out + "\"";
  }
  static std::string LogfmtValue(const std::string& s) {
    bool quote = s.empty() || s.find_first_of(" =\"\t\n") != std::string::npos;
    return quote ? JsonQuote(s) : s;
  }

  LogLevel level_ = LogLevel::kInfo;
  bool json_ = false;
  std::mutex mu_;
};

// The process-wide logger.
Logger& Log();

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_DAEMON_LOGGER_H_
