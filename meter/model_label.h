#pragma once

// Bounded `model` labels: a vendor's own model name (from a billing report,
// and next from a proxied request) becomes the configured model it names (a
// probe's model, a proxy route's exact model or an exact model of the
// vendor's price table, directly or as
// a dated snapshot of it), else "other". Label values stay bounded by config.

#include <set>
#include <string>

#include "config/config.h"
#include "pricing/price_book.h"

namespace llm_exporter::meter {

std::string ModelLabel(const std::set<std::string>& known, const std::string& vendor_model);
std::set<std::string> KnownModels(const config::Config& config, const config::VendorConfig& vendor,
                                  const pricing::PriceBook& prices);

}  // namespace llm_exporter::meter
