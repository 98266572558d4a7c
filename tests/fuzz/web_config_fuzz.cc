// libFuzzer target: any --web.config.file content gives a WebConfig or a located error,
// never a crash or an exception (ParseWebConfig promises not to throw).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "exporter/http/web_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = modelwatch::ParseWebConfig(text, "web.yml");
  if (config) {
    for (const auto& [user, hash] : config->basic_auth_users) {
      if (hash.rfind("$2", 0) != 0) std::abort();  // only bcrypt hashes are accepted
    }
  } else if (config.error().ToString().find("web.yml") == std::string::npos) {
    std::abort();  // every error names the file
  }
  return 0;
}
