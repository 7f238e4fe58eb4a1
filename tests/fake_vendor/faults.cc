#include "tests/fake_vendor/faults.h"

#include <charconv>
#include <utility>

namespace llm_exporter::fake_vendor {
namespace {

struct NamedFault {
  Fault fault;
  std::string_view name;
};

constexpr NamedFault kFaultNames[] = {
    {Fault::kNone, "none"},
    {Fault::kSlowFirstByte, "slow_first_byte"},
    {Fault::kStall, "stall"},
    {Fault::kReset, "reset"},
    {Fault::kTruncated, "truncated"},
    {Fault::kHttp401, "http_401"},
    {Fault::kHttp429, "http_429"},
    {Fault::kHttp500, "http_500"},
    {Fault::kHttp529, "http_529"},
    {Fault::kError200, "error_200"},
    {Fault::kHtml, "html"},
    {Fault::kMidstreamError, "midstream_error"},
    {Fault::kWrongContent, "wrong_content"},
    {Fault::kNoUsage, "no_usage"},
    {Fault::kHugeUsage, "huge_usage"},
    {Fault::kEchoKey401, "echo_key_401"},
};

}  // namespace

std::string_view FaultName(Fault fault) {
  for (const auto& entry : kFaultNames) {
    if (entry.fault == fault) return entry.name;
  }
  return "none";
}

std::optional<Fault> ParseFaultName(std::string_view name) {
  for (const auto& entry : kFaultNames) {
    if (entry.name == name) return entry.fault;
  }
  return std::nullopt;
}

std::vector<Fault> AllFaults() {
  std::vector<Fault> all;
  for (const auto& entry : kFaultNames) all.push_back(entry.fault);
  return all;
}

bool FaultStillServes(Fault fault) {
  switch (fault) {
    case Fault::kNone:
    case Fault::kSlowFirstByte:
    case Fault::kWrongContent:
    case Fault::kNoUsage:
    case Fault::kHugeUsage:
      return true;
    default:
      return false;
  }
}

std::expected<FaultSpec, std::string> ParseFaultSpec(std::string_view text) {
  const size_t colon = text.find(':');
  const std::string_view name = text.substr(0, colon);
  const std::optional<Fault> fault = ParseFaultName(name);
  if (!fault) return std::unexpected("unknown fault \"" + std::string(name) + "\"");
  FaultSpec spec{*fault, std::nullopt};
  if (colon == std::string_view::npos) return spec;
  const std::string_view count_text = text.substr(colon + 1);
  int64_t count = 0;
  const auto [end, error] =
      std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (error != std::errc() || end != count_text.data() + count_text.size() || count < 1) {
    return std::unexpected("fault count must be a positive integer, got \"" +
                           std::string(count_text) + "\"");
  }
  spec.count = count;
  return spec;
}

void FaultSchedule::Set(FaultSpec spec) {
  std::lock_guard lock(mutex_);
  spec_ = spec;
}

Fault FaultSchedule::Take() {
  std::lock_guard lock(mutex_);
  const Fault fault = spec_.fault;
  if (spec_.count && --*spec_.count <= 0) spec_ = FaultSpec{};
  return fault;
}

void FaultSchedule::Reset() { Set(FaultSpec{}); }

FaultSpec FaultSchedule::Current() const {
  std::lock_guard lock(mutex_);
  return spec_;
}

}  // namespace llm_exporter::fake_vendor
