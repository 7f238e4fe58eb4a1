#include "proxy/forward.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "base/log.h"
#include "base/text.h"
#include "pricing/cost.h"
#include "proxy/hop_by_hop.h"

namespace llm_exporter::proxy {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

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
    loop_.curl.Remove(easy_);
    running_ = false;
    Book(meter::Ending::kClientAbort, 499);
  }
  if (easy_ != nullptr) loop_.curl.ReturnEasy(easy_);
  curl_slist_free_all(header_list_);
}

bool Forward::Start() {
  easy_ = loop_.curl.TakeEasy();
  if (easy_ == nullptr) return false;
  const config::ProxyConfig& proxy = request_.routing->config().proxy;
  const std::string url = transport_.Apply(easy_, request_.vendor->transport,
                                           UpstreamUrl(*request_.vendor, request_.target));
  curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy_, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(proxy.connect_timeout.count()));
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &Forward::OnHeaderLine);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &Forward::OnBodyBytes);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  for (const std::string& line : request_.headers) {
    header_list_ = curl_slist_append(header_list_, line.c_str());
  }
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, header_list_);
  if (request_.method == "GET") {
    curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request_.body.size()));
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, request_.body.data());
  }
  upstream_started_ = Clock::now();
  if (!loop_.curl.Add(easy_, this)) return false;
  running_ = true;
  if (metered_) loop_.meter.Started(request_.vendor->name);
  return true;
}

size_t Forward::OnHeaderLine(char* data, size_t size, size_t count, void* self_ptr) {
  auto& self = *static_cast<Forward*>(self_ptr);
  const size_t n = size * count;
  const std::string_view line(data, n);
  if (self.head_sent_) return n;  // trailers
  if (line.starts_with("HTTP/")) {
    // A new status line (after a 100 Continue): start afresh.
    const size_t space = line.find(' ');
    self.status_ = space == std::string_view::npos
                       ? 0
                       : std::atol(std::string(line.substr(space + 1, 3)).c_str());
    self.headers_.clear();
    self.content_type_.clear();
    self.content_length_.reset();
    return n;
  }
  if (Trim(line).empty()) {
    if (self.status_ >= 200) self.HeadComplete();
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  const std::string_view name = Trim(line.substr(0, colon));
  const std::string_view value = Trim(line.substr(colon + 1));
  const std::string lower = base::AsciiLower(name);
  if (lower == "content-type") self.content_type_ = std::string(value);
  if (lower == "content-length") {
    uint64_t length = 0;
    if (std::from_chars(value.data(), value.data() + value.size(), length).ec == std::errc()) {
      self.content_length_ = length;
    }
  }
  // Content-Length: the client's framing is redone (SendHead gets it apart).
  if (!IsHopByHop(lower) && lower != "content-length")
    self.headers_.emplace_back(std::string(name), std::string(value));
  return n;
}

void Forward::HeadComplete() {
  head_sent_ = true;
  last_data_ = Clock::now();
  tap_.Start(status_, content_type_);
  client_.SendHead(status_, headers_, tap_.changes_body() ? std::nullopt : content_length_);
}

size_t Forward::OnBodyBytes(char* data, size_t size, size_t count, void* self_ptr) {
  auto& self = *static_cast<Forward*>(self_ptr);
  const size_t n = size * count;
  if (!self.head_sent_) self.HeadComplete();
  if (self.client_.Backlogged()) {
    self.paused_ = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  self.last_data_ = Clock::now();
  self.relay_.clear();
  if (self.tap_.Feed(std::string_view(data, n), self.relay_) && !self.first_token_at_) {
    self.first_token_at_ = self.last_data_;
  }
  if (!self.relay_.empty()) self.client_.SendBody(self.relay_);
  return n;
}

void Forward::Resume() {
  if (!running_ || !paused_) return;
  paused_ = false;
  last_data_ = Clock::now();
  curl_easy_pause(easy_, CURLPAUSE_CONT);
}

void Forward::ClientGone() {
  if (!running_) return;
  loop_.curl.Remove(easy_);
  running_ = false;
  Book(meter::Ending::kClientAbort, 499);
}

void Forward::OnDone(CURLcode code) {
  running_ = false;
  if (code == CURLE_OK && status_ >= 200) {
    if (!head_sent_) HeadComplete();
    return EndRelay(meter::Ending::kComplete, true);
  }
  if (!head_sent_) {
    const bool timeout = code == CURLE_OPERATION_TIMEDOUT;
    const int status = timeout ? 504 : 502;
    Book(timeout ? meter::Ending::kTimeout : meter::Ending::kUpstreamReset, status);
    client_.SendError(status, std::string("the vendor could not be reached: ") +
                                  curl_easy_strerror(code == CURLE_OK ? CURLE_RECV_ERROR : code));
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
  if (!head_sent_) {
    deadline = std::min(deadline, upstream_started_ + proxy.first_byte_timeout);
  } else if (!paused_) {
    deadline = std::min(deadline, last_data_ + proxy.idle_timeout);
  }
  if (now < deadline) return;
  loop_.curl.Remove(easy_);
  running_ = false;
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
  curl_off_t request_size = 0;
  curl_easy_getinfo(easy_, CURLINFO_REQUEST_SIZE, &request_size);
  e.request_written = request_size > 0 || head_sent_;
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

  curl_off_t upstream_us = 0;
  curl_easy_getinfo(easy_, CURLINFO_TOTAL_TIME_T, &upstream_us);
  if (ending == meter::Ending::kComplete) {
    // A stopped transfer has no upstream time to take away.
    const double overhead =
        std::max(0.0, e.duration_seconds - static_cast<double>(upstream_us) / 1e6);
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
