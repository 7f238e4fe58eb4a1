#include "pricing/litellm.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <map>
#include <optional>
#include <utility>

#include "base/decimal.h"
#include "base/enum_names.h"
#include "pricing/price_file.h"

namespace llm_exporter::pricing {
namespace {

constexpr int kPerTokenToNanoPerMillion = 15;  // USD/token * 1e6 tokens * 1e9 nano

std::string_view JsonTypeName(const rapidjson::Value& value) {
  static constexpr std::array<std::string_view, 7> kNames = {
      "null", "a boolean", "a boolean", "an object", "an array", "a string", "a number"};
  return base::EnumName(value.GetType(), kNames, "a value");
}

// Reads one model's entry; problems go to `errors` with the model key.
class EntryReader {
 public:
  EntryReader(const rapidjson::Value& entry, std::string prefix, std::vector<std::string>& errors)
      : entry_(entry), prefix_(std::move(prefix)), errors_(errors) {}

  bool ok() const { return ok_; }

  void Error(std::string_view field, std::string_view message) {
    errors_.push_back(prefix_ + std::string(field) + ": " + std::string(message));
    ok_ = false;
  }

  // nullopt when absent or invalid (then ok() is false).
  std::optional<int64_t> Price(const std::string& field) {
    const auto it = entry_.FindMember(field.c_str());
    if (it == entry_.MemberEnd()) return std::nullopt;
    const rapidjson::Value& value = it->value;
    if (!value.IsNumber()) {
      Error(field, "expected a number, got " + std::string(JsonTypeName(value)));
      return std::nullopt;
    }
    std::string text;
    if (value.IsInt64()) {
      text = std::to_string(value.GetInt64());
    } else if (value.IsUint64()) {
      text = std::to_string(value.GetUint64());
    } else {
      text = base::ShortestDecimal(value.GetDouble());
    }
    const auto nano = base::ScaleDecimal(text, kPerTokenToNanoPerMillion, base::Rounding::kHalfEven,
                                         kMaxPriceNano);
    if (nano) return *nano;
    switch (nano.error()) {
      case base::DecimalError::kNegative:
        Error(field, "must not be negative, got " + text);
        break;
      case base::DecimalError::kTooLarge:
        Error(field, "too large, got " + text);
        break;
      default:
        Error(field, "not a price: " + text);
        break;
    }
    return std::nullopt;
  }

  std::optional<std::string> String(const char* field) {
    const auto it = entry_.FindMember(field);
    if (it == entry_.MemberEnd()) return std::nullopt;
    if (!it->value.IsString()) {
      Error(field, "expected a string, got " + std::string(JsonTypeName(it->value)));
      return std::nullopt;
    }
    return std::string(it->value.GetString(), it->value.GetStringLength());
  }

  // The smallest N of the "input_cost_per_token_above_<N>k_tokens" keys.
  std::optional<int64_t> TierThousands() const {
    constexpr std::string_view kPrefix = "input_cost_per_token_above_";
    constexpr std::string_view kSuffix = "k_tokens";
    std::optional<int64_t> smallest;
    for (auto it = entry_.MemberBegin(); it != entry_.MemberEnd(); ++it) {
      std::string_view name(it->name.GetString(), it->name.GetStringLength());
      if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) continue;
      name = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
      if (name.empty() || name.size() > 9) continue;
      int64_t thousands = 0;
      bool digits = true;
      for (char c : name) {
        if (c < '0' || c > '9') digits = false;
        thousands = thousands * 10 + (c - '0');
      }
      if (digits && thousands > 0 && (!smallest || thousands < *smallest)) smallest = thousands;
    }
    return smallest;
  }

 private:
  const rapidjson::Value& entry_;
  std::string prefix_;
  std::vector<std::string>& errors_;
  bool ok_ = true;
};

struct Prices6 {
  std::optional<int64_t> input, cached_input, cache_write_5m, cache_write_1h, output, reasoning;
};

Prices6 ReadPrices(EntryReader& reader, const std::string& suffix) {
  Prices6 prices;
  prices.input = reader.Price("input_cost_per_token" + suffix);
  prices.output = reader.Price("output_cost_per_token" + suffix);
  prices.cached_input = reader.Price("cache_read_input_token_cost" + suffix);
  prices.cache_write_5m = reader.Price("cache_creation_input_token_cost" + suffix);
  prices.cache_write_1h = reader.Price("cache_creation_input_token_cost_above_1hr" + suffix);
  prices.reasoning = reader.Price("output_cost_per_reasoning_token" + suffix);
  return prices;
}

int ProviderRank(std::string_view provider) { return provider == "vertex_ai-language-models"; }

}  // namespace

