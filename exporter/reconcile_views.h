#pragma once

// The reconciliation rows as the exporter shows them: the llm_reconciliation_*
// series, /reconcile?format=json (money as exact decimal strings, ratios as
// numbers) and the HTML table of /reconcile and /details.

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "reconcile/reconciliation.h"

namespace llm_exporter::exporter {

std::vector<prometheus::MetricFamily> ReconciliationMetrics(
    const std::vector<reconcile::ReconciliationRow>& rows);
std::string ReconciliationJson(const std::vector<reconcile::ReconciliationRow>& rows);
// An HTML table (no page frame), for /reconcile and the status page.
std::string ReconciliationTable(const std::vector<reconcile::ReconciliationRow>& rows);
}  // namespace llm_exporter::exporter
