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
// never appear in an error. Problems name the file's line. Names are short
// and keys long, so a line written KEY NAME is refused rather than turning
// a key into a label.
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
        name.size() <= kMaxClientNameBytes && std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
        });
    // A malformed line may hold a key (alone, or before its name), so no word
    // of it is ever repeated: the line number says where to look.
    if (key.empty() || !extra.empty()) {
      problems.push_back(where + "want two words, NAME KEY (the line's words are not shown)");
    } else if (!name_ok) {
      problems.push_back(where + "the client name must be 1 to " +
                         std::to_string(kMaxClientNameBytes) +
                         " letters, digits, '_', '-' or '.' (a key first, then its name?)");
    } else if (key.size() < kMinClientKeyBytes) {
      problems.push_back(where + "client \"" + name + "\": its key is shorter than " +
                         std::to_string(kMinClientKeyBytes) + " characters");
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
