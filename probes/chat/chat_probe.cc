#include "probes/chat/chat_probe.h"

#include <random>
#include <regex>

#include "base/enum_names.h"
#include "base/regex.h"
#include "probes/transport.h"
#include "wire/wire_error.h"

namespace llm_exporter::probes {
namespace {

constexpr size_t kMaxBodyBytes = 1 << 20;
constexpr size_t kMaxAnswerBytes = 200;
// libstdc++'s regex matcher recurses per character: match on a bounded prefix.
constexpr size_t kMaxExpectInputBytes = 4096;

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double CurlSeconds(CURL* easy, CURLINFO info) {
  curl_off_t micros = 0;
  curl_easy_getinfo(easy, info, &micros);
  return static_cast<double>(micros) / 1e6;
}

std::string Describe(const wire::WireError& error) {
  std::string out = error.error_in_body ? "vendor error" : "unexpected reply";
  if (!error.type.empty()) out += " type=" + error.type;
  if (!error.code.empty()) out += " code=" + error.code;
  if (!error.message.empty()) out += ": " + error.message;
  return out;
}

bool MatchesExpect(const std::string& expect, const std::string& text) {
  if (expect.empty()) return true;
  auto re = base::CompilePattern(expect);  // the config loader rejects invalid patterns
  return re && std::regex_search(text.substr(0, kMaxExpectInputBytes), *re);
}

}  // namespace

std::string ProbeSpec::Fingerprint() const {
  const auto& p = probe;
  const auto& v = vendor;
  return p.name + '\n' + p.vendor + '\n' + p.model + '\n' + (p.stream ? "1" : "0") + '\n' +
         std::to_string(p.interval.count()) + '\n' + std::to_string(p.timeout.count()) + '\n' +
         p.prompt + '\n' + std::to_string(p.max_tokens) + '\n' + p.expect + '\n' +
         p.reasoning_effort + '\n' + v.name + '\n' + std::string(config::ToString(v.api)) + '\n' +
         v.base_url + '\n' + v.api_key.Source() + '\n' + v.price_table;
}

std::string PromptWithNonce(const std::string& prompt, const std::string& nonce) {
  return "[probe " + nonce + "] " + prompt;
}

std::string NewNonce() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(generator()));
  return buffer;
}

int64_t EstimateInputTokens(const std::string& prompt) {
  return static_cast<int64_t>(prompt.size()) + 8;
}

ChatProbeRun::ChatProbeRun(const ProbeSpec& spec, const base::Clock& clock, std::string nonce)
    : spec_(spec), clock_(clock), stream_(spec.vendor.api) {
  const auto& probe = spec_.probe;
  const auto& vendor = spec_.vendor;
  const wire::Dialect& dialect = wire::DialectFor(vendor.api);
  wire::ChatRequest request;
  request.model = probe.model;
  request.prompt = PromptWithNonce(probe.prompt, nonce);
  request.max_tokens = probe.max_tokens;
  request.stream = probe.stream;
  request.reasoning_effort = probe.reasoning_effort;
  request_body_ = dialect.BuildChatRequest(request);
  url_ = vendor.base_url + std::string(dialect.chat_path);

  easy_ = curl_easy_init();
  headers_ = curl_slist_append(headers_, "Content-Type: application/json");
  headers_ = curl_slist_append(
      headers_, probe.stream ? "Accept: text/event-stream" : "Accept: application/json");
  for (const std::string& header : dialect.Headers(vendor.api_key.Reveal())) {
    headers_ = curl_slist_append(headers_, header.c_str());
  }
  url_ = transport_.Apply(easy_, vendor.transport, url_);
  curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, request_body_.c_str());
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE, static_cast<long>(request_body_.size()));
  curl_easy_setopt(easy_, CURLOPT_USERAGENT, "llm_exporter");
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &ChatProbeRun::OnData);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &ResponseHeaders::OnHeader);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, &response_headers_);
  curl_easy_setopt(easy_, CURLOPT_PRIVATE, this);
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy_, CURLOPT_FORBID_REUSE, 1L);  // each run measures connect and TLS
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
  SetTimeout(probe.timeout);

  start_ = clock_.Monotonic();
  started_at_ = clock_.Wall();
  base::Log().Write(base::LogLevel::kDebug, __FILE__, __LINE__, "Beginning probe",
                    {{"target", probe.name},
                     {"url", url_},
                     {"stream", probe.stream},
                     {"timeout", static_cast<int64_t>(probe.timeout.count())}},
                    &log_);
}

