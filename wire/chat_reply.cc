#include "wire/chat_reply.h"

#include <algorithm>

#include "wire/error_body.h"

namespace llm_exporter::wire {

void StreamAccumulatorBase::AppendText(std::string_view text) {
  const size_t room = max_text_bytes_ - std::min(max_text_bytes_, summary_.text.size());
  if (text.size() > room) summary_.text_truncated = true;
  summary_.text.append(text.substr(0, room));
}

std::optional<WireError> StreamAccumulatorBase::FinalErrorOr(std::string_view unterminated) const {
  if (summary_.error) return summary_.error;
  if (!summary_.terminated) return internal::InvalidResponse(unterminated);
  return std::nullopt;
}

}  // namespace llm_exporter::wire
