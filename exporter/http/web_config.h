// The --web.config.file of the Prometheus exporter-toolkit: basic-auth users with bcrypt
// hashes, and TLS settings.
#ifndef MODELWATCH_EXPORTER_HTTP_WEB_CONFIG_H_
#define MODELWATCH_EXPORTER_HTTP_WEB_CONFIG_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/error.h"

namespace modelwatch {

struct TlsServerConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  std::string client_auth_type;
  std::string min_version;
};

struct WebConfig {
  std::string file;
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
  bool has_tls = false;
  TlsServerConfig tls;
};

// Parses the web config YAML text. Unknown keys, wrong types and hashes that are not bcrypt
// (`$2a$`, `$2b$`, `$2y$`) are errors located as `file:line:col`. Never throws.
Result<WebConfig> ParseWebConfig(std::string_view yaml_text, const std::string& file);
Result<WebConfig> LoadWebConfig(const std::string& path);

// Checks user/password pairs against bcrypt hashes (libcrypt crypt_r). A verified pair is
// cached, so only the first request of a client pays bcrypt's cost (~60 ms at cost 10).
// Thread-safe.
class BasicAuthChecker {
 public:
  explicit BasicAuthChecker(std::map<std::string, std::string> users);
  bool enabled() const { return !users_.empty(); }
  bool Check(const std::string& user, const std::string& password);

 private:
  std::map<std::string, std::string> users_;
  std::mutex mu_;
  std::map<std::string, std::string> verified_;  // user -> the password that matched
};

// Decodes an `Authorization: Basic <base64>` header value into user and password.
// Returns false for anything else.
bool ParseBasicAuthorization(std::string_view header, std::string& user, std::string& password);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_HTTP_WEB_CONFIG_H_