std::string LiteLlmTable(std::string_view provider) {
  if (provider == "gemini" || provider == "vertex_ai-language-models") return "google";
  return std::string(provider);
}

std::expected<std::vector<PriceRow>, std::vector<std::string>> ParseLiteLlmPrices(
    std::string_view json, const std::string& file) {
  rapidjson::Document document;
  document.Parse<rapidjson::kParseFullPrecisionFlag>(json.data(), json.size());
  if (document.HasParseError()) {
    return std::unexpected(std::vector<std::string>{
        file + ": not valid JSON at offset " + std::to_string(document.GetErrorOffset()) + ": " +
        rapidjson::GetParseError_En(document.GetParseError())});
  }
  if (!document.IsObject()) {
    return std::unexpected(std::vector<std::string>{
        file + ": expected a JSON object of models, got " + std::string(JsonTypeName(document))});
  }

  std::vector<std::string> errors;
  std::vector<PriceRow> rows;
  std::map<std::pair<std::string, std::string>, std::pair<size_t, int>> placed;  // -> row, rank
  for (auto member = document.MemberBegin(); member != document.MemberEnd(); ++member) {
    const std::string key(member->name.GetString(), member->name.GetStringLength());
    const std::string prefix = file + ": model \"" + key + "\": ";
    if (!member->value.IsObject()) {
      errors.push_back(prefix + "expected an object, got " +
                       std::string(JsonTypeName(member->value)));
      continue;
    }
    EntryReader reader(member->value, prefix, errors);
    const auto mode = reader.String("mode");
    if (!reader.ok()) continue;
    if (mode && *mode != "chat" && *mode != "responses") continue;
    const auto provider = reader.String("litellm_provider");
    const Prices6 base = ReadPrices(reader, "");
    const auto thousands = reader.TierThousands();
    Prices6 tier;
    if (thousands) tier = ReadPrices(reader, "_above_" + std::to_string(*thousands) + "k_tokens");
    if (!reader.ok() || !provider || provider->empty() || !base.input || !base.output) continue;

    PriceRow row;
    row.table = LiteLlmTable(*provider);
    row.model = key;
    if (const size_t slash = key.find('/');
        slash != std::string::npos && slash > 0 && provider->starts_with(key.substr(0, slash))) {
      row.model = key.substr(slash + 1);
    }
    if (row.model.empty()) continue;
    row.origin = "litellm:" + key;
    row.prices.input = *base.input;
    row.prices.output = *base.output;
    row.prices.cached_input = base.cached_input.value_or(*base.input);
    row.prices.cache_write_5m = base.cache_write_5m.value_or(*base.input);
    row.prices.cache_write_1h = base.cache_write_1h.value_or(row.prices.cache_write_5m);
    row.prices.reasoning = base.reasoning.value_or(*base.output);
    if (thousands && tier.input) {
      Prices& t = row.long_context.emplace().prices;
      row.long_context->threshold = *thousands * 1000;
      t.input = *tier.input;
      t.output = tier.output.value_or(row.prices.output);
      t.cached_input = tier.cached_input.value_or(row.prices.cached_input);
      t.cache_write_5m = tier.cache_write_5m.value_or(row.prices.cache_write_5m);
      t.cache_write_1h = tier.cache_write_1h.value_or(row.prices.cache_write_1h);
      t.reasoning = tier.reasoning.value_or(base.reasoning.value_or(t.output));
    }

    const int rank = ProviderRank(*provider);
    auto [it, inserted] =
        placed.emplace(std::make_pair(row.table, row.model), std::make_pair(rows.size(), rank));
    if (inserted) {
      rows.push_back(std::move(row));
    } else if (rank < it->second.second) {
      rows[it->second.first] = std::move(row);
      it->second.second = rank;
    }
  }
  if (!errors.empty()) return std::unexpected(std::move(errors));
  return rows;
}

}  // namespace llm_exporter::pricing
