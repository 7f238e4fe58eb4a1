// Routing (first matching route, bounded labels, the model list, client keys),
// upstream URLs and the proxy's own error replies.
#include "proxy/routing.h"

#include <rapidjson/document.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <fstream>

#include "config/client_keys.h"
#include "proxy/endpoints.h"
#include "proxy/local_reply.h"
#include "proxy/plain_upstream.h"

namespace llm_exporter::proxy {
namespace {

std::shared_ptr<const config::Config> TwoVendors() {
  auto config = std::make_shared<config::Config>();
  config::VendorConfig openai;
  openai.name = "gw";
  openai.api = config::WireApi::kOpenAi;
  openai.base_url = "https://gw.example/v1/";
  openai.price_table = "gw";
  config::VendorConfig anthropic;
  anthropic.name = "ant";
  anthropic.api = config::WireApi::kAnthropic;
  anthropic.base_url = "https://ant.example";
  anthropic.price_table = "ant";
  config->vendors = {openai, anthropic};
  config->proxy.routes = {{"claude-*", "ant", false}, {"gpt-4.1", "gw", true}, {"*", "gw", false}};
  config->proxy.client_keys = {{"team-a", config::Secret("test", "sk-a-0123456789")},
                               {"team-b", config::Secret("test", "sk-b-0123456789")}};
  return config;
}

std::shared_ptr<const pricing::PriceBook> Prices() {
  pricing::PriceRow row;
  row.table = "ant";
  row.model = "claude-sonnet-4-5";
  return std::make_shared<const pricing::PriceBook>(std::vector<pricing::PriceRow>{row},
                                                    std::vector<pricing::PriceRow>{});
}

BOOST_AUTO_TEST_CASE(the_first_matching_route_wins) {
  const Routing routing(TwoVendors(), Prices());
  BOOST_TEST(routing.Match("claude-sonnet-4-5")->vendor == "ant");
  BOOST_TEST(routing.Match("gpt-4.1")->inject_key);
  BOOST_TEST(routing.Match("gpt-4.1-mini")->vendor == "gw");
  BOOST_TEST(!routing.Match("gpt-4.1-mini")->inject_key);
  BOOST_TEST(routing.VendorOf(*routing.Match("claude-x")).name == "ant");
}

BOOST_AUTO_TEST_CASE(model_labels_are_bounded_by_config) {
  const Routing routing(TwoVendors(), Prices());
  BOOST_TEST(routing.ModelLabel("ant", "claude-sonnet-4-5") == "claude-sonnet-4-5");
  BOOST_TEST(routing.ModelLabel("ant", "claude-sonnet-4-5-20250929") == "claude-sonnet-4-5");
  BOOST_TEST(routing.ModelLabel("gw", "gpt-4.1") == "gpt-4.1");  // a route's exact model
  BOOST_TEST(routing.ModelLabel("gw", "anything-a-client-sends") == "other");
  BOOST_TEST(routing.ModelLabel("nobody", "gpt-4.1") == "other");
}

BOOST_AUTO_TEST_CASE(the_model_list_names_routed_models_in_both_shapes) {
  const Routing routing(TwoVendors(), Prices());
  rapidjson::Document openai;
  openai.Parse(routing.ModelsBody(false).c_str());
  BOOST_REQUIRE(openai.IsObject());
  BOOST_TEST(std::string(openai["object"].GetString()) == "list");
  BOOST_REQUIRE(openai["data"].Size() == 2u);
  BOOST_TEST(std::string(openai["data"][0]["id"].GetString()) == "claude-sonnet-4-5");
  BOOST_TEST(std::string(openai["data"][0]["owned_by"].GetString()) == "ant");
  BOOST_TEST(std::string(openai["data"][1]["id"].GetString()) == "gpt-4.1");
  rapidjson::Document anthropic;
  anthropic.Parse(routing.ModelsBody(true).c_str());
  BOOST_TEST(std::string(anthropic["data"][0]["type"].GetString()) == "model");
  BOOST_TEST(anthropic["has_more"].GetBool() == false);
  BOOST_TEST(std::string(anthropic["last_id"].GetString()) == "gpt-4.1");
}

BOOST_AUTO_TEST_CASE(client_keys_find_their_client_and_nothing_else) {
  const Routing routing(TwoVendors(), Prices());
  BOOST_TEST(routing.ClientFor("sk-a-0123456789").value_or("") == "team-a");
  BOOST_TEST(routing.ClientFor("sk-b-0123456789").value_or("") == "team-b");
  BOOST_TEST(!routing.ClientFor("sk-a-012345678"));    // a prefix
  BOOST_TEST(!routing.ClientFor("sk-a-01234567890"));  // longer
  BOOST_TEST(!routing.ClientFor(""));
}

BOOST_AUTO_TEST_CASE(upstream_urls_follow_the_vendors_base_url_convention) {
  const auto config = TwoVendors();
  BOOST_TEST(UpstreamUrl(config->vendors[0], "/v1/chat/completions") ==
             "https://gw.example/v1/chat/completions");
  BOOST_TEST(UpstreamUrl(config->vendors[0], "/v1/responses?x=1") ==
             "https://gw.example/v1/responses?x=1");
  BOOST_TEST(UpstreamUrl(config->vendors[1], "/v1/messages?beta=true") ==
             "https://ant.example/v1/messages?beta=true");
  BOOST_TEST(FindEndpoint("/v1/messages/count_tokens")->metered == false);
  BOOST_TEST(FindEndpoint("/v1/chat/completions")->takes_stream_options);
  BOOST_TEST(FindEndpoint("/v1/chat/completions/") == nullptr);
  BOOST_TEST((DialectOfPath("/v1/messages/batches") == config::WireApi::kAnthropic));
}

BOOST_AUTO_TEST_CASE(only_plain_http_without_transport_settings_takes_the_proxys_own_client) {
  const config::TransportConfig none;
  auto target = PlainTargetOf("http://gw.internal:3000/v1/chat/completions?x=1", none);
  BOOST_REQUIRE(target);
  BOOST_TEST(target->host == "gw.internal");
  BOOST_TEST(target->port == "3000");
  BOOST_TEST(target->authority == "gw.internal:3000");
  BOOST_TEST(target->target == "/v1/chat/completions?x=1");
  target = PlainTargetOf("http://[::1]/v1/messages", none);
  BOOST_REQUIRE(target);
  BOOST_TEST(target->host == "::1");
  BOOST_TEST(target->port == "80");
  BOOST_TEST(target->authority == "[::1]");
  BOOST_TEST(PlainTargetOf("http://10.0.0.7:8080?beta=true", none)->target == "/?beta=true");
  // libcurl's: TLS, a user name, a bad port, an odd target, any transport setting.
  BOOST_TEST(!PlainTargetOf("https://api.openai.com/v1/chat/completions", none));
  BOOST_TEST(!PlainTargetOf("HTTP://gw/v1", none));
  BOOST_TEST(!PlainTargetOf("http://user:pw@gw/v1", none));
  BOOST_TEST(!PlainTargetOf("http://gw:0/v1", none));
  BOOST_TEST(!PlainTargetOf("http://gw:http/v1", none));
  BOOST_TEST(!PlainTargetOf("http://:80/v1", none));
  BOOST_TEST(!PlainTargetOf("http://gw/v1 x", none));
  config::TransportConfig egress;
  egress.proxy_url = "http://egress:3128";
  BOOST_TEST(!PlainTargetOf("http://gw/v1", egress));
  config::TransportConfig ca;
  ca.ca_file = "/etc/ssl/ca.pem";
  BOOST_TEST(!PlainTargetOf("http://gw/v1", ca));
}

BOOST_AUTO_TEST_CASE(a_vendors_plain_target_worked_out_once_is_the_one_of_each_url) {
  // PlainBaseOf + PlainTargetFor (per config, then per request) must give
  // what PlainTargetOf gives for the whole URL.
  const std::vector<std::string> bases = {
      "http://gw:3000/v1", "http://gw:3000/v1/", "http://gw",     "http://gw/",
      "http://gw?q=1",     "http://[::1]:8/api", "https://gw/v1", "http://u@gw/v1",
      "http://gw:0/v1",    "http://gw/v 1"};
  const std::vector<std::string> targets = {"/v1/chat/completions", "/v1/messages?beta=true",
                                            "/v1/responses?a=%20b", "/v1/embeddings?x y",
                                            "/v1/models#frag"};
  for (const config::WireApi api : {config::WireApi::kOpenAi, config::WireApi::kAnthropic}) {
    for (const std::string& base_url : bases) {
      config::VendorConfig vendor;
      vendor.api = api;
      vendor.base_url = base_url;
      const std::optional<PlainTarget> base = PlainBaseOf(vendor);
      for (const std::string& target : targets) {
        BOOST_TEST_CONTEXT(base_url << " " << target) {
          const auto whole = PlainTargetOf(UpstreamUrl(vendor, target), vendor.transport);
          const auto parts =
              base ? PlainTargetFor(*base, vendor, target) : std::optional<PlainTarget>();
          BOOST_TEST(whole.has_value() == parts.has_value());
          if (whole && parts) {
            BOOST_TEST(whole->host == parts->host);
            BOOST_TEST(whole->port == parts->port);
            BOOST_TEST(whole->authority == parts->authority);
            BOOST_TEST(whole->target == parts->target);
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(errors_come_in_each_dialects_shape) {
  rapidjson::Document openai;
  openai.Parse(ErrorBody(config::WireApi::kOpenAi, 404, "no \"route\"").c_str());
  BOOST_REQUIRE(openai.IsObject());
  BOOST_TEST(std::string(openai["error"]["message"].GetString()) == "no \"route\"");
  BOOST_TEST(std::string(openai["error"]["code"].GetString()) == "model_not_found");
  BOOST_TEST(openai["error"]["param"].IsNull());
  rapidjson::Document anthropic;
  anthropic.Parse(ErrorBody(config::WireApi::kAnthropic, 413, "too big").c_str());
  BOOST_TEST(std::string(anthropic["type"].GetString()) == "error");
  BOOST_TEST(std::string(anthropic["error"]["type"].GetString()) == "request_too_large");
  anthropic.Parse(ErrorBody(config::WireApi::kAnthropic, 504, "slow").c_str());
  BOOST_TEST(std::string(anthropic["error"]["type"].GetString()) == "timeout_error");
  const std::string response = JsonResponse(502, "{}", true);
  BOOST_TEST(response.starts_with("HTTP/1.1 502 Bad Gateway\r\n"));
  BOOST_TEST(response.find("Connection: close\r\n") != std::string::npos);
  BOOST_TEST(response.ends_with("\r\n\r\n{}"));
}

BOOST_AUTO_TEST_CASE(client_keys_file_problems_name_the_line_never_a_word_that_may_be_a_key) {
  char path[] = "/tmp/client_keys_XXXXXX";
  const int fd = mkstemp(path);
  BOOST_REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path)
      << "# comment\n\nteam-a sk-secret-aaaa-0000\nsk-secret-lonely-0000\n"
         "team-a sk-secret-bbbb-0000\nsk-secret-swapped-0000000000000000000 team-x\n"
         "team-c sk-secret-aaaa-0000\nteam-d sk-secret-dddd-0000 extra\n"
         "team-s sk-short\nteam-e sk-secret-eeee-0000\r\n";
  std::vector<config::ClientKey> keys;
  const auto problems = config::ParseClientKeys(path, keys);
  std::remove(path);
  BOOST_REQUIRE(problems.size() == 6u);
  BOOST_TEST(problems[0].find(":4: want two words, NAME KEY") != std::string::npos);
  BOOST_TEST(problems[1].find(":5: client \"team-a\" is listed twice") != std::string::npos);
  BOOST_TEST(problems[2].find(":6: the client name must be 1 to 32") != std::string::npos);
  BOOST_TEST(problems[3].find(":7: client \"team-c\" has the key of an earlier client") !=
             std::string::npos);
  BOOST_TEST(problems[4].find(":8: want two words") != std::string::npos);
  BOOST_TEST(problems[5].find(":9: client \"team-s\": its key is shorter than 16") !=
             std::string::npos);
  for (const auto& problem : problems) {
    BOOST_TEST(problem.find("sk-") == std::string::npos, problem);
  }
  BOOST_REQUIRE(keys.size() == 2u);
  BOOST_TEST(keys[1].name == "team-e");
  BOOST_TEST(keys[1].key.Reveal() ==
             "sk-secret-eeee-0000");  // the CR of a CRLF file is not the key's
}

}  // namespace
}  // namespace llm_exporter::proxy
