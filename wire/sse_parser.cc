#include "wire/sse_parser.h"

#include <utility>

namespace llm_exporter::wire {

SseParser::SseParser(Options options) : options_(options) {}

bool SseParser::Consume(std::string_view bytes) {
  if (bytes.size() > options_.max_block_bytes - block_bytes_) {
    failed_ = true;
    line_.clear();
    data_.clear();
    raw_.clear();
    return false;
  }
  block_bytes_ += bytes.size();
  if (options_.keep_raw) raw_.append(bytes);
  return true;
}

std::expected<void, SseError> SseParser::Feed(std::string_view chunk,
                                              std::vector<SseEvent>& events) {
  if (failed_) return std::unexpected(SseError::kBlockTooLarge);
  size_t pos = 0;
  if (after_cr_ && !chunk.empty()) {
    after_cr_ = false;
    if (chunk.front() == '\n') {
      if (!Consume(chunk.substr(0, 1))) return std::unexpected(SseError::kBlockTooLarge);
      pos = 1;
    }
  }
  while (pos < chunk.size()) {
    const size_t eol = chunk.find_first_of("\r\n", pos);
    if (eol == std::string_view::npos) {
      const std::string_view rest = chunk.substr(pos);
      if (!Consume(rest)) return std::unexpected(SseError::kBlockTooLarge);
      line_.append(rest);
      break;
    }
    size_t terminator = 1;
    if (chunk[eol] == '\r') {
      if (eol + 1 < chunk.size()) {
        if (chunk[eol + 1] == '\n') terminator = 2;
      } else {
        after_cr_ = true;
      }
    }
    const std::string_view content = chunk.substr(pos, eol - pos);
    if (!Consume(chunk.substr(pos, eol - pos + terminator))) {
      return std::unexpected(SseError::kBlockTooLarge);
    }
    line_.append(content);
    ProcessLine(events);
    pos = eol + terminator;
  }
  return {};
}

std::expected<std::vector<SseEvent>, SseError> SseParser::Feed(std::string_view chunk) {
  std::vector<SseEvent> events;
  auto fed = Feed(chunk, events);
  if (!fed) return std::unexpected(fed.error());
  return events;
}

void SseParser::ProcessLine(std::vector<SseEvent>& events) {
  std::string_view line = line_;
  if (first_line_) {
    first_line_ = false;
    constexpr std::string_view kBom = "\xEF\xBB\xBF";
    if (line.starts_with(kBom)) line.remove_prefix(kBom.size());
  }
  if (line.empty()) {
    line_.clear();
    EndBlock(events);
    return;
  }
  if (line.front() != ':') {
    block_has_fields_ = true;
    const size_t colon = line.find(':');
    const std::string_view field = line.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
      value = line.substr(colon + 1);
      if (value.starts_with(' ')) value.remove_prefix(1);
    }
    if (field == "data") {
      data_.append(value);
      data_.push_back('\n');
      has_data_ = true;
    } else if (field == "event") {
      name_.assign(value);
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
    }
  }
  line_.clear();
}

void SseParser::EndBlock(std::vector<SseEvent>& events) {
  if (has_data_ || options_.keep_raw) {
    SseEvent event;
    event.has_data = has_data_;
    if (has_data_) {
      data_.pop_back();
      event.name = std::move(name_);
      event.data = std::move(data_);
      event.id = last_id_;
    }
    event.raw = std::move(raw_);
    events.push_back(std::move(event));
  }
  name_.clear();
  data_.clear();
  raw_.clear();
  has_data_ = false;
  block_has_fields_ = false;
  block_bytes_ = 0;
}

bool SseParser::MidEvent() const { return failed_ || !line_.empty() || block_has_fields_; }

}  // namespace llm_exporter::wire
