#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "exporter/http/http_server.h"
#include "exporter/http/web_config.h"
#include "exporter/metrics/family_merge.h"

namespace modelwatch {
namespace {

// bcrypt (cost 4) of "s3cret".
constexpr const char* kHash = "$2b$04$cIUmP7W7Pq4s4TMRtyI.LOxVooL2O1xz8089bClMC/JRdUEH3.uba";

TEST(WebConfigTest, ParsesBasicAuthUsers) {
  auto c = ParseWebConfig(std::string("basic_auth_users:\n  alice: ") + kHash + "\n", "web.yml");
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_FALSE(c->has_tls);
  ASSERT_EQ(c->basic_auth_users.size(), 1u);
  EXPECT_EQ(c->basic_auth_users.at("alice"), kHash);
  EXPECT_TRUE(ParseWebConfig("", "web.yml").has_value());
}

TEST(WebConfigTest, ErrorsAreLocated) {
  auto c = ParseWebConfig("basic_auth_users:\n  alice: plain\n", "web.yml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().ToString(),
            "web.yml:2:10: error: password of user \"alice\" must be a bcrypt hash ($2y$...)");
  c = ParseWebConfig("basic_auth_user: {}\n", "web.yml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().location.line, 1);
  EXPECT_EQ(c.error().location.column, 1);
  EXPECT_NE(c.error().message.find("unknown key \"basic_auth_user\""), std::string::npos);
  c = ParseWebConfig("a: [", "web.yml");
  ASSERT_FALSE(c.has_value());
  EXPECT_GT(c.error().location.line, 0);
}

TEST(WebConfigTest, RecognisesTls) {
  auto c = ParseWebConfig("tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n", "w.yml");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->has_tls);
  EXPECT_EQ(c->tls.cert_file, "c.pem");
  // The server refuses to start half-configured.
  HttpOptions options;
  options.listen_address = "127.0.0.1:0";
  options.web_config = *c;
  auto s = HttpServer::Start(options, std::make_shared<MergingCollector>([](auto&) {}), {});
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find("TLS is not supported"), std::string::npos);
}

TEST(WebConfigTest, ADirectoryIsAReadErrorNotAnEmptyConfig) {
  // An empty web config means "no users": a path that cannot be read must not pass for one.
  char dir[] = "/tmp/mw-web-config-test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  auto c = LoadWebConfig(dir);
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().ToString().find(std::string(dir) + ": error: cannot read web config: Is a "
                                                         "directory"),
            std::string::npos)
      << c.error().ToString();
  c = LoadWebConfig(std::string(dir) + "/missing.yml");
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("No such file"), std::string::npos);
  const std::string empty = std::string(dir) + "/empty.yml";
  std::ofstream(empty).close();
  c = LoadWebConfig(empty);
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_TRUE(c->basic_auth_users.empty());
  std::filesystem::remove_all(dir);
}

TEST(HttpServerTest, ReloadWebConfigRefusesTlsAndSwitchingAuthenticationOff) {
  HttpOptions options;
  options.listen_address = "127.0.0.1:0";
  options.web_config.basic_auth_users = {{"alice", kHash}};
  auto s = HttpServer::Start(options, std::make_shared<MergingCollector>([](auto&) {}), {});
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  WebConfig next;
  next.file = "web.yml";
  next.basic_auth_users = {{"bob", kHash}};
  EXPECT_TRUE((*s)->ReloadWebConfig(next).has_value());
  WebConfig tls = next;
  tls.has_tls = true;
  auto r = (*s)->ReloadWebConfig(tls);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().location.file, "web.yml");
  EXPECT_NE(r.error().message.find("TLS is not supported"), std::string::npos);
  WebConfig none;
  none.file = "web.yml";
  r = (*s)->ReloadWebConfig(none);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("switching authentication off needs a restart"),
            std::string::npos);
}

TEST(BasicAuthTest, ChecksBcryptAndCaches) {
  BasicAuthChecker checker(std::map<std::string, std::string>{{"alice", kHash}});
  EXPECT_TRUE(checker.enabled());
  EXPECT_TRUE(checker.Check("alice", "s3cret"));
  EXPECT_TRUE(checker.Check("alice", "s3cret"));  // cached
  EXPECT_FALSE(checker.Check("alice", "s3cre"));
  EXPECT_FALSE(checker.Check("alice", "s3cret "));
  EXPECT_FALSE(checker.Check("bob", "s3cret"));
  EXPECT_FALSE(BasicAuthChecker(std::map<std::string, std::string>{}).enabled());
}

