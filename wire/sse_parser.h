#pragma once

// Incremental parser for text/event-stream (WHATWG HTML "server-sent events"
// interpretation). Feed it chunks exactly as they come off the wire; an event
// is reported only once its terminating blank line has arrived, so a stream
// cut mid-event never yields a half event (ask MidEvent() at end of input).
// Lines may end in \n, \r\n or \r, and a \r\n pair may be split across chunks.
// Lines starting with ':' are comments; unknown fields are ignored; multiple
// "data:" lines are joined with \n; a block without data is not an event.
//
// Memory is bounded: a block (everything since the previous blank line,
// including an unterminated line) larger than `max_block_bytes` puts the parser
// in a permanent error state instead of growing without limit.
//
// With `keep_raw`, every block (events and data-less blocks such as keep-alive
// comments) is reported with its exact input bytes, so a proxy can forward the
// stream losslessly event by event, or drop one event.

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace llm_exporter::wire {

struct SseEvent {
  std::string name;  // the "event:" field; empty means the default "message"
  std::string data;  // "data:" lines joined with \n
  std::string id;    // the last event ID in effect (it persists across events)
  // False only with keep_raw, for a block that carried no data.
  bool has_data = true;
  std::string raw;  // with keep_raw: the block's exact bytes, blank line included
};

enum class SseError {
  kBlockTooLarge,  // a line or event exceeded max_block_bytes
};

class SseParser {
 public:
  static constexpr size_t kDefaultMaxBlockBytes = 1 << 20;

  struct Options {
    size_t max_block_bytes = kDefaultMaxBlockBytes;
    bool keep_raw = false;
  };

  SseParser() : SseParser(Options{}) {}
  explicit SseParser(Options options);

  // Appends the blocks completed by `chunk` to `events`. On error, the events
  // completed before the limit was hit are still appended, and every later
  // call fails too.
  std::expected<void, SseError> Feed(std::string_view chunk, std::vector<SseEvent>& events);
  // Convenience form; on error the events of this chunk are lost.
  std::expected<std::vector<SseEvent>, SseError> Feed(std::string_view chunk);

  // True if input so far ends inside an event: an unterminated line, or
  // fields since the last blank line (comment-only tails do not count), or
  // the parser failed.
  bool MidEvent() const;
  bool failed() const { return failed_; }
  // With keep_raw: the bytes not yet reported in any block.
  std::string_view pending_raw() const { return raw_; }

 private:
  void ProcessLine(std::vector<SseEvent>& events);
  void EndBlock(std::vector<SseEvent>& events);
  bool Consume(std::string_view bytes);

  Options options_;
  std::string line_;
  std::string name_;
  std::string data_;
  std::string last_id_;
  std::string raw_;
  size_t block_bytes_ = 0;
  bool has_data_ = false;
  bool block_has_fields_ = false;
  bool after_cr_ = false;
  bool first_line_ = true;
  bool failed_ = false;
};

}  // namespace llm_exporter::wire
