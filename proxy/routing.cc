#include "proxy/routing.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "meter/model_label.h"

namespace llm_exporter::proxy {
namespace {

// Equal contents, in time that depends on neither the bytes nor where they
// first differ (only on the longer length).
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

}  // namespace

Routing::Routing(std::shared_ptr<const config::Config> config,
                 std::shared_ptr<const pricing::PriceBook> prices)
    : config_(std::move(config)), prices_(std::move(prices)) {
  for (const auto& vendor : config_->vendors) {
    known_[vendor.name] = meter::KnownModels(*config_, vendor, *prices_);
    if (auto base = PlainBaseOf(vendor)) plain_.emplace(&vendor, std::move(*base));
  }
  for (const auto& route : config_->proxy.routes) {
    for (const std::string& model : known_[route.vendor]) {
      if (pricing::GlobMatch(route.model, model) && Match(model) == &route) {
        routed_.emplace(model, route.vendor);
      }
    }
  }
}

const config::ProxyRoute* Routing::Match(std::string_view model) const {
  for (const auto& route : config_->proxy.routes) {
    if (pricing::GlobMatch(route.model, model)) return &route;
  }
  return nullptr;
}

const PlainTarget* Routing::PlainBase(const config::VendorConfig& vendor) const {
  const auto found = plain_.find(&vendor);
  return found == plain_.end() ? nullptr : &found->second;
}

const config::VendorConfig& Routing::VendorOf(const config::ProxyRoute& route) const {
  // The loader refuses a route to an unknown vendor.
  return *config_->FindVendor(route.vendor);
}

std::string Routing::ModelLabel(const std::string& vendor, const std::string& model) const {
  const auto known = known_.find(vendor);
  if (known == known_.end()) return "other";
  return meter::ModelLabel(known->second, model);
}

std::string Routing::ModelsBody(bool anthropic) const {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  if (!anthropic) {
    w.Key("object");
    w.String("list");
  }
  w.Key("data");
  w.StartArray();
  for (const auto& [model, vendor] : routed_) {
    w.StartObject();
    w.Key("id");
    w.String(model.c_str(), static_cast<rapidjson::SizeType>(model.size()));
    if (anthropic) {
      w.Key("type");
      w.String("model");
      w.Key("display_name");
      w.String(model.c_str(), static_cast<rapidjson::SizeType>(model.size()));
      w.Key("created_at");
      w.String("1970-01-01T00:00:00Z");
    } else {
      w.Key("object");
      w.String("model");
      w.Key("created");
      w.Int(0);
      w.Key("owned_by");
      w.String(vendor.c_str(), static_cast<rapidjson::SizeType>(vendor.size()));
    }
    w.EndObject();
  }
  w.EndArray();
  if (anthropic) {
    w.Key("has_more");
    w.Bool(false);
    w.Key("first_id");
    if (routed_.empty()) {
      w.Null();
    } else {
      w.String(routed_.begin()->first.c_str());
    }
    w.Key("last_id");
    if (routed_.empty()) {
      w.Null();
    } else {
      w.String(routed_.rbegin()->first.c_str());
    }
  }
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::optional<std::string> Routing::ClientFor(std::string_view key) const {
  std::optional<std::string> found;
  for (const auto& client : config_->proxy.client_keys) {
    if (ConstantTimeEquals(client.key.Reveal(), key) && !found) found = client.name;
  }
  return found;
}

}  // namespace llm_exporter::proxy
