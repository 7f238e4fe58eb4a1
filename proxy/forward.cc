#include "proxy/forward.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "base/log.h"
#include "base/text.h"
#include "pricing/cost.h"
#include "proxy/curl_upstream.h"
#include "proxy/hop_by_hop.h"

namespace llm_exporter::proxy {
namespace {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Forward::Forward(LoopContext& loop, ForwardRequest request, ClientSide& client)
    : loop_(loop),
      request_(std::move(request)),
      client_(client),
      tap_(*request_.endpoint, request_.strip_usage_chunk) {
  metered_ = request_.endpoint->metered;
}

Forward::~Forward() {
  if (running_) {
    StopUpstream();
    Book(meter::Ending::kClientAbort, 499);
  }
}

bool Forward::Start() {
  const config::VendorConfig& vendor = *request_.vendor;
  std::optional<PlainTarget> plain;
  if (const PlainTarget* base = request_.routing->PlainBase(vendor)) {
    plain = PlainTargetFor(*base, vendor, request_.target);
  }
  UpstreamCall call;
  if (plain) {
    upstream_ = std::make_shared<PlainUpstream>(loop_.plain, loop_.burst, *this, std::move(*plain));
  } else {
    upstream_ = std::make_shared<CurlUpstream>(loop_.curl, *this);
    call.url = UpstreamUrl(vendor, request_.target);
  }
  call.method = request_.method;
  call.headers = &request_.headers;
  call.body = request_.body;
  call.transport = &request_.vendor->transport;
  call.connect_timeout = request_.routing->config().proxy.connect_timeout;
  upstream_started_ = Clock::now();
  running_ = true;
  if (!upstream_->Start(call)) {
    running_ = false;
    return false;
  }
  if (metered_) loop_.meter.Started(request_.vendor->name);
  return true;
}

void Forward::StopUpstream() {
  running_ = false;
  upstream_->Stop();
}

void Forward::OnStatus(long status) {
  status_ = status;
  fields_.clear();
  fields_.reserve(256);
  content_type_.clear();
  content_length_.reset();
}

void Forward::OnHeader(std::string_view name, std::string_view value) {
  const base::AsciiLowered lowered(name);
  const std::string_view lower = lowered.view();
  if (lower == "content-type") content_type_ = std::string(value);
  if (lower == "content-length") {
    uint64_t length = 0;
    if (std::from_chars(value.data(), value.data() + value.size(), length).ec == std::errc()) {
      content_length_ = length;
    }
  }
  // Content-Length: the client's framing is redone (SendHead gets it apart).
  if (!IsHopByHop(lower) && lower != "content-length") {
    fields_.append(name).append(": ").append(value).append("\r\n");
  }
}

void Forward::OnHeadEnd() {
  if (head_sent_) return;
  head_sent_ = true;
  last_data_ = Clock::now();
  tap_.Start(status_, content_type_);
  client_.SendHead(status_, fields_, tap_.changes_body() ? std::nullopt : content_length_);
}

bool Forward::Backlogged() {
  if (!client_.Backlogged()) return false;
  paused_ = true;
  return true;
}

void Forward::OnBody(std::string_view bytes) {
  if (!head_sent_) OnHeadEnd();
  last_data_ = Clock::now();
  relay_.clear();
  if (tap_.Feed(bytes, relay_) && !first_token_at_) first_token_at_ = last_data_;
  if (!relay_.empty()) client_.SendBody(relay_);
}

void Forward::Resume() {
  if (!running_ || !paused_) return;
  paused_ = false;
  last_data_ = Clock::now();
  upstream_->Resume();
}

void Forward::ClientGone() {
  if (!running_) return;
  StopUpstream();
  Book(meter::Ending::kClientAbort, 499);
}

void Forward::OnEnd(UpstreamEnd end, std::string_view why) {
  running_ = false;
  if (end == UpstreamEnd::kComplete) {
    if (!head_sent_) OnHeadEnd();
    return EndRelay(meter::Ending::kComplete, true);
  }
  if (!head_sent_) {
    const bool timeout = end == UpstreamEnd::kTimeout;
    const int status = timeout ? 504 : 502;
    Book(timeout ? meter::Ending::kTimeout : meter::Ending::kUpstreamReset, status);
    client_.SendError(status, "the vendor could not be reached: " + std::string(why));
    return;
  }
  EndRelay(meter::Ending::kUpstreamReset, false);
}

// The reply has begun and ends here: what the tap still holds goes to the
// client, the exchange is booked, and the client's reply ends (cut unless
// `complete`, so that it sees what it would have seen from the vendor).
void Forward::EndRelay(meter::Ending ending, bool complete) {
  relay_.clear();
  tap_.End(relay_);
  if (!relay_.empty()) client_.SendBody(relay_);
  Book(ending, std::nullopt);
  client_.EndReply(complete);
}

void Forward::CheckTimeouts(Clock::time_point now) {
  if (!running_) return;
  const config::ProxyConfig& proxy = request_.routing->config().proxy;
  const Clock::time_point total = upstream_started_ + proxy.total_timeout;
  Clock::time_point deadline = total;
  if (const auto since = upstream_->connecting_since()) {
    deadline = std::min(deadline, *since + proxy.connect_timeout);
  }
  if (!head_sent_) {
    deadline = std::min(deadline, upstream_started_ + proxy.first_byte_timeout);
  } else if (!paused_) {
    deadline = std::min(deadline, last_data_ + proxy.idle_timeout);
  }
  if (now < deadline) return;
  StopUpstream();
  if (!head_sent_) {
    Book(meter::Ending::kTimeout, 504);
    client_.SendError(504, "the vendor did not answer in time");
    return;
  }
  EndRelay(meter::Ending::kTimeout, false);
}

void Forward::Book(meter::Ending ending, std::optional<long> client_code) {
  if (!metered_) return;
  metered_ = false;
  const Clock::time_point now = Clock::now();
  const ReplyTap::Result reply = tap_.Finish();
  const pricing::PriceBook& prices = request_.routing->prices();

  meter::Exchange e;
  e.vendor = request_.vendor->name;
  e.model = request_.model_label;
  e.price_model = request_.model;
  e.price_table = request_.vendor->price_table;
  e.source = "proxy";
  e.endpoint = std::string(request_.endpoint->label);
  e.started_at = request_.started_at;
  e.http_status = head_sent_ ? status_ : 0;
  e.client_code = client_code;
  e.duration_seconds = Seconds(now - request_.received_at);
  if (reply.stream && first_token_at_) {
    e.ttft_seconds = Seconds(*first_token_at_ - request_.received_at);
    const double generating = Seconds(now - *first_token_at_);
    if (reply.usage_present && reply.usage.output > 1 && generating > 0) {
      e.output_tokens_per_second = static_cast<double>(reply.usage.output - 1) / generating;
    }
  }
  e.request_written = upstream_->request_written() || head_sent_;
  e.usage_present = reply.usage_present;
  e.usage = reply.usage;
  e.ending = ending;
  if (!reply.usage_present) {
    // An upper bound: a token is at least a byte of the request, and the
    // output is what was streamed (or the request's cap).
    if (const pricing::PriceRow* row =
            prices.Find(e.price_table, request_.model, request_.started_at)) {
      pricing::Usage worst;
      worst.input = static_cast<int64_t>(request_.body.size());
      worst.output = reply.stream ? reply.deltas : request_.max_tokens;
      e.worst_case_nano_usd = pricing::CostNanoUsd(*row, worst);
    }
  }
  const meter::Booking booking = loop_.meter.Finish(e, &prices);

  if (ending == meter::Ending::kComplete) {
    // A stopped transfer has no upstream time to take away.
    const double overhead = std::max(0.0, e.duration_seconds - Seconds(upstream_->elapsed()));
    loop_.metrics.ObserveOverhead(e.vendor, e.endpoint, overhead);
  }
  if (!request_.client.empty() && booking.cost_nano_usd) {
    loop_.metrics.AddClientCost(request_.client, e.vendor, *booking.cost_nano_usd);
  }
  LOG_DEBUG("Proxied request", {"vendor", e.vendor}, {"model", e.model}, {"endpoint", e.endpoint},
            {"code", std::to_string(e.client_code.value_or(e.http_status))},
            {"duration_seconds", std::to_string(e.duration_seconds)},
            {"usage", e.usage_present ? "present" : "missing"});
}

}  // namespace llm_exporter::proxy
