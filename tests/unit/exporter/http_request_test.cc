#include "exporter/http/http_request.h"

#include <gtest/gtest.h>

#include <string>

namespace modelwatch {
namespace {

TEST(HttpRequestHeadTest, ParsesAHeadAndStopsAtItsEnd) {
  const std::string data =
      "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept-Encoding:  gzip \r\n"
      "AUTHORIZATION: Basic YTpi\r\n\r\nGET /next";
  HttpRequestHead head;
  ASSERT_EQ(ParseRequestHead(data, head), HeadParse::kComplete);
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.path, "/metrics");
  EXPECT_EQ(head.minor_version, 1);
  EXPECT_EQ(head.Header("accept-encoding"), "gzip");
  EXPECT_EQ(head.Header("authorization"), "Basic YTpi");
  EXPECT_EQ(head.Header("missing"), "");
  EXPECT_EQ(data.substr(head.head_bytes), "GET /next");
  EXPECT_TRUE(head.KeepAlive());
}

TEST(HttpRequestHeadTest, BareLineFeedsAndLeadingEmptyLines) {
  HttpRequestHead head;
  ASSERT_EQ(ParseRequestHead("\r\nGET / HTTP/1.0\nConnection: Keep-Alive\n\n", head),
            HeadParse::kComplete);
  EXPECT_EQ(head.path, "/");
  EXPECT_EQ(head.minor_version, 0);
  EXPECT_TRUE(head.KeepAlive());
  ASSERT_EQ(ParseRequestHead("GET / HTTP/1.0\r\n\r\n", head), HeadParse::kComplete);
  EXPECT_FALSE(head.KeepAlive());
}

TEST(HttpRequestHeadTest, KeepAliveUnlessCloseOrABody) {
  HttpRequestHead head;
  ASSERT_EQ(ParseRequestHead("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", head),
            HeadParse::kComplete);
  EXPECT_FALSE(head.KeepAlive());
  ASSERT_EQ(ParseRequestHead("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", head),
            HeadParse::kComplete);
  EXPECT_TRUE(head.HasBody());
  EXPECT_FALSE(head.KeepAlive());  // the body is never read: the connection cannot continue
  ASSERT_EQ(ParseRequestHead("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", head),
            HeadParse::kComplete);
  EXPECT_FALSE(head.HasBody());
  ASSERT_EQ(ParseRequestHead("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", head),
            HeadParse::kComplete);
  EXPECT_FALSE(head.KeepAlive());
}

TEST(HttpRequestHeadTest, IncompleteUntilTheBlankLine) {
  HttpRequestHead head;
  EXPECT_EQ(ParseRequestHead("", head), HeadParse::kIncomplete);
  EXPECT_EQ(ParseRequestHead("GET /metr", head), HeadParse::kIncomplete);
  EXPECT_EQ(ParseRequestHead("GE", head), HeadParse::kIncomplete);
  EXPECT_EQ(ParseRequestHead("GET / HTTP/1.1\r\nHost: a\r\n", head), HeadParse::kIncomplete);
}

TEST(HttpRequestHeadTest, BadHeadsAreBadAsSoonAsVisible) {
  HttpRequestHead head;
  // A TLS ClientHello sent to the plain-HTTP port: bad from its first bytes.
  EXPECT_EQ(ParseRequestHead(std::string("\x16\x03\x01\x02\x00", 5), head), HeadParse::kBad);
  EXPECT_EQ(ParseRequestHead("G(T /", head), HeadParse::kBad);
  EXPECT_EQ(ParseRequestHead("garbage\r\n\r\n", head), HeadParse::kBad);
  EXPECT_EQ(ParseRequestHead("GET / HTTP/2.0\r\n\r\n", head), HeadParse::kBad);
  EXPECT_EQ(ParseRequestHead("GET  HTTP/1.1\r\n\r\n", head), HeadParse::kBad);
  EXPECT_EQ(ParseRequestHead("GET / HTTP/1.1\r\nno colon\r\n\r\n", head), HeadParse::kBad);
  EXPECT_EQ(ParseRequestHead("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", head), HeadParse::kBad);
}

}  // namespace
}  // namespace modelwatch
