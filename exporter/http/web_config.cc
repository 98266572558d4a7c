#include "exporter/http/web_config.h"

#include <crypt.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

namespace modelwatch {

namespace {

SourceLocation At(const std::string& file, const YAML::Node& node) {
  YAML::Mark m = node.Mark();
  if (m.line < 0) return {file, 0, 0};
  return {file, m.line + 1, m.column + 1};
}

bool IsBcrypt(const std::string& hash) {
  return hash.size() == 60 &&
         (hash.rfind("$2a$", 0) == 0 || hash.rfind("$2b$", 0) == 0 || hash.rfind("$2y$", 0) == 0);
}

Result<std::string> ScalarString(const std::string& file, const YAML::Node& node,
                                 const std::string& key) {
  if (!node.IsScalar()) return MakeError(key + " must be a string", At(file, node));
  return node.as<std::string>();
}

}  // namespace

Result<WebConfig> ParseWebConfig(std::string_view yaml_text, const std::string& file) {
  WebConfig config;
  config.file = file;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::ParserException& e) {
    return MakeError(e.msg, {file, e.mark.line + 1, e.mark.column + 1});
  }
  if (!root || root.IsNull()) return config;
  if (!root.IsMap()) return MakeError("web config must be a mapping", At(file, root));
  try {
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      const YAML::Node& value = kv.second;
      if (key == "basic_auth_users") {
        if (value.IsNull()) continue;
        if (!value.IsMap()) return MakeError("basic_auth_users must be a mapping", At(file, value));
        for (const auto& user : value) {
          auto hash =
              ScalarString(file, user.second, "basic_auth_users." + user.first.as<std::string>());
          if (!hash) return tl::unexpected(hash.error());
          if (!IsBcrypt(*hash)) {
            return MakeError("password of user \"" + user.first.as<std::string>() +
                                 "\" must be a bcrypt hash ($2y$...)",
                             At(file, user.second));
          }
          config.basic_auth_users[user.first.as<std::string>()] = *hash;
        }
      } else if (key == "tls_server_config") {
        if (value.IsNull()) continue;
        if (!value.IsMap())
          return MakeError("tls_server_config must be a mapping", At(file, value));
        config.has_tls = true;
        for (const auto& t : value) {
          const std::string tkey = t.first.as<std::string>();
          std::string* target = nullptr;
          if (tkey == "cert_file") target = &config.tls.cert_file;
          if (tkey == "key_file") target = &config.tls.key_file;
          if (tkey == "client_ca_file") target = &config.tls.client_ca_file;
          if (tkey == "client_auth_type") target = &config.tls.client_auth_type;
          if (tkey == "min_version") target = &config.tls.min_version;
          if (tkey == "max_version" || tkey == "cipher_suites" ||
              tkey == "prefer_server_cipher_suites" || tkey == "curve_preferences" ||
              tkey == "client_allowed_sans" || tkey == "cert" || tkey == "key") {
            continue;
          }
          if (target == nullptr) {
            return MakeError("unknown key \"" + tkey + "\" in tls_server_config",
                             At(file, t.first));
          }
          auto s = ScalarString(file, t.second, tkey);
          if (!s) return tl::unexpected(s.error());
          *target = *s;
        }
      } else if (key == "http_server_config") {
        continue;  // headers and http2 settings: nothing to apply with this server
      } else {
        return MakeError("unknown key \"" + key +
                             "\" (expected basic_auth_users, "
                             "tls_server_config or http_server_config)",
                         At(file, kv.first));
      }
    }
  } catch (const YAML::Exception& e) {
    return MakeError(e.msg, {file, e.mark.line + 1, e.mark.column + 1});
  }
  return config;
}

Result<WebConfig> LoadWebConfig(const std::string& path) {
  // Read errors must be told from an empty file (which means "no users"): a directory, for
  // one, opens but cannot be read.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!in) {
    return MakeError("cannot read web config: " + std::string(std::strerror(errno)), {path, 0, 0});
  }
  std::string text;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, in.get())) > 0) text.append(buffer, n);
  if (std::ferror(in.get())) {
    return MakeError("cannot read web config: " + std::string(std::strerror(errno)), {path, 0, 0});
  }
  return ParseWebConfig(text, path);
}

BasicAuthChecker::BasicAuthChecker(std::map<std::string, std::string> users)
    : users_(std::move(users)) {}

bool BasicAuthChecker::Check(const std::string& user, const std::string& password) {
  auto it = users_.find(user);
  if (it == users_.end()) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto v = verified_.find(user);
    if (v != verified_.end() && v->second.size() == password.size()) {
      unsigned char diff = 0;
      for (std::size_t i = 0; i < password.size(); ++i) {
        diff |= static_cast<unsigned char>(v->second[i] ^ password[i]);
      }
      if (diff == 0) return true;
    }
  }
  // crypt_r() reads a C string: a password with a NUL byte would be checked only up to it.
  if (password.find('\0') != std::string::npos) return false;
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* out = crypt_r(password.c_str(), it->second.c_str(), data.get());
  if (out == nullptr || it->second != out) return false;
  std::lock_guard<std::mutex> lock(mu_);
  verified_[user] = password;
  return true;
}

bool ParseBasicAuthorization(std::string_view header, std::string& user, std::string& password) {
  constexpr std::string_view kPrefix = "Basic ";
  if (header.size() < kPrefix.size()) return false;
  for (std::size_t i = 0; i < kPrefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) !=
        std::tolower(static_cast<unsigned char>(kPrefix[i]))) {
      return false;
    }
  }
  std::string_view b64 = header.substr(kPrefix.size());
  while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
  while (!b64.empty() && (b64.back() == ' ' || b64.back() == '=')) b64.remove_suffix(1);
  std::string decoded;
  unsigned int acc = 0;
  int bits = 0;
  for (char c : b64) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else {
      return false;
    }
    acc = (acc << 6) | static_cast<unsigned int>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      decoded.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  auto colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  user = decoded.substr(0, colon);
  password = decoded.substr(colon + 1);
  return true;
}

}  // namespace modelwatch
