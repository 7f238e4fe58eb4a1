#include "pricing/price_book.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include "pricing/litellm.h"
#include "pricing/price_file.h"

namespace llm_exporter::pricing {
namespace {

bool AllDigits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::expected<std::string, std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::unexpected(path + ": cannot read: " + std::strerror(errno));
  return text.str();
}

}  // namespace

bool IsGlob(std::string_view model) { return model.find_first_of("*?") != std::string_view::npos; }

bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;
  size_t star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::optional<std::string_view> SnapshotBase(std::string_view model) {
  // -YYYY-MM-DD
  if (model.size() > 11) {
    const std::string_view tail = model.substr(model.size() - 11);
    if (tail[0] == '-' && tail[5] == '-' && tail[8] == '-' && AllDigits(tail.substr(1, 4)) &&
        AllDigits(tail.substr(6, 2)) && AllDigits(tail.substr(9, 2))) {
      return model.substr(0, model.size() - 11);
    }
  }
  // -YYYYMMDD
  if (model.size() > 9) {
    const std::string_view tail = model.substr(model.size() - 9);
    if (tail[0] == '-' && AllDigits(tail.substr(1))) return model.substr(0, model.size() - 9);
  }
  return std::nullopt;
}

PriceBook::PriceBook(std::vector<PriceRow> toml_rows, std::vector<PriceRow> litellm_rows) {
  std::set<std::pair<std::string, std::string>> from_toml;
  for (const PriceRow& row : toml_rows) from_toml.emplace(row.table, row.model);
  rows_ = std::move(toml_rows);
  for (PriceRow& row : litellm_rows) {
    if (!from_toml.contains({row.table, row.model})) rows_.push_back(std::move(row));
  }

  for (size_t i = 0; i < rows_.size(); ++i) {
    const PriceRow& row = rows_[i];
    Table& table = tables_[row.table];
    if (IsGlob(row.model)) {
      auto it = std::find_if(table.globs.begin(), table.globs.end(),
                             [&](size_t name) { return names_[name].model == row.model; });
      if (it == table.globs.end()) {
        table.globs.push_back(names_.size());
        names_.push_back(Name{row.model, {}});
        it = table.globs.end() - 1;
      }
      names_[*it].rows.push_back(i);
    } else {
      auto [it, inserted] = table.exact.emplace(row.model, names_.size());
      if (inserted) names_.push_back(Name{row.model, {}});
      names_[it->second].rows.push_back(i);
    }
  }
  for (Name& name : names_) {
    std::stable_sort(name.rows.begin(), name.rows.end(), [&](size_t a, size_t b) {
      return rows_[a].effective_from < rows_[b].effective_from;
    });
  }
  for (auto& [unused, table] : tables_) {
    // Globs were appended in definition order, so a stable sort keeps the
    // first-defined glob ahead of an equally long one.
    std::stable_sort(table.globs.begin(), table.globs.end(), [&](size_t a, size_t b) {
      return names_[a].model.size() > names_[b].model.size();
    });
  }
}

const PriceRow* PriceBook::InEffect(const Name& name,
                                    std::chrono::system_clock::time_point at) const {
  const PriceRow* found = nullptr;
  for (size_t index : name.rows) {
    if (rows_[index].effective_from > at) break;
    found = &rows_[index];
  }
  return found;
}

const PriceRow* PriceBook::FindIn(const Table& table, std::string_view model,
                                  std::chrono::system_clock::time_point at) const {
  if (const auto it = table.exact.find(model); it != table.exact.end()) {
    if (const PriceRow* row = InEffect(names_[it->second], at)) return row;
  }
  for (size_t glob : table.globs) {
    if (!GlobMatch(names_[glob].model, model)) continue;
    if (const PriceRow* row = InEffect(names_[glob], at)) return row;
  }
  return nullptr;
}

const PriceRow* PriceBook::Find(std::string_view table, std::string_view model,
                                std::chrono::system_clock::time_point at) const {
  const auto it = tables_.find(table);
  if (it == tables_.end()) return nullptr;
  if (const PriceRow* row = FindIn(it->second, model, at)) return row;
  if (const auto base = SnapshotBase(model)) return FindIn(it->second, *base, at);
  return nullptr;
}

std::vector<const PriceRow*> PriceBook::InEffect(std::chrono::system_clock::time_point at) const {
  std::vector<const PriceRow*> result;
  for (const Name& name : names_) {
    if (const PriceRow* row = InEffect(name, at)) result.push_back(row);
  }
  std::sort(result.begin(), result.end(), [](const PriceRow* a, const PriceRow* b) {
    return std::tie(a->table, a->model) < std::tie(b->table, b->model);
  });
  return result;
}

bool PriceBook::HasTable(std::string_view table) const { return tables_.contains(table); }

std::expected<PriceBook, std::vector<std::string>> LoadPriceBook(
    const std::vector<std::string>& toml_files, const std::string& litellm_json) {
  std::vector<std::string> errors;
  std::vector<PriceFileText> files;
  for (const std::string& path : toml_files) {
    auto text = ReadFile(path);
    if (text) {
      files.push_back(PriceFileText{path, std::move(*text)});
    } else {
      errors.push_back(std::move(text.error()));
    }
  }
  auto toml_rows = ParsePriceFiles(files);
  if (!toml_rows) {
    errors.insert(errors.end(), toml_rows.error().begin(), toml_rows.error().end());
  }
  std::vector<PriceRow> litellm_rows;
  if (!litellm_json.empty()) {
    auto text = ReadFile(litellm_json);
    if (!text) {
      errors.push_back(std::move(text.error()));
    } else if (auto rows = ParseLiteLlmPrices(*text, litellm_json)) {
      litellm_rows = std::move(*rows);
    } else {
      errors.insert(errors.end(), rows.error().begin(), rows.error().end());
    }
  }
  if (!errors.empty()) return std::unexpected(std::move(errors));
  return PriceBook(std::move(*toml_rows), std::move(litellm_rows));
}

}  // namespace llm_exporter::pricing
