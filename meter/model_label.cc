#include "meter/model_label.h"

namespace llm_exporter::meter {

std::string ModelLabel(const std::set<std::string>& known, const std::string& vendor_model) {
  if (known.count(vendor_model)) return vendor_model;
  if (auto base = pricing::SnapshotBase(vendor_model); base && known.count(std::string(*base))) {
    return std::string(*base);
  }
  return "other";
}

std::set<std::string> KnownModels(const config::Config& config, const config::VendorConfig& vendor,
                                  const pricing::PriceBook& prices) {
  std::set<std::string> known;
  for (const auto& probe : config.probes) {
    if (probe.vendor == vendor.name) known.insert(probe.model);
  }
  for (const auto& route : config.proxy.routes) {
    if (route.vendor == vendor.name && !pricing::IsGlob(route.model)) known.insert(route.model);
  }
  for (const auto& row : prices.rows()) {
    if (row.table == vendor.price_table && !pricing::IsGlob(row.model)) known.insert(row.model);
  }
  return known;
}

}  // namespace llm_exporter::meter
