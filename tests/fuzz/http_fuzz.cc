// libFuzzer target: whatever bytes a client sends, the request-head parser and the
// Authorization header parser never crash, and a complete head honours its contract.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "exporter/http/http_request.h"
#include "exporter/http/web_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  modelwatch::HttpRequestHead head;
  if (modelwatch::ParseRequestHead(bytes, head) == modelwatch::HeadParse::kComplete) {
    if (head.head_bytes == 0 || head.head_bytes > size) std::abort();
    if (head.method.empty()) std::abort();
    for (const auto& [name, value] : head.headers) {
      for (char c : name) {
        if (std::isupper(static_cast<unsigned char>(c))) std::abort();
      }
    }
    (void)head.KeepAlive();
    (void)head.HasBody();
    std::string user, password;
    (void)modelwatch::ParseBasicAuthorization(head.Header("authorization"), user, password);
  }
  std::string user, password;
  (void)modelwatch::ParseBasicAuthorization(bytes, user, password);
  return 0;
}
