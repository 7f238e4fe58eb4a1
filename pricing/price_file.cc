#include "pricing/price_file.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <string_view>
#include <tuple>

#include "base/decimal.h"
#include "base/toml_names.h"

namespace llm_exporter::pricing {
namespace {

constexpr std::array<std::string_view, 6> kPriceKeys = {
    "input", "cached_input", "cache_write", "cache_write_1h", "output", "reasoning"};

bool IsKnownKey(std::string_view key) {
  if (key == "table" || key == "model" || key == "effective_from" || key == "source" ||
      key == "long_context_threshold") {
    return true;
  }
  for (std::string_view price : kPriceKeys) {
    if (key == price) return true;
    if (key.starts_with("long_context_") && key.substr(13) == price) return true;
  }
  return false;
}

// Maps toml++ source positions (1-based lines, 1-based columns counted in code
// points) back to the bytes of the file, so a float's own text can be read.
class SourceText {
 public:
  explicit SourceText(std::string_view text) : text_(text) {
    // toml++ skips a UTF-8 byte order mark before counting columns.
    line_starts_.push_back(text.starts_with("\xEF\xBB\xBF") ? 3 : 0);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::optional<std::string_view> Slice(const toml::source_region& region) const {
    const auto begin = Offset(region.begin);
    const auto end = Offset(region.end);
    if (!begin || !end || *end < *begin) return std::nullopt;
    return text_.substr(*begin, *end - *begin);
  }

 private:
  std::optional<size_t> Offset(const toml::source_position& position) const {
    if (position.line == 0 || position.line > line_starts_.size() || position.column == 0) {
      return std::nullopt;
    }
    size_t offset = line_starts_[position.line - 1];
    for (toml::source_index column = 1; column < position.column; ++column) {
      if (offset >= text_.size()) return std::nullopt;
      ++offset;
      while (offset < text_.size() && (static_cast<unsigned char>(text_[offset]) & 0xC0) == 0x80) {
        ++offset;
      }
    }
    return offset;
  }

  std::string_view text_;
  std::vector<size_t> line_starts_;
};

// The decimal text a float was written as, or (if that cannot be recovered)
// the shortest text that reads back as the same double.
std::string FloatText(const toml::node& node, double value, const SourceText& source) {
  if (auto slice = source.Slice(node.source())) {
    std::string text;
    for (char c : *slice) {
      if (c != '_' && c != ' ' && c != '\t' && c != '\r' && c != '\n') text.push_back(c);
    }
    std::string_view digits = text;
    if (digits.starts_with('+')) digits.remove_prefix(1);
    double parsed = 0;
    const auto result = std::from_chars(digits.data(), digits.data() + digits.size(), parsed);
    if (result.ec == std::errc() && result.ptr == digits.data() + digits.size() &&
        parsed == value) {
      return text;
    }
  }
  return base::ShortestDecimal(value);
}

struct Location {
  std::string file;
  toml::source_position position;
};

struct RowKey {
  std::string table;
  std::string model;
  std::chrono::sys_days day;
  auto operator<=>(const RowKey&) const = default;
};

struct FirstRow {
  std::string file;
  size_t index = 0;
  toml::source_index line = 0;
};

class FileParser {
 public:
  FileParser(const PriceFileText& file, std::vector<std::string>& errors,
             std::map<RowKey, FirstRow>& seen, std::vector<PriceRow>& rows)
      : file_(file), source_(file.text), errors_(errors), seen_(seen), rows_(rows) {}

  void Parse() {
    toml::table root;
    try {
      root = toml::parse(std::string_view(file_.text), std::string_view(file_.name));
    } catch (const toml::parse_error& error) {
      Add(error.source().begin, std::string(error.description()));
      Finish();
      return;
    }
    for (auto&& [key, node] : root) {
      if (key.str() != "price") {
        Add(key.source().begin, std::string(key.str()) + ": unknown key");
        continue;
      }
      const toml::array* array = node.as_array();
      if (array == nullptr) {
        Add(node.source().begin, "price: expected an array of tables ([[price]]), got " +
                                     base::TomlTypeName(node.type()));
        continue;
      }
      for (size_t index = 0; index < array->size(); ++index) {
        const toml::node& element = *array->get(index);
        const std::string path = "price[" + std::to_string(index) + "]";
        if (const toml::table* row = element.as_table()) {
          ParseRow(*row, index, path);
        } else {
          Add(element.source().begin,
              path + ": expected a table, got " + base::TomlTypeName(element.type()));
        }
      }
    }
    Finish();
  }

