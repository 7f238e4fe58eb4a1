#include "proxy/local_reply.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <boost/beast/http/status.hpp>

namespace llm_exporter::proxy {
namespace {

struct ErrorKind {
  std::string_view openai_type;
  std::string_view openai_code;  // empty: null
  std::string_view anthropic_type;
};

ErrorKind KindOf(int status) {
  switch (status) {
    case 400:
      return {"invalid_request_error", "", "invalid_request_error"};
    case 401:
      return {"invalid_request_error", "invalid_api_key", "authentication_error"};
    case 404:
      return {"invalid_request_error", "model_not_found", "not_found_error"};
    case 405:
      return {"invalid_request_error", "method_not_allowed", "invalid_request_error"};
    case 413:
      return {"invalid_request_error", "request_too_large", "request_too_large"};
    case 502:
      return {"api_error", "upstream_unreachable", "api_error"};
    case 503:
      return {"api_error", "proxy_overloaded", "overloaded_error"};
    case 504:
      return {"api_error", "upstream_timeout", "timeout_error"};
    default:
      return {"api_error", "", "api_error"};
  }
}

void Key(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}
void Text(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

}  // namespace

std::string ErrorBody(config::WireApi dialect, int status, std::string_view message) {
  const ErrorKind kind = KindOf(status);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  if (dialect == config::WireApi::kAnthropic) {
    Key(w, "type");
    Text(w, "error");
    Key(w, "error");
    w.StartObject();
    Key(w, "type");
    Text(w, kind.anthropic_type);
    Key(w, "message");
    Text(w, message);
    w.EndObject();
  } else {
    Key(w, "error");
    w.StartObject();
    Key(w, "message");
    Text(w, message);
    Key(w, "type");
    Text(w, kind.openai_type);
    Key(w, "param");
    w.Null();
    Key(w, "code");
    if (kind.openai_code.empty()) {
      w.Null();
    } else {
      Text(w, kind.openai_code);
    }
    w.EndObject();
  }
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string JsonResponse(int status, std::string_view body, bool close) {
  const auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  std::string out =
      "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason.data(), reason.size()) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n";
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace llm_exporter::proxy