ChatProbeRun::~ChatProbeRun() {
  if (easy_ != nullptr) curl_easy_cleanup(easy_);
  curl_slist_free_all(headers_);
}

void ChatProbeRun::SetTimeout(std::chrono::milliseconds timeout) {
  curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(timeout.count(), 10'000)));
}

bool ChatProbeRun::StreamingReply() const {
  return spec_.probe.stream && status_ >= 200 && status_ < 300 &&
         response_headers_.content_type.find("text/event-stream") != std::string::npos;
}

size_t ChatProbeRun::OnData(char* data, size_t size, size_t count, void* self_ptr) {
  auto* self = static_cast<ChatProbeRun*>(self_ptr);
  self->Consume(std::string_view(data, size * count));
  return size * count;
}

void ChatProbeRun::Consume(std::string_view chunk) {
  auto now = clock_.Monotonic();
  if (!first_byte_) {
    first_byte_ = now;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status_);
  }
  if (!StreamingReply()) {
    size_t room = kMaxBodyBytes - std::min(kMaxBodyBytes, body_.size());
    if (chunk.size() > room) body_truncated_ = true;
    body_.append(chunk.substr(0, room));
    return;
  }
  std::vector<wire::SseEvent> events;
  (void)sse_.Feed(chunk, events);  // a failed parser shows as MidEvent() at the end
  for (const auto& event : events) {
    bool first = stream_.OnEvent(event);
    const wire::StreamSummary& s = stream_.summary();
    int64_t token_events = s.content_deltas + s.reasoning_deltas + s.tool_deltas;
    if (first) first_token_ = now;
    if (token_events > token_events_) {
      token_events_ = token_events;
      last_token_ = now;
    }
  }
}

ProbeResult ChatProbeRun::Finish(CURLcode code) {
  ProbeResult result;
  result.target = spec_.probe.name;
  result.stream = spec_.probe.stream;
  result.started_at = started_at_;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status_);
  result.http_status = status_;
  double resolve = CurlSeconds(easy_, CURLINFO_NAMELOOKUP_TIME_T);
  double connect = CurlSeconds(easy_, CURLINFO_CONNECT_TIME_T);
  double tls = CurlSeconds(easy_, CURLINFO_APPCONNECT_TIME_T);
  result.timings.resolve = resolve;
  result.timings.connect = std::max(0.0, connect - resolve);
  result.timings.tls = tls > 0 ? std::max(0.0, tls - connect) : 0;
  result.timings.first_byte = first_byte_ ? Seconds(*first_byte_ - start_)
                                          : CurlSeconds(easy_, CURLINFO_STARTTRANSFER_TIME_T);
  result.timings.total = Seconds(clock_.Monotonic() - start_);
  if (first_token_) result.timings.first_token = Seconds(*first_token_ - start_);

  Classify(code, result);
  curl_off_t request_bytes = 0;
  long header_bytes = 0;
  curl_easy_getinfo(easy_, CURLINFO_SIZE_UPLOAD_T, &request_bytes);
  curl_easy_getinfo(easy_, CURLINFO_REQUEST_SIZE, &header_bytes);
  result.request_written = request_bytes > 0 || header_bytes > 0 || first_byte_.has_value();

  if (result.usage_present) {
    int64_t tokens = result.usage.output > 0 ? result.usage.output : token_events_;
    if (first_token_ && last_token_ && *last_token_ > *first_token_ && tokens > 1) {
      result.output_tokens_per_second =
          static_cast<double>(tokens - 1) / Seconds(*last_token_ - *first_token_);
    }
  }
  if ((status_ == 429 || status_ == 503 || status_ == 529) &&
      !response_headers_.retry_after.empty()) {
    result.retry_after_seconds =
        wire::ParseRetryAfterSeconds(response_headers_.retry_after, clock_.Wall());
  }
  result.success = result.failure == ProbeFailure::kNone;
  result.message = spec_.vendor.api_key.Redact(std::move(result.message));
  if (result.success) {
    base::Log().Write(base::LogLevel::kDebug, __FILE__, __LINE__, "Probe succeeded",
                      {{"target", result.target},
                       {"duration_seconds", result.timings.total},
                       {"status", static_cast<int64_t>(status_)}},
                      &log_);
  } else {
    base::Log().Write(base::LogLevel::kDebug, __FILE__, __LINE__, "Probe failed",
                      {{"target", result.target},
                       {"reason", ProbeFailureName(result.failure)},
                       {"status", static_cast<int64_t>(status_)},
                       {"err", result.message},
                       {"duration_seconds", result.timings.total}},
                      &log_);
  }
  // A vendor may echo the key back in an error message.
  result.message = spec_.vendor.api_key.Redact(std::move(result.message));
  result.answer = spec_.vendor.api_key.Redact(std::move(result.answer));
  for (std::string line : log_.Lines()) result.log.push_back(spec_.vendor.api_key.Redact(line));
  return result;
}

