#pragma once

// API keys as values that do not leak: from env vars or files, never printed.

#include <ostream>
#include <string>

namespace llm_exporter::base {

// An API key. Its value is only reachable through Reveal(), for the one place
// that puts it on the wire; streaming a Secret prints "<secret>".
class Secret {
 public:
  Secret() = default;
  Secret(std::string source, std::string value)
      : source_(std::move(source)), value_(std::move(value)) {}
  bool Empty() const { return value_.empty(); }
  const std::string& Reveal() const { return value_; }
  // Where the key comes from ("env FOO" or "file /path"): safe to display.
  const std::string& Source() const { return source_; }
  // `text` with every occurrence of the key replaced by <secret>: for vendor
  // replies that echo the key back.
  std::string Redact(std::string text) const;

 private:
  std::string source_;
  std::string value_;
};
std::ostream& operator<<(std::ostream& out, const Secret& secret);

}  // namespace llm_exporter::base