 private:
  void Add(const toml::source_position& position, std::string message) {
    found_.push_back({position.line, position.column,
                      file_.name + ":" + std::to_string(position.line) + ":" +
                          std::to_string(position.column) + ": " + std::move(message)});
  }

  // Reports this file's errors in the order they appear in the file.
  void Finish() {
    std::stable_sort(found_.begin(), found_.end(), [](const Found& a, const Found& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    for (Found& found : found_) errors_.push_back(std::move(found.message));
    found_.clear();
  }

  void Error(const toml::source_position& position, const std::string& path, std::string_view key,
             std::string_view message) {
    Add(position, path + "." + std::string(key) + ": " + std::string(message));
  }

  void WrongType(const toml::node& node, const std::string& path, std::string_view key,
                 std::string_view expected) {
    Error(node.source().begin, path, key,
          "expected " + std::string(expected) + ", got " + base::TomlTypeName(node.type()));
  }

  std::optional<std::string> String(const toml::table& row, const std::string& path,
                                    std::string_view key, bool required) {
    const toml::node* node = row.get(key);
    if (node == nullptr) {
      if (required) Error(row.source().begin, path, key, "missing required key");
      return std::nullopt;
    }
    const auto* value = node->as_string();
    if (value == nullptr) {
      WrongType(*node, path, key, "a string");
      return std::nullopt;
    }
    if (required && value->get().empty()) {
      Error(node->source().begin, path, key, "must not be empty");
      return std::nullopt;
    }
    return value->get();
  }

  // Returns nullopt for an absent key; `ok` turns false on any error.
  std::optional<int64_t> Price(const toml::table& row, const std::string& path,
                               std::string_view key, bool& ok) {
    const toml::node* node = row.get(key);
    if (node == nullptr) return std::nullopt;
    std::string text;
    if (const auto* integer = node->as_integer()) {
      text = std::to_string(integer->get());
    } else if (const auto* floating = node->as_floating_point()) {
      if (!std::isfinite(floating->get())) {
        Error(node->source().begin, path, key, "must be a finite number");
        ok = false;
        return std::nullopt;
      }
      text = FloatText(*node, floating->get(), source_);
    } else {
      WrongType(*node, path, key, "a number");
      ok = false;
      return std::nullopt;
    }
    const auto nano = base::ScaleDecimal(text, 9, base::Rounding::kExact, kMaxPriceNano);
    if (nano) return *nano;
    ok = false;
    switch (nano.error()) {
      case base::DecimalError::kNegative:
        Error(node->source().begin, path, key, "must not be negative");
        break;
      case base::DecimalError::kTooPrecise:
        Error(node->source().begin, path, key,
              "more than 9 decimal places (USD per million tokens)");
        break;
      case base::DecimalError::kTooLarge:
        Error(node->source().begin, path, key, "must be at most 1000000 (USD per million tokens)");
        break;
      case base::DecimalError::kSyntax:
        Error(node->source().begin, path, key, "not a decimal number: " + text);
        break;
    }
    return std::nullopt;
  }

  // The prices of one tier; `prefix` is "" or "long_context_".
  std::optional<Prices> TierPrices(const toml::table& row, const std::string& path,
                                   const std::string& prefix, bool& ok) {
    const auto input = Price(row, path, prefix + "input", ok);
    const auto cached_input = Price(row, path, prefix + "cached_input", ok);
    const auto cache_write = Price(row, path, prefix + "cache_write", ok);
    const auto cache_write_1h = Price(row, path, prefix + "cache_write_1h", ok);
    const auto output = Price(row, path, prefix + "output", ok);
    const auto reasoning = Price(row, path, prefix + "reasoning", ok);
    const std::string_view because = prefix.empty()
                                         ? "missing required key"
                                         : "missing required key (long_context_threshold is set)";
    if (!row.contains(prefix + "input")) Error(row.source().begin, path, prefix + "input", because);
    if (!row.contains(prefix + "output")) {
      Error(row.source().begin, path, prefix + "output", because);
    }
    if (!input || !output) {
      ok = false;
      return std::nullopt;
    }
    Prices prices;
    prices.input = *input;
    prices.output = *output;
    prices.cached_input = cached_input.value_or(*input);
    prices.cache_write_5m = cache_write.value_or(*input);
    prices.cache_write_1h = cache_write_1h.value_or(prices.cache_write_5m);
    prices.reasoning = reasoning.value_or(*output);
    return prices;
  }

  void ParseRow(const toml::table& row, size_t index, const std::string& path) {
    bool ok = true;
    bool has_tier_price = false;
    for (auto&& [key, node] : row) {
      if (!IsKnownKey(key.str())) {
        Error(key.source().begin, path, key.str(), "unknown key");
        ok = false;
      } else if (key.str().starts_with("long_context_") && key.str() != "long_context_threshold") {
        has_tier_price = true;
      }
    }
    PriceRow result;
    const auto table = String(row, path, "table", true);
    const auto model = String(row, path, "model", true);
    const auto source = String(row, path, "source", false);
    ok = ok && table && model && (source || !row.contains("source"));

    const toml::node* effective_from = row.get("effective_from");
    if (effective_from == nullptr) {
      Error(row.source().begin, path, "effective_from", "missing required key");
      ok = false;
    } else if (const auto* date = effective_from->as_date()) {
      const toml::date value = date->get();
      result.effective_from = std::chrono::sys_days(std::chrono::year_month_day(
          std::chrono::year(value.year), std::chrono::month(value.month),
          std::chrono::day(value.day)));
    } else {
      WrongType(*effective_from, path, "effective_from", "a local date such as 2025-04-14");
      ok = false;
    }

    const auto base = TierPrices(row, path, "", ok);

    const toml::node* threshold = row.get("long_context_threshold");
    if (threshold != nullptr) {
      const auto* integer = threshold->as_integer();
      if (integer == nullptr) {
        WrongType(*threshold, path, "long_context_threshold", "an integer");
        ok = false;
      } else if (integer->get() <= 0) {
        Error(threshold->source().begin, path, "long_context_threshold", "must be positive");
        ok = false;
      }
      const auto tier = TierPrices(row, path, "long_context_", ok);
      if (ok && tier) result.long_context = LongContextTier{integer->get(), *tier};
    } else if (has_tier_price) {
      for (auto&& [key, node] : row) {
        if (key.str().starts_with("long_context_") && IsKnownKey(key.str())) {
          Error(key.source().begin, path, key.str(), "needs long_context_threshold");
        }
      }
      ok = false;
    }

    if (!ok || !base) return;
    result.table = *table;
    result.model = *model;
    result.prices = *base;
    result.source = source.value_or("");
    result.origin = file_.name + ":" + std::to_string(row.source().begin.line);

    RowKey row_key{result.table, result.model, result.effective_from};
    const auto [it, inserted] =
        seen_.emplace(row_key, FirstRow{file_.name, index, row.source().begin.line});
    if (!inserted) {
      const FirstRow& first = it->second;
      const std::string first_where = first.file == file_.name
                                          ? "line " + std::to_string(first.line)
                                          : first.file + ":" + std::to_string(first.line);
      Error(effective_from->source().begin, path, "effective_from",
            "same table, model and effective_from as price[" + std::to_string(first.index) + "] (" +
                first_where + ")");
      return;
    }
    rows_.push_back(std::move(result));
  }

  struct Found {
    toml::source_index line;
    toml::source_index column;
    std::string message;
  };

  const PriceFileText& file_;
  SourceText source_;
  std::vector<Found> found_;
  std::vector<std::string>& errors_;
  std::map<RowKey, FirstRow>& seen_;
  std::vector<PriceRow>& rows_;
};

}  // namespace

std::expected<std::vector<PriceRow>, std::vector<std::string>> ParsePriceFiles(
    const std::vector<PriceFileText>& files) {
  std::vector<std::string> errors;
  std::map<RowKey, FirstRow> seen;
  std::vector<PriceRow> rows;
  for (const PriceFileText& file : files) {
    FileParser(file, errors, seen, rows).Parse();
  }
  if (!errors.empty()) return std::unexpected(std::move(errors));
  return rows;
}

}  // namespace llm_exporter::pricing
