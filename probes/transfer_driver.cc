#include "probes/transfer_driver.h"

#include <algorithm>
#include <cctype>

namespace llm_exporter::probes {

TransferDriver::TransferDriver() : multi_(curl_multi_init()) {}

TransferDriver::~TransferDriver() {
  if (multi_ != nullptr) curl_multi_cleanup(multi_);
}

bool TransferDriver::Add(CURL* easy) {
  return multi_ != nullptr && curl_multi_add_handle(multi_, easy) == CURLM_OK;
}

void TransferDriver::Remove(CURL* easy) {
  if (multi_ != nullptr) curl_multi_remove_handle(multi_, easy);
}

void TransferDriver::Wake() {
  if (multi_ != nullptr) curl_multi_wakeup(multi_);
}

void TransferDriver::Run(const std::atomic<bool>& stop, const Hooks& hooks,
                         std::chrono::milliseconds max_wait) {
  if (multi_ == nullptr) return;
  while (!stop) {
    hooks.start_due();
    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;
      curl_multi_remove_handle(multi_, easy);
      hooks.done(easy, code);
    }
    auto wait = max_wait;
    if (auto due = hooks.next_due()) {
      const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*due - Clock::now());
      wait = std::clamp(until, std::chrono::milliseconds(1), max_wait);
    }
    // libcurl shortens the wait to its own timers (new handles, timeouts).
    curl_multi_poll(multi_, nullptr, 0, static_cast<int>(wait.count()), nullptr);
  }
}

CURLcode TransferDriver::RunOne(CURL* easy, const std::atomic<bool>& stop) {
  CURLM* multi = curl_multi_init();
  if (multi == nullptr || curl_multi_add_handle(multi, easy) != CURLM_OK) {
    if (multi != nullptr) curl_multi_cleanup(multi);
    return CURLE_FAILED_INIT;
  }
  CURLcode code = CURLE_ABORTED_BY_CALLBACK;
  bool done = false;
  while (!done && !stop) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg == CURLMSG_DONE) {
        code = message->data.result;
        done = true;
      }
    }
    if (!done) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  curl_multi_remove_handle(multi, easy);
  curl_multi_cleanup(multi);
  return code;
}

size_t ResponseHeaders::OnHeader(char* data, size_t size, size_t count, void* self_ptr) {
  auto* self = static_cast<ResponseHeaders*>(self_ptr);
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    *self = ResponseHeaders{};
    return line.size();
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return line.size();
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  const size_t first = value.find_first_not_of(" \t\r\n");
  value = first == std::string_view::npos
              ? std::string_view()
              : value.substr(first, value.find_last_not_of(" \t\r\n") - first + 1);
  if (name == "content-type") self->content_type = std::string(value.substr(0, 200));
  if (name == "retry-after") self->retry_after = std::string(value.substr(0, 100));
  return line.size();
}

std::chrono::seconds CappedRetryAfter(int64_t seconds) {
  return std::chrono::seconds(std::clamp<int64_t>(seconds, 0, 3600));
}

int64_t PhaseByName(std::string_view name, int64_t period) {
  if (period <= 0) return 0;
  return static_cast<int64_t>(std::hash<std::string_view>{}(name) % static_cast<size_t>(period));
}

}  // namespace llm_exporter::probes
