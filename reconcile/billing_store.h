#pragma once

// Receives billing polls (the poller's observer), keeps each vendor's last
// snapshot with the vendor's model names mapped onto bounded labels, and
// renders the llm_billing_* series (docs/metrics.md) at scrape time.

#include <prometheus/metric_family.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "meter/model_label.h"
#include "pricing/ledger.h"
#include "pricing/price_book.h"
#include "probes/billing/billing_poller.h"
#include "reconcile/checkpoints.h"

namespace llm_exporter::reconcile {

// One (model label, UTC day) of a vendor's report, summed over the vendor's
// model names that map onto the label.
struct VendorDay {
  std::optional<int64_t> cost_nano_usd;
  std::optional<pricing::Usage> tokens;
  int64_t requests = 0;
};

struct VendorBilling {
  std::string kind;
  config::BillingKind billing_kind = config::BillingKind::kOpenAiDashboard;
  int64_t polls = 0;
  std::map<std::string, int64_t> failures;  // by reason
  bool up = false;
  std::optional<std::chrono::system_clock::time_point> last_success;
  std::string last_error;
  std::optional<probes::billing::BillingSnapshot> snapshot;                 // the last good one
  std::map<std::pair<std::string, std::chrono::sys_days>, VendorDay> days;  // (label, day)
  // This vendor's ledger rows of the report's days as they stood when the
  // report was fetched: reconciliation compares the two at the same instant,
  // so traffic after a poll waits for the next poll instead of reading as
  // "vendor behind".
  std::map<std::chrono::sys_days, std::vector<pricing::LedgerRow>> local_at_poll;
};

class BillingStore : public probes::billing::BillingObserver {
 public:
  // The vendors with billing and their known models (start-up and reload).
  void SetVendors(const config::Config& config, const pricing::PriceBook& prices);
  // Where the local side of reconciliation comes from (null: none), and
  // where totals-only vendors' checkpoints go (null: none).
  void SetLedger(const pricing::Ledger* ledger, CheckpointStore* checkpoints);
  void OnPoll(const std::string& vendor, const probes::billing::BillingSnapshot* snapshot,
              const probes::billing::PollError* error) override;

  std::map<std::string, VendorBilling> Snapshot() const;
  // Changes with every poll and every SetVendors(): whatever was computed
  // from a Snapshot() with the same version is still current.
  uint64_t Version() const { return version_.load(); }
  std::vector<prometheus::MetricFamily> Collect(std::chrono::system_clock::time_point now) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::set<std::string>> known_;  // vendor -> model labels
  void RecordCheckpoint(const std::string& vendor,
                        const probes::billing::BillingSnapshot& snapshot);

  std::map<std::string, VendorBilling> vendors_;
  std::atomic<uint64_t> version_{0};
  const pricing::Ledger* ledger_ = nullptr;
  CheckpointStore* checkpoints_ = nullptr;
};

}  // namespace llm_exporter::reconcile
