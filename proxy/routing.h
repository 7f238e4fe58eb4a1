#pragma once

// One config's view for the proxy, immutable and shared by the requests that
// started under it (a reload swaps in a new one): which route and vendor a
// model goes to, its bounded `model` label, the routed model list, and which
// client holds a key.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "config/config.h"
#include "pricing/price_book.h"
#include "proxy/endpoints.h"

namespace llm_exporter::proxy {

class Routing {
 public:
  Routing(std::shared_ptr<const config::Config> config,
          std::shared_ptr<const pricing::PriceBook> prices);

  // The first route (in file order) whose glob matches `model`; nullptr: none.
  const config::ProxyRoute* Match(std::string_view model) const;
  const config::VendorConfig& VendorOf(const config::ProxyRoute& route) const;
  // `model` as a label of `vendor`: a configured model, else "other".
  std::string ModelLabel(const std::string& vendor, const std::string& model) const;
  // GET /v1/models: every routed model that names one model (a route's exact
  // model, or a known model of its vendor matching its glob), in the OpenAI
  // list shape or, for `anthropic`, the Anthropic one.
  std::string ModelsBody(bool anthropic) const;
  // The name of the client whose key is `key`; every key is compared in
  // constant time, so timing tells nothing about any of them.
  std::optional<std::string> ClientFor(std::string_view key) const;

  // PlainBaseOf each vendor of the config, worked out once; nullptr: the
  // vendor's requests go through libcurl.
  const PlainTarget* PlainBase(const config::VendorConfig& vendor) const;

  const config::Config& config() const { return *config_; }
  const pricing::PriceBook& prices() const { return *prices_; }

 private:
  std::shared_ptr<const config::Config> config_;
  std::shared_ptr<const pricing::PriceBook> prices_;
  std::map<std::string, std::set<std::string>> known_;  // vendor -> models
  std::map<std::string, std::string> routed_;           // model id -> vendor
  std::map<const config::VendorConfig*, PlainTarget> plain_;
};

}  // namespace llm_exporter::proxy
