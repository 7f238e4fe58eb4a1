#include "tests/fake_vendor/price_list.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <tuple>

namespace llm_exporter::fake_vendor {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// The line without a '#' comment (outside a quoted string).
std::string_view StripComment(std::string_view line) {
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '"') quoted = !quoted;
    if (line[i] == '#' && !quoted) return line.substr(0, i);
  }
  return line;
}

// "2.50" USD per million tokens -> nano-USD per million tokens, exactly.
std::optional<int64_t> NanoPerMillion(std::string_view text) {
  std::string digits;
  int fraction = -1;
  for (char c : text) {
    if (c == '_') continue;
    if (c == '.' && fraction < 0) {
      fraction = 0;
    } else if (c >= '0' && c <= '9') {
      digits += c;
      if (fraction >= 0) ++fraction;
    } else {
      return std::nullopt;
    }
  }
  if (digits.empty() || fraction > 9 || digits.size() > 15) return std::nullopt;
  for (int i = std::max(fraction, 0); i < 9; ++i) digits += '0';
  int64_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::optional<std::chrono::sys_days> Date(std::string_view text) {
  int y = 0;
  unsigned m = 0, d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto read = [&](size_t from, size_t to, auto& value) {
    auto [end, error] = std::from_chars(text.data() + from, text.data() + to, value);
    return error == std::errc() && end == text.data() + to;
  };
  if (!read(0, 4, y) || !read(5, 7, m) || !read(8, 10, d)) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m),
                                        std::chrono::day(d)};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days(ymd);
}

bool Glob(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern.front() == '*') {
    for (size_t skip = 0; skip <= text.size(); ++skip) {
      if (Glob(pattern.substr(1), text.substr(skip))) return true;
    }
    return false;
  }
  if (text.empty()) return false;
  return (pattern.front() == '?' || pattern.front() == text.front()) &&
         Glob(pattern.substr(1), text.substr(1));
}

// The price a key sets (in the entry's tier, or its long-context tier), or
// null for keys this reader ignores.
int64_t* PriceField(PriceEntry& entry, std::string_view key) {
  VendorPrices* tier = &entry.prices;
  if (key.starts_with("long_context_")) {
    tier = &entry.long_context;
    key.remove_prefix(std::string_view("long_context_").size());
  }
  if (key == "input") return &tier->input;
  if (key == "cached_input") return &tier->cached_input;
  if (key == "cache_write") return &tier->cache_write_5m;
  if (key == "cache_write_1h") return &tier->cache_write_1h;
  if (key == "output") return &tier->output;
  return nullptr;
}

// Which optional prices of one tier the file gave; absent ones take defaults.
struct Given {
  bool cached_input = false, cache_write = false, cache_write_1h = false;
};

void Note(Given& given, std::string_view key) {
  if (key == "cached_input") given.cached_input = true;
  if (key == "cache_write") given.cache_write = true;
  if (key == "cache_write_1h") given.cache_write_1h = true;
}

// cached_input and cache_write default to input; cache_write_1h to the
// (resolved) cache_write.
void ApplyDefaults(VendorPrices& tier, const Given& given) {
  if (!given.cached_input) tier.cached_input = tier.input;
  if (!given.cache_write) tier.cache_write_5m = tier.input;
  if (!given.cache_write_1h) tier.cache_write_1h = tier.cache_write_5m;
}

bool IsGlob(std::string_view model) { return model.find_first_of("*?") != std::string_view::npos; }

}  // namespace

