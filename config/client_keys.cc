#include "config/client_keys.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace llm_exporter::config {

// The client keys file: one `NAME KEY` pair a line (blank lines and lines
// starting with '#' skipped). Names are label values; keys are secrets and
// never appear in an error. Problems name the file's line.
std::vector<std::string> ParseClientKeys(const std::string& path, std::vector<ClientKey>& out) {
  std::vector<std::string> problems;
  std::ifstream in(path, std::ios::binary);
  if (!in) return {"cannot read \"" + path + "\": " + std::strerror(errno)};
  std::string line;
  std::set<std::string> names;
  std::set<std::string> keys;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream words(line);
    std::string name;
    std::string key;
    std::string extra;
    words >> name >> key >> extra;
    if (name.empty() || name.front() == '#') continue;
    const std::string where = path + ":" + std::to_string(number) + ": ";
    const bool name_ok =
        name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
        });
    if (!name_ok) {
      problems.push_back(where + "client name \"" + name.substr(0, 64) +
                         "\" must be 1 to 64 letters, digits, '_', '-' or '.'");
    } else if (key.empty()) {
      problems.push_back(where + "client \"" + name + "\" has no key (want: NAME KEY)");
    } else if (!extra.empty()) {
      problems.push_back(where + "client \"" + name + "\": more than two words (want: NAME KEY)");
    } else if (!names.insert(name).second) {
      problems.push_back(where + "client \"" + name + "\" is listed twice");
    } else if (!keys.insert(key).second) {
      problems.push_back(where + "client \"" + name + "\" has the key of an earlier client");
    } else if (out.size() >= kMaxClientKeys) {
      problems.push_back(where + "more than " + std::to_string(kMaxClientKeys) + " clients");
      break;
    } else {
      out.push_back({name, Secret("file " + path + " (client " + name + ")", key)});
    }
  }
  return problems;
}

}  // namespace llm_exporter::config
