#pragma once

// The price tables in force: an immutable index over price rows from TOML
// files and, optionally, LiteLLM's price map.
//
// Lookup of (table, model) at a time point, in order:
//   1. the exact model name;
//   2. the longest glob that matches (ties: the row defined first);
//   3. for a dated snapshot name (suffix -YYYYMMDD or -YYYY-MM-DD, e.g.
//      claude-sonnet-4-5-20250929, gpt-4.1-2025-04-14), steps 1 and 2 for the
//      name without the suffix.
// Within a name or glob the row with the latest effective_from not after the
// time point applies (effective_from is a UTC day: from 00:00:00 UTC on). A
// name or glob without a row in effect yet is skipped, so the next step can
// still apply. No match: nullptr; the caller counts the request as unpriced
// and never guesses a cost.
//
// TOML rows replace every LiteLLM row with the same table and model string.
// A PriceBook is safe to read from many threads; pointers it returns live as
// long as it does.

#include <chrono>
#include <cstddef>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pricing/price_row.h"

namespace llm_exporter::pricing {

class PriceBook {
 public:
  PriceBook() = default;
  PriceBook(std::vector<PriceRow> toml_rows, std::vector<PriceRow> litellm_rows);

  const PriceRow* Find(std::string_view table, std::string_view model,
                       std::chrono::system_clock::time_point at) const;

  // For display and metrics: per (table, model or glob), the row in effect at
  // `at`, sorted by table then model. Names with no row in effect yet are left out.
  std::vector<const PriceRow*> InEffect(std::chrono::system_clock::time_point at) const;

  bool HasTable(std::string_view table) const;
  const std::vector<PriceRow>& rows() const { return rows_; }

 private:
  struct Name {
    std::string model;
    std::vector<size_t> rows;  // into rows_, by effective_from ascending
  };
  struct Table {
    std::map<std::string, size_t, std::less<>> exact;  // model -> names_
    std::vector<size_t> globs;                         // into names_, longest first
  };

  const PriceRow* InEffect(const Name& name, std::chrono::system_clock::time_point at) const;
  const PriceRow* FindIn(const Table& table, std::string_view model,
                         std::chrono::system_clock::time_point at) const;

  std::vector<PriceRow> rows_;
  std::vector<Name> names_;
  std::map<std::string, Table, std::less<>> tables_;
};

// Reads and validates the TOML price files and the LiteLLM JSON ("" = none).
// Every problem in every file is reported.
std::expected<PriceBook, std::vector<std::string>> LoadPriceBook(
    const std::vector<std::string>& toml_files, const std::string& litellm_json);

// '*' matches any run of characters, '?' one character; everything else itself.
bool GlobMatch(std::string_view pattern, std::string_view text);
bool IsGlob(std::string_view model);

// "claude-sonnet-4-5" for "claude-sonnet-4-5-20250929", "gpt-4.1" for
// "gpt-4.1-2025-04-14"; nullopt when the name has no date suffix.
std::optional<std::string_view> SnapshotBase(std::string_view model);

}  // namespace llm_exporter::pricing
