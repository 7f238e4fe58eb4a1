#include "proxy/reply_tap.h"

#include <rapidjson/document.h>

#include <cstddef>
#include <cstring>

#include "base/json.h"
#include "base/text.h"
#include "wire/anthropic_messages.h"
#include "wire/openai_chat.h"

namespace llm_exporter::proxy {
namespace {

bool IsEventStream(std::string_view content_type) {
  const size_t semicolon = content_type.find(';');
  std::string_view type = content_type.substr(0, semicolon);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  return base::EqualsIgnoreCase(type, "text/event-stream");
}

// Where the last "usage" key of `text` starts, or npos: from quote to quote
// backwards (string_view::rfind compares at every byte).
size_t LastUsageKey(std::string_view text) {
  constexpr std::string_view kKey = "\"usage\"";
  size_t end = text.size();
  while (end >= kKey.size()) {
    const void* quote = memrchr(text.data(), '"', end - kKey.size() + 1);
    if (quote == nullptr) return std::string_view::npos;
    const size_t at = static_cast<size_t>(static_cast<const char*>(quote) - text.data());
    if (text.compare(at, kKey.size(), kKey) == 0) return at;
    end = at + kKey.size() - 1;
  }
  return std::string_view::npos;
}

}  // namespace

ReplyTap::ReplyTap(const EndpointInfo& endpoint, bool strip_usage_chunk)
    : endpoint_(endpoint), strip_requested_(strip_usage_chunk) {}

void ReplyTap::Start(long status, std::string_view content_type) {
  success_ = status >= 200 && status < 300;
  stream_ = success_ && IsEventStream(content_type);
  if (!stream_) return;
  strip_ = strip_requested_;
  parser_.emplace(wire::SseParser::Options{wire::SseParser::kDefaultMaxBlockBytes, strip_});
  accumulator_.emplace(endpoint_.stream_kind, 0);
}

bool ReplyTap::Feed(std::string_view data, std::string& out) {
  if (!stream_) {
    out.append(data);
    body_size_ += data.size();
    if (body_.size() < kWholeBodyBytes) {
      const size_t take = std::min(data.size(), kWholeBodyBytes - body_.size());
      body_.append(data.substr(0, take));
      data.remove_prefix(take);
    }
    if (!data.empty()) {
      tail_.append(data);
      if (tail_.size() > 2 * kTailBytes) tail_.erase(0, tail_.size() - kTailBytes);
    }
    return false;
  }
  if (!strip_) out.append(data);
  if (parser_->failed()) {
    if (strip_) out.append(data);
    return false;
  }
  if (strip_) held_.append(data);
  events_.clear();
  const bool ok = parser_->Feed(data, events_).has_value();
  bool first_token = false;
  for (const wire::SseEvent& event : events_) {
    first_token = accumulator_->OnEvent(event) || first_token;
    if (!strip_) continue;
    // Blocks come in order: each is the front of what is held.
    const bool usage = event.has_data && event.raw.find("\"usage\"") != std::string::npos;
    if (usage && wire::IsUsageOnlyChunk(event.data)) {
      // The chunk the proxy asked for: the client never sees it.
    } else if (auto trimmed = usage ? wire::WithoutNullUsage(event.raw) : std::nullopt) {
      // Nor the "usage":null that asking added to every other chunk.
      out.append(*trimmed);
    } else {
      out.append(held_, 0, event.raw.size());
    }
    held_.erase(0, event.raw.size());
  }
  if (!ok && strip_) {
    // Beyond the parser's bound: relay the rest untouched.
    out.append(held_);
    held_.clear();
  }
  return first_token;
}

void ReplyTap::End(std::string& out) {
  out.append(held_);
  held_.clear();
}

std::optional<pricing::Usage> ReplyTap::UsageOfBody() const {
  // Only the usage object is parsed, not the reply around it (vendors put it
  // at the top level, after the content): the one after the last "usage" key
  // of a body kept whole, or of the tail of a longer one.
  std::string_view text = body_size_ > body_.size() ? tail_ : body_;
  const size_t key = LastUsageKey(text);
  if (key == std::string_view::npos) return std::nullopt;
  const size_t open = text.find('{', key);
  if (open == std::string_view::npos) return std::nullopt;
  text.remove_prefix(open);
  // A usage object fits these buffers: no allocation (more comes from the heap).
  // (The pools keep their bookkeeping in the buffers: aligned, and the parse
  // stack asks for less than its buffer holds.)
  alignas(std::max_align_t) char values[2048];
  rapidjson::MemoryPoolAllocator<> value_allocator(values, sizeof values);
  rapidjson::Value object;
  // base::ParseJson's rules (no NUL, bounded nesting, iterative parsing), over
  // the rest of the body, parsing stopping where the object ends. The usual
  // usage object needs no RapidJSON reader, which costs about as much as the
  // rest of the request's work in the proxy; then only what follows it is
  // left to check.
  std::string_view rest = text;
  if (const std::optional<size_t> end = base::ParseSimpleObject(text, object, value_allocator)) {
    rest.remove_prefix(*end);
  }
  if (rest.find('\0') != std::string_view::npos ||
      !base::WithinNestingDepth(rest, base::kMaxJsonDepth)) {
    return std::nullopt;
  }
  if (!object.IsObject()) {
    alignas(std::max_align_t) char stack[1024];
    rapidjson::MemoryPoolAllocator<> stack_allocator(stack, sizeof stack);
    rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>,
                               rapidjson::MemoryPoolAllocator<>>
        doc(&value_allocator, 512, &stack_allocator);
    doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag>(text.data(),
                                                                                  text.size());
    if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
    object.Swap(doc);
  }
  auto usage = endpoint_.dialect == config::WireApi::kAnthropic
                   ? wire::AnthropicUsageFromJson(object)
                   : wire::OpenAiUsageFromJson(object);
  if (!usage) return std::nullopt;
  return *usage;
}

ReplyTap::Result ReplyTap::Finish() const {
  Result result;
  result.stream = stream_;
  if (!success_) return result;
  if (stream_) {
    const wire::StreamSummary& summary = accumulator_->summary();
    result.deltas = summary.content_deltas + summary.reasoning_deltas + summary.tool_deltas;
    // Anthropic's message_start carries input before the final count: only a
    // complete usage is the reply's usage.
    if (summary.usage_complete) {
      result.usage_present = true;
      result.usage = summary.usage;
    }
    return result;
  }
  if (auto usage = UsageOfBody()) {
    result.usage_present = true;
    result.usage = *usage;
  }
  return result;
}

}  // namespace llm_exporter::proxy
