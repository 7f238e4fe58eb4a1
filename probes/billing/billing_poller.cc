#include "probes/billing/billing_poller.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <utility>

#include "base/log.h"
#include "probes/transport.h"

namespace llm_exporter::probes::billing {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMaxWait{1000};
constexpr milliseconds kMinInterval{100};
constexpr milliseconds kMaxConnectTimeout{10'000};
constexpr size_t kMaxBodyBytes = 16 * 1024 * 1024;

bool SameConfig(const config::BillingConfig& a, const config::BillingConfig& b) {
  return a.enabled == b.enabled && a.kind == b.kind && a.interval == b.interval &&
         a.base_url == b.base_url && a.api_key.Reveal() == b.api_key.Reveal() &&
         a.api_key.Source() == b.api_key.Source() && a.transport == b.transport;
}

milliseconds Interval(const config::BillingConfig& billing) {
  return std::max(std::chrono::duration_cast<milliseconds>(billing.interval), kMinInterval);
}

// The URL without its query: enough to say which endpoint failed.
std::string_view Endpoint(std::string_view url) { return url.substr(0, url.find('?')); }

}  // namespace

// One GET on an easy handle; removes itself from the multi handle when
// destroyed, so abandoning a poll is just dropping it.
struct BillingPoller::Transfer {
  TransferDriver* driver = nullptr;  // set while added
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  VendorTransport transport;  // outlives the easy handle (members go after ~Transfer's body)
  std::string url;
  std::string body;
  ResponseHeaders response_headers;
  bool too_large = false;

  ~Transfer() {
    if (driver != nullptr) driver->Remove(easy);
    if (easy != nullptr) curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
  }

  static size_t OnData(char* data, size_t size, size_t count, void* self_ptr) {
    auto* self = static_cast<Transfer*>(self_ptr);
    const size_t bytes = size * count;
    if (self->body.size() + bytes > kMaxBodyBytes) {
      self->too_large = true;
      return 0;  // aborts the transfer
    }
    self->body.append(data, bytes);
    return bytes;
  }
};

struct BillingPoller::Vendor {
  config::BillingConfig billing;
  std::chrono::steady_clock::time_point next_poll;
  std::chrono::steady_clock::time_point poll_started;
  milliseconds backoff{0};  // 0: the last poll succeeded
  std::unique_ptr<BillingPoll> poll;
  std::unique_ptr<Transfer> transfer;
};

BillingPoller::BillingPoller(Options options) : options_(options) {}

BillingPoller::~BillingPoller() { Stop(); }

void BillingPoller::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void BillingPoller::Stop() {
  stop_ = true;
  driver_.Wake();
  if (thread_.joinable()) thread_.join();
}

void BillingPoller::Update(std::vector<BillingTarget> targets) {
  std::lock_guard lock(mutex_);
  pending_ = std::move(targets);
  driver_.Wake();
}

void BillingPoller::ApplyUpdate(std::vector<BillingTarget> targets) {
  const auto now = options_.clock->Monotonic();
  std::map<std::string, std::unique_ptr<Vendor>> next;
  for (auto& target : targets) {
    if (!target.billing.enabled || next.contains(target.vendor)) continue;
    auto old = vendors_.find(target.vendor);
    if (old != vendors_.end() && SameConfig(old->second->billing, target.billing)) {
      next[target.vendor] = std::move(old->second);
      vendors_.erase(old);
      continue;
    }
    auto vendor = std::make_unique<Vendor>();
    vendor->billing = std::move(target.billing);
    // Spread first polls a little (by name, so restarts keep the phase).
    const milliseconds spread = std::min(options_.first_poll_spread, Interval(vendor->billing));
    const auto offset = PhaseByName(target.vendor, spread.count());
    vendor->next_poll = now + milliseconds(offset);
    next[target.vendor] = std::move(vendor);
  }
  // What is left was removed, disabled or changed: its poll in flight (if
  // any) is dropped with it.
  vendors_ = std::move(next);
}

void BillingPoller::StartPoll(const std::string& name, Vendor& vendor) {
  vendor.poll_started = options_.clock->Monotonic();
  auto poll = NewBillingPoll(vendor.billing.kind, vendor.billing.base_url, vendor.billing.api_key,
                             options_.clock->Wall(), options_.page_cap);
  if (!poll) {
    Finish(name, vendor, &poll.error());
    return;
  }
  vendor.poll = std::move(*poll);
  LOG_DEBUG("Beginning billing poll", {"vendor", name},
            {"kind", config::ToString(vendor.billing.kind)});
  Advance(name, vendor);
}

void BillingPoller::Advance(const std::string& name, Vendor& vendor) {
  std::optional<HttpGet> get = vendor.poll->NextRequest();
  if (!get) {
    Finish(name, vendor, nullptr);
    return;
  }
  auto transfer = std::make_unique<Transfer>();
  transfer->easy = curl_easy_init();
  if (transfer->easy == nullptr) {
    const PollError error{PollErrorReason::kConnect, "curl_easy_init failed", std::nullopt};
    Finish(name, vendor, &error);
    return;
  }
  transfer->url = transfer->transport.Apply(transfer->easy, vendor.billing.transport, get->url);
  for (const std::string& header : get->headers) {
    transfer->headers = curl_slist_append(transfer->headers, header.c_str());
  }
  CURL* easy = transfer->easy;
  curl_easy_setopt(easy, CURLOPT_URL, transfer->url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "llm_exporter");
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::OnData);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &ResponseHeaders::OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer->response_headers);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(
      easy, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(std::min(options_.request_timeout, kMaxConnectTimeout).count()));
  if (!driver_.Add(easy)) {
    const PollError error{PollErrorReason::kConnect, "curl_multi_add_handle failed", std::nullopt};
    Finish(name, vendor, &error);
    return;
  }
  transfer->driver = &driver_;
  vendor.transfer = std::move(transfer);
}

