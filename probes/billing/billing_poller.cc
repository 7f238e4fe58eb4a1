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
  CURLM* multi = nullptr;  // set while added
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  VendorTransport transport;  // outlives the easy handle (members go after ~Transfer's body)
  std::string url;
  std::string body;
  std::string retry_after;
  bool too_large = false;

  ~Transfer() {
    if (multi != nullptr) curl_multi_remove_handle(multi, easy);
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

  static size_t OnHeader(char* data, size_t size, size_t count, void* self_ptr) {
    auto* self = static_cast<Transfer*>(self_ptr);
    const std::string_view line(data, size * count);
    if (line.rfind("HTTP/", 0) == 0) {
      self->retry_after.clear();  // a new response (after 100 Continue, say)
      return line.size();
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return line.size();
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name != "retry-after") return line.size();
    std::string_view value = line.substr(colon + 1);
    const size_t first = value.find_first_not_of(" \t");
    const size_t last = value.find_last_not_of(" \t\r\n");
    value = first == std::string_view::npos ? "" : value.substr(first, last - first + 1);
    self->retry_after = std::string(value.substr(0, 100));
    return line.size();
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
  {
    std::lock_guard lock(mutex_);
    if (wakeup_ != nullptr) curl_multi_wakeup(wakeup_);
  }
  if (thread_.joinable()) thread_.join();
}

void BillingPoller::Update(std::vector<BillingTarget> targets) {
  std::lock_guard lock(mutex_);
  pending_ = std::move(targets);
  if (wakeup_ != nullptr) curl_multi_wakeup(wakeup_);
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
    const auto offset = spread.count() > 0 ? std::hash<std::string>{}(target.vendor) %
                                                 static_cast<size_t>(spread.count())
                                           : 0;
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
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(
      easy, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(std::min(options_.request_timeout, kMaxConnectTimeout).count()));
  if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
    const PollError error{PollErrorReason::kConnect, "curl_multi_add_handle failed", std::nullopt};
    Finish(name, vendor, &error);
    return;
  }
  transfer->multi = multi_;
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
    auto replied = vendor.poll->OnResponse(status, transfer->body, transfer->retry_after);
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
      vendor.next_poll = std::max(vendor.next_poll, now + std::chrono::seconds(std::min<int64_t>(
                                                              *error->retry_after_seconds, 3600)));
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
  multi_ = curl_multi_init();
  if (multi_ == nullptr) {
    LOG_ERROR("Billing poller cannot start", {"err", "curl_multi_init failed"});
    return;
  }
  {
    std::lock_guard lock(mutex_);
    wakeup_ = multi_;
  }
  while (!stop_) {
    std::optional<std::vector<BillingTarget>> pending;
    {
      std::lock_guard lock(mutex_);
      pending.swap(pending_);
    }
    if (pending) ApplyUpdate(std::move(*pending));

    auto now = options_.clock->Monotonic();
    for (auto& [name, vendor] : vendors_) {
      if (!vendor->poll && vendor->next_poll <= now) StartPoll(name, *vendor);
    }
    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      Transfer* done = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &done);
      const CURLcode code = message->data.result;
      for (auto& [name, vendor] : vendors_) {
        if (vendor->transfer.get() != done) continue;
        curl_multi_remove_handle(multi_, done->easy);
        done->multi = nullptr;
        OnTransferDone(name, *vendor, code);
        break;
      }
    }
    now = options_.clock->Monotonic();
    milliseconds wait = kMaxWait;
    for (const auto& [name, vendor] : vendors_) {
      if (vendor->poll) continue;
      const auto until = std::chrono::duration_cast<milliseconds>(vendor->next_poll - now);
      wait = std::clamp(until, milliseconds{0}, wait);
    }
    // libcurl shortens the wait to its own timers (new handles, timeouts).
    curl_multi_poll(multi_, nullptr, 0, static_cast<int>(wait.count()), nullptr);
  }
  // Keep the schedule for a later Start(); drop everything in flight.
  for (auto& [name, vendor] : vendors_) {
    vendor->transfer.reset();
    vendor->poll.reset();
  }
  {
    std::lock_guard lock(mutex_);
    wakeup_ = nullptr;
  }
  curl_multi_cleanup(multi_);
  multi_ = nullptr;
}

}  // namespace llm_exporter::probes::billing
