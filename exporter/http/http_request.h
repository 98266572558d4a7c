// The head of an HTTP/1.x request (request line and headers), parsed from the bytes a
// connection has received. Pure: no I/O, no allocation beyond the result.
#ifndef MODELWATCH_EXPORTER_HTTP_HTTP_REQUEST_H_
#define MODELWATCH_EXPORTER_HTTP_HTTP_REQUEST_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelwatch {

struct HttpRequestHead {
  std::string method;                                        // as sent: "GET", "HEAD", ...
  std::string path;                                          // the target without its query string
  int minor_version = 1;                                     // HTTP/1.<minor_version>
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  std::size_t head_bytes = 0;  // bytes of the head, the blank line included

  // The first header of that (lower-case) name; empty when absent.
  std::string_view Header(std::string_view lower_name) const;
  // Whether the connection may carry another request after this one's answer: HTTP/1.1
  // unless `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`, and never for a
  // request with a body (bodies are not read).
  bool KeepAlive() const;
  bool HasBody() const;
};

enum class HeadParse {
  kIncomplete,  // no blank line yet: read more
  kComplete,    // `out` holds the head
  kBad,         // not an HTTP/1.x request head
};

// Parses the head at the start of `data` (CRLF or bare LF line ends).
HeadParse ParseRequestHead(std::string_view data, HttpRequestHead& out);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_HTTP_HTTP_REQUEST_H_