void BillingPoller::OnTransferDone(const std::string& name, Vendor& vendor, CURLcode code) {
  std::unique_ptr<Transfer> transfer = std::move(vendor.transfer);
  long status = 0;
  curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status);
  std::optional<PollError> error;
  const std::string endpoint(Endpoint(transfer->url));
  const std::string detail = endpoint + ": " + curl_easy_strerror(code);
  switch (ClassifyCurlCode(code)) {
    case TransportFailure::kNone:
      break;
    case TransportFailure::kTimeout:
      error = PollError{PollErrorReason::kTimeout, endpoint + ": timed out", std::nullopt};
      break;
    case TransportFailure::kConnect:
      error = PollError{PollErrorReason::kConnect, detail, std::nullopt};
      break;
    case TransportFailure::kTls:
      error = PollError{PollErrorReason::kTls, detail, std::nullopt};
      break;
    case TransportFailure::kBroken:
      if (transfer->too_large) {
        error = PollError{PollErrorReason::kInvalidResponse, endpoint + ": reply too large",
                          std::nullopt};
      } else {
        // Broken before any reply: a connection failure; after: an incomplete reply.
        error =
            PollError{status > 0 ? PollErrorReason::kInvalidResponse : PollErrorReason::kConnect,
                      endpoint + ": transfer failed: " + curl_easy_strerror(code), std::nullopt};
      }
      break;
  }
  if (!error) {
    auto replied =
        vendor.poll->OnResponse(status, transfer->body, transfer->response_headers.retry_after);
    if (!replied) error = std::move(replied.error());
  }
  transfer.reset();
  if (error) {
    Finish(name, vendor, &*error);
  } else {
    Advance(name, vendor);
  }
}

void BillingPoller::Finish(const std::string& name, Vendor& vendor, const PollError* error) {
  const auto now = options_.clock->Monotonic();
  const milliseconds interval = Interval(vendor.billing);
  if (error != nullptr) {
    vendor.backoff =
        vendor.backoff.count() == 0 ? interval / 8 : std::min(vendor.backoff * 2, interval);
    vendor.next_poll = now + vendor.backoff;
    if (error->retry_after_seconds) {
      vendor.next_poll =
          std::max(vendor.next_poll, now + CappedRetryAfter(*error->retry_after_seconds));
    }
    // A vendor may echo the key back in its error text.
    PollError redacted = *error;
    redacted.message = vendor.billing.api_key.Redact(std::move(redacted.message));
    // The observer logs state changes at warn; every failure is debug here.
    LOG_DEBUG("Billing poll failed", {"vendor", name},
              {"kind", config::ToString(vendor.billing.kind)},
              {"reason", PollErrorReasonName(redacted.reason)}, {"err", redacted.message});
    vendor.poll.reset();
    if (options_.observer != nullptr) options_.observer->OnPoll(name, nullptr, &redacted);
    return;
  }
  vendor.backoff = milliseconds{0};
  vendor.next_poll = vendor.poll_started + interval;
  if (vendor.next_poll <= now) vendor.next_poll = now + interval;
  const BillingSnapshot snapshot = vendor.poll->Result();
  vendor.poll.reset();
  LOG_DEBUG("Billing poll succeeded", {"vendor", name},
            {"kind", config::ToString(vendor.billing.kind)},
            {"days", static_cast<int64_t>(snapshot.days.size())},
            {"balances", static_cast<int64_t>(snapshot.balances.size())});
  if (options_.observer != nullptr) options_.observer->OnPoll(name, &snapshot, nullptr);
}

void BillingPoller::Loop() {
  TransferDriver::Hooks hooks;
  hooks.start_due = [this] {
    std::optional<std::vector<BillingTarget>> pending;
    {
      std::lock_guard lock(mutex_);
      pending.swap(pending_);
    }
    if (pending) ApplyUpdate(std::move(*pending));
    const auto now = options_.clock->Monotonic();
    for (auto& [name, vendor] : vendors_) {
      if (!vendor->poll && vendor->next_poll <= now) StartPoll(name, *vendor);
    }
  };
  hooks.done = [this](CURL* easy, CURLcode code) {
    for (auto& [name, vendor] : vendors_) {
      if (!vendor->transfer || vendor->transfer->easy != easy) continue;
      vendor->transfer->driver = nullptr;  // the driver removed it already
      OnTransferDone(name, *vendor, code);
      return;
    }
  };
  hooks.next_due = [this]() -> std::optional<TransferDriver::Clock::time_point> {
    // On the poller's clock (a test's may run apart from the steady clock).
    const auto now = options_.clock->Monotonic();
    std::optional<milliseconds> soonest;
    for (const auto& [name, vendor] : vendors_) {
      if (vendor->poll) continue;
      const auto until = std::max(std::chrono::duration_cast<milliseconds>(vendor->next_poll - now),
                                  milliseconds{0});
      if (!soonest || until < *soonest) soonest = until;
    }
    if (!soonest) return std::nullopt;
    return TransferDriver::Clock::now() + *soonest;
  };
  driver_.Run(stop_, hooks, kMaxWait);
  // Keep the schedule for a later Start(); drop everything in flight.
  for (auto& [name, vendor] : vendors_) {
    vendor->transfer.reset();
    vendor->poll.reset();
  }
}

}  // namespace llm_exporter::probes::billing
