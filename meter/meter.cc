#include "meter/meter.h"

#include "base/enum_names.h"
#include "pricing/cost.h"

namespace llm_exporter::meter {

std::optional<std::string> UsageMissingReason(const Exchange& e) {
  if (!e.request_written || e.usage_present) return std::nullopt;
  const bool no_status = e.http_status == 0;
  const bool ok_status = e.http_status >= 200 && e.http_status < 300;
  if (!no_status && !ok_status) return std::nullopt;
  // By Ending: a reply read to its end without usage was "not reported".
  static constexpr std::array<std::string_view, 4> kReasons = {"not_reported", "timeout",
                                                               "upstream_reset", "client_abort"};
  return std::string(base::EnumName(e.ending, kReasons, "not_reported"));
}

void Meter::Started(const std::string& vendor) { traffic_.AddInFlight(vendor, 1); }

void Meter::BookEstimate(const std::string& vendor, const std::string& model,
                         const std::string& source, int64_t estimate_nano_usd,
                         std::chrono::system_clock::time_point at) {
  if (ledger_ == nullptr) return;
  pricing::LedgerEntry entry{pricing::UtcDay(at), vendor, model, source, {}, std::nullopt};
  entry.usage_missing = true;
  entry.estimated_cost_nano_usd = estimate_nano_usd;
  ledger_->Record(entry);
}

Booking Meter::Finish(const Exchange& e, const pricing::PriceBook* prices) {
  traffic_.AddInFlight(e.vendor, -1);
  Booking booking;
  if (e.usage_present) {
    const pricing::PriceRow* row =
        prices != nullptr
            ? prices->Find(e.price_table, e.price_model.empty() ? e.model : e.price_model,
                           e.started_at)
            : nullptr;
    if (row != nullptr) booking.cost_nano_usd = pricing::CostNanoUsd(*row, e.usage);
    booking.charged_nano_usd = booking.cost_nano_usd.value_or(0);
    if (ledger_ != nullptr) {
      ledger_->Record({pricing::UtcDay(e.started_at), e.vendor, e.model, e.source, e.usage,
                       booking.cost_nano_usd});
    }
  } else if ((booking.usage_missing_reason = UsageMissingReason(e))) {
    // The request reached the vendor and may be billed: its worst case is
    // booked (apart from exact costs), for budgets and across restarts.
    booking.estimated_cost_nano_usd = e.worst_case_nano_usd;
    booking.charged_nano_usd = e.worst_case_nano_usd;
    BookEstimate(e.vendor, e.model, e.source, e.worst_case_nano_usd, e.started_at);
  }

  TrafficSample sample;
  sample.vendor = e.vendor;
  sample.model = e.model;
  sample.source = e.source;
  sample.endpoint = e.endpoint;
  const std::string code = std::to_string(e.client_code.value_or(e.http_status));
  sample.code = code;
  sample.duration_seconds = e.duration_seconds;
  sample.ttft_seconds = e.ttft_seconds;
  if (e.output_tokens_per_second && *e.output_tokens_per_second > 0) {
    sample.time_per_output_token_seconds = 1.0 / *e.output_tokens_per_second;
  }
  sample.usage_present = e.usage_present;
  sample.usage = e.usage;
  sample.cost_nano_usd = booking.cost_nano_usd;
  sample.usage_missing_reason = booking.usage_missing_reason;
  sample.estimated_cost_nano_usd = booking.estimated_cost_nano_usd;
  traffic_.Record(sample);
  return booking;
}

void Meter::Abandon(const std::string& vendor, const std::string& model, const std::string& source,
                    int64_t worst_case_nano_usd, std::chrono::system_clock::time_point at) {
  traffic_.AddInFlight(vendor, -1);
  if (worst_case_nano_usd > 0) BookEstimate(vendor, model, source, worst_case_nano_usd, at);
  traffic_.RecordUsageMissing(vendor, model, source, "client_abort", worst_case_nano_usd);
}

}  // namespace llm_exporter::meter