void ChatProbeRun::Classify(CURLcode code, ProbeResult& result) {
  switch (ClassifyCurlCode(code)) {
    case TransportFailure::kNone:
      break;
    case TransportFailure::kTimeout:
      result.failure = ProbeFailure::kTimeout;
      result.message = "timed out";
      return;
    case TransportFailure::kConnect:
      result.failure = ProbeFailure::kConnect;
      result.message = curl_easy_strerror(code);
      return;
    case TransportFailure::kTls:
      result.failure = ProbeFailure::kTls;
      result.message = curl_easy_strerror(code);
      return;
    case TransportFailure::kBroken:
      // The connection broke: before any reply it is a connection failure,
      // after the reply began the answer is incomplete.
      result.failure = first_byte_ ? ProbeFailure::kInvalidResponse : ProbeFailure::kConnect;
      result.message = std::string("transfer failed: ") + curl_easy_strerror(code);
      return;
  }
  if (StreamingReply()) {
    ClassifyStream(result);
  } else {
    ClassifyBody(result);
  }
  if (result.failure == ProbeFailure::kNone && !MatchesExpect(spec_.probe.expect, result.answer)) {
    result.failure = ProbeFailure::kContentMismatch;
    result.message = "answer does not match expect: " + wire::ErrorMessageForLog(result.answer);
  }
  if (result.answer.size() > kMaxAnswerBytes) result.answer.resize(kMaxAnswerBytes);
}

void ChatProbeRun::ClassifyStream(ProbeResult& result) {
  const wire::StreamSummary& s = stream_.summary();
  result.usage = s.usage;
  result.usage_present = s.usage_complete;
  result.answer = s.text;
  std::optional<wire::WireError> error = stream_.FinalError();
  if (error) {
    result.failure =
        FromWire(error->reason == wire::FailureReason::kNone ? wire::FailureReason::kInvalidResponse
                                                             : error->reason);
    result.message =
        s.terminated || s.error ? Describe(*error) : "stream ended without its terminator";
    return;
  }
  if (sse_.MidEvent()) {
    result.failure = ProbeFailure::kInvalidResponse;
    result.message = "stream ended inside an event";
  }
}

void ChatProbeRun::ClassifyBody(ProbeResult& result) {
  if (body_truncated_) {
    result.failure = ProbeFailure::kInvalidResponse;
    result.message = "reply larger than " + std::to_string(kMaxBodyBytes) + " bytes";
    return;
  }
  wire::WireError error = wire::ClassifyHttpReply(static_cast<int>(status_), body_);
  if (error.reason != wire::FailureReason::kNone) {
    result.failure = FromWire(error.reason);
    result.message = "HTTP " + std::to_string(status_) + ": " + Describe(error);
    return;
  }
  auto reply = wire::DialectFor(spec_.vendor.api).ParseReply(body_);
  if (!reply) {
    result.failure = FromWire(reply.error().reason == wire::FailureReason::kNone
                                  ? wire::FailureReason::kInvalidResponse
                                  : reply.error().reason);
    result.message = Describe(reply.error());
    return;
  }
  if (spec_.probe.stream) {
    // Asked for a stream, got a whole reply: valid, but nothing to time per token.
    base::Log().Write(base::LogLevel::kDebug, __FILE__, __LINE__,
                      "Vendor answered a streaming request without streaming",
                      {{"target", spec_.probe.name}}, &log_);
  }
  result.usage = reply->usage;
  result.usage_present = reply->usage_present;
  result.answer = reply->content.empty() ? reply->reasoning_content : reply->content;
}

}  // namespace llm_exporter::probes
