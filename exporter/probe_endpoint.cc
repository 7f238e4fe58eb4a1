// /probe?target=NAME: one run now, blackbox_exporter-style.

#include <cmath>

#include "exporter/app.h"
#include "exporter/status_page.h"

namespace llm_exporter::exporter {

HttpResponse App::HandleProbe(const HttpRequest& request) {
  auto target = request.QueryParam("target");
  if (!target || target->empty()) {
    return HttpResponse::Text(400, "Target parameter is missing\n");
  }
  auto config = CurrentConfig();
  const config::ProbeConfig* probe = config->FindProbe(*target);
  if (probe == nullptr) {
    return HttpResponse::Text(400, "Unknown target \"" + *target + "\"\n");
  }
  // Blackbox-style: leave half a second of the scrape timeout for the reply.
  auto timeout = probe->timeout;
  std::string header = request.Header("x-prometheus-scrape-timeout-seconds");
  if (!header.empty()) {
    char* end = nullptr;
    double seconds = std::strtod(header.c_str(), &end);
    if (end != header.c_str() && seconds > 0 && std::isfinite(seconds)) {
      seconds = std::min(seconds, 3600.0);
      auto budget = std::chrono::milliseconds(static_cast<int64_t>((seconds - 0.5) * 1000));
      timeout = std::min(timeout, std::max(budget, std::chrono::milliseconds(0)));
    }
  }
  auto result = scheduler_->RunNow(*target, timeout);
  if (!result) {
    HttpResponse refused = HttpResponse::Text(result.error().status,
                                              result.error().message + " \"" + *target + "\"\n");
    if (result.error().status == 429) refused.headers.emplace_back("Retry-After", "1");
    return refused;
  }
  std::string metrics = RenderProbeResult(*result);
  if (request.QueryParam("debug").value_or("") == "true") {
    std::string text = "Logs for the probe:\n";
    for (const auto& line : result->log) text += line + "\n";
    text += "\n\nMetrics that would have been returned:\n" + metrics;
    text += "\n\nProbe configuration:\n" + ProbeConfigText(*config, *probe);
    return HttpResponse::Text(200, text);
  }
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = metrics;
  return response;
}

}  // namespace llm_exporter::exporter