std::expected<PriceList, std::string> PriceList::Load(const std::string& path) {
  std::ifstream file(path);
  if (!file) return std::unexpected("cannot read " + path);
  PriceList list;
  PriceEntry* entry = nullptr;
  // Per entry, the optional prices given in its base and long-context tiers.
  std::vector<std::pair<Given, Given>> given;
  std::string raw;
  int number = 0;
  while (std::getline(file, raw)) {
    ++number;
    const std::string_view line = Trim(StripComment(raw));
    const std::string where = path + ":" + std::to_string(number) + ": ";
    if (line.empty()) continue;
    if (line == "[[price]]") {
      entry = &list.entries.emplace_back();
      given.emplace_back();
      continue;
    }
    const size_t equals = line.find('=');
    if (equals == std::string_view::npos || entry == nullptr) {
      return std::unexpected(where + "not a key = value line of a [[price]] table");
    }
    const std::string_view key = Trim(line.substr(0, equals));
    std::string_view value = Trim(line.substr(equals + 1));
    const bool quoted = value.size() >= 2 && value.front() == '"' && value.back() == '"';
    if (quoted) value = value.substr(1, value.size() - 2);
    bool ok = true;
    if (key == "table") {
      entry->table = value;
    } else if (key == "model") {
      entry->model = value;
    } else if (key == "effective_from") {
      auto day = Date(value);
      if (day) entry->effective_from = *day;
      ok = day.has_value();
    } else if (key == "long_context_threshold") {
      int64_t tokens = 0;
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), tokens);
      ok = error == std::errc() && end == value.data() + value.size();
      entry->long_context_threshold = tokens;
    } else if (int64_t* field = PriceField(*entry, key)) {
      auto nano = NanoPerMillion(value);
      ok = nano.has_value();
      *field = nano.value_or(0);
      if (key.starts_with("long_context_")) {
        Note(given.back().second, key.substr(std::string_view("long_context_").size()));
      } else {
        Note(given.back().first, key);
      }
    }
    if (!ok) return std::unexpected(where + "bad value for " + std::string(key));
  }
  for (size_t i = 0; i < list.entries.size(); ++i) {
    PriceEntry& e = list.entries[i];
    ApplyDefaults(e.prices, given[i].first);
    ApplyDefaults(e.long_context, given[i].second);
    if (e.table.empty() || e.model.empty()) {
      return std::unexpected(path + ": a [[price]] without table or model");
    }
  }
  return list;
}

bool PriceList::HasTable(std::string_view table) const {
  for (const auto& e : entries) {
    if (e.table == table) return true;
  }
  return false;
}

const PriceEntry* PriceList::InEffect(std::string_view table, std::string_view name,
                                      std::chrono::sys_days day) const {
  const PriceEntry* best = nullptr;
  for (const auto& e : entries) {
    if (e.table != table || e.model != name || e.effective_from > day) continue;
    if (best == nullptr || e.effective_from > best->effective_from) best = &e;
  }
  return best;
}

const PriceEntry* PriceList::FindName(std::string_view table, std::string_view model,
                                      std::chrono::sys_days day) const {
  if (const PriceEntry* exact = InEffect(table, model, day)) return exact;
  // Globs of the table, longest first, then in the order the file names them.
  std::vector<std::string_view> globs;
  for (const auto& e : entries) {
    if (e.table != table || !IsGlob(e.model)) continue;
    if (std::find(globs.begin(), globs.end(), e.model) == globs.end()) globs.push_back(e.model);
  }
  std::stable_sort(globs.begin(), globs.end(),
                   [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
  for (std::string_view glob : globs) {
    if (!Glob(glob, model)) continue;
    if (const PriceEntry* e = InEffect(table, glob, day)) return e;
  }
  return nullptr;
}

const PriceEntry* PriceList::Find(std::string_view table, std::string_view model,
                                  std::chrono::sys_days day) const {
  if (const PriceEntry* e = FindName(table, model, day)) return e;
  // A dated snapshot ("-2025-04-14" or "-20250414") is priced as its model.
  auto all_digits = [](std::string_view text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (model.size() > 11) {
    const std::string_view tail = model.substr(model.size() - 11);
    if (tail[0] == '-' && tail[5] == '-' && tail[8] == '-' && all_digits(tail.substr(1, 4)) &&
        all_digits(tail.substr(6, 2)) && all_digits(tail.substr(9, 2))) {
      return FindName(table, model.substr(0, model.size() - 11), day);
    }
  }
  if (model.size() > 9 && model[model.size() - 9] == '-' &&
      all_digits(model.substr(model.size() - 8))) {
    return FindName(table, model.substr(0, model.size() - 9), day);
  }
  return nullptr;
}

const VendorPrices& PricesFor(const PriceEntry& entry, const RequestTokens& tokens) {
  const __int128 context =
      __int128{tokens.input} + tokens.cached_input + tokens.cache_write_5m + tokens.cache_write_1h;
  if (entry.long_context_threshold && context > *entry.long_context_threshold) {
    return entry.long_context;
  }
  return entry.prices;
}

int64_t RequestCostNanoUsd(const VendorPrices& p, const RequestTokens& t) {
  const __int128 exact = __int128{t.input} * p.input + __int128{t.cached_input} * p.cached_input +
                         __int128{t.cache_write_5m} * p.cache_write_5m +
                         __int128{t.cache_write_1h} * p.cache_write_1h +
                         __int128{t.output} * p.output;
  __int128 cost = exact / 1'000'000;
  const __int128 rest = exact % 1'000'000;
  if (rest > 500'000 || (rest == 500'000 && cost % 2 == 1)) ++cost;
  return static_cast<int64_t>(cost);
}

}  // namespace llm_exporter::fake_vendor