TEST(BasicAuthTest, ParsesAuthorizationHeader) {
  std::string user, password;
  ASSERT_TRUE(ParseBasicAuthorization("Basic YWxpY2U6czNjcmV0", user, password));
  EXPECT_EQ(user, "alice");
  EXPECT_EQ(password, "s3cret");
  ASSERT_TRUE(ParseBasicAuthorization("basic YTpiOmM=", user, password));
  EXPECT_EQ(user, "a");
  EXPECT_EQ(password, "b:c");
  EXPECT_FALSE(ParseBasicAuthorization("Bearer abc", user, password));
  EXPECT_FALSE(ParseBasicAuthorization("Basic !!!", user, password));
  EXPECT_FALSE(ParseBasicAuthorization("Basic YWxpY2U=", user, password));  // no colon
}

TEST(HttpServerTest, ListeningPortsFromAddress) {
  using HostPort = std::pair<std::string, int>;
  EXPECT_EQ(*ParseListenAddress(":9841"), HostPort("", 9841));
  EXPECT_EQ(*ParseListenAddress("0.0.0.0:9841"), HostPort("", 9841));
  EXPECT_EQ(*ParseListenAddress("127.0.0.1:80"), HostPort("127.0.0.1", 80));
  EXPECT_FALSE(ParseListenAddress("9841").has_value());
  EXPECT_FALSE(ParseListenAddress("host:").has_value());
  EXPECT_FALSE(ParseListenAddress("host:http").has_value());
  EXPECT_FALSE(ParseListenAddress("host:70000").has_value());
  EXPECT_FALSE(ParseListenAddress("[::1]:9841").has_value());
}

TEST(FamilyMergeTest, MergesByNameWithOneHelpAndType) {
  std::vector<prometheus::MetricFamily> in;
  auto family = [](const std::string& name, prometheus::MetricType type, const std::string& model) {
    prometheus::MetricFamily f{name, "help of " + name, type, {}};
    prometheus::ClientMetric m;
    m.label = {{"model", model}};
    m.counter.value = 1;
    m.gauge.value = 1;
    f.metric.push_back(m);
    return f;
  };
  in.push_back(family("b_total", prometheus::MetricType::Counter, "x"));
  in.push_back(family("a", prometheus::MetricType::Gauge, "x"));
  in.push_back(family("b_total", prometheus::MetricType::Counter, "y"));
  in.push_back(family("b_total", prometheus::MetricType::Counter, "y"));  // duplicate series
  in.push_back(family("a", prometheus::MetricType::Counter, "z"));        // type conflict
  in.push_back(prometheus::MetricFamily{"empty", "h", prometheus::MetricType::Gauge, {}});
  std::vector<std::string> conflicts;
  auto out = MergeFamilies(in, &conflicts);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "a");
  EXPECT_EQ(out[0].metric.size(), 1u);
  EXPECT_EQ(out[1].name, "b_total");
  EXPECT_EQ(out[1].metric.size(), 2u);
  EXPECT_EQ(conflicts, std::vector<std::string>{"a"});
  std::string text = SerializeText(out);
  std::size_t helps = 0;
  for (std::size_t pos = 0; (pos = text.find("# HELP b_total", pos)) != std::string::npos; ++pos) {
    ++helps;
  }
  EXPECT_EQ(helps, 1u);
}

TEST(BasicAuthTest, PasswordWithNulByteIsNotCutAtIt) {
  BasicAuthChecker checker(std::map<std::string, std::string>{{"alice", kHash}});
  EXPECT_FALSE(checker.Check("alice", std::string("s3cret\0anything", 15)));
  EXPECT_FALSE(checker.Check("alice", std::string("s3cret\0", 7)));
  EXPECT_TRUE(checker.Check("alice", "s3cret"));
}

TEST(FamilyMergeTest, NulBytesNeverReachALabelValue) {
  prometheus::MetricFamily f{"g", "h", prometheus::MetricType::Gauge, {}};
  prometheus::ClientMetric m;
  m.label = {{"version", std::string("v\0x", 3)}};
  f.metric.push_back(m);
  auto out = MergeFamilies({f});
  ASSERT_EQ(out.size(), 1u);
  const std::string& value = out[0].metric[0].label[0].value;
  EXPECT_EQ(value.find('\0'), std::string::npos);
  EXPECT_EQ(value, "v\xEF\xBF\xBDx");  // U+FFFD REPLACEMENT CHARACTER
  EXPECT_EQ(SerializeText(out).find('\0'), std::string::npos);
}

}  // namespace
}  // namespace modelwatch
