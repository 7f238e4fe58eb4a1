#pragma once

// gzip for HTTP responses: Prometheus asks for it on every scrape, and a
// 900 KB exposition compresses to a small fraction of that.

#include <optional>
#include <string>
#include <string_view>

namespace llm_exporter::exporter {

// Whether an Accept-Encoding header value accepts gzip (a "gzip" or "*"
// coding whose q is not 0).
bool AcceptsGzip(std::string_view accept_encoding);
// `data` as a gzip stream (fast compression level), or nullopt on failure.
std::optional<std::string> Gzip(std::string_view data);

}  // namespace llm_exporter::exporter
