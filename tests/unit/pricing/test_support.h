#pragma once

// Paths and scratch directories for the pricing tests.

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace llm_exporter::pricing::testing {

// The LiteLLM price map kept in the repository (see pricing/litellm/README.md).
inline std::string LiteLlmJsonPath() {
  return LLM_EXPORTER_SOURCE_DIR "/pricing/litellm/model_prices.json";
}

inline std::string TestDataDir() { return LLM_EXPORTER_SOURCE_DIR "/tests/unit/pricing/testdata"; }

inline std::string PricingDir() { return LLM_EXPORTER_SOURCE_DIR "/pricing"; }

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh directory removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("unit_pricing." + std::to_string(getpid()) + "." + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace llm_exporter::pricing::testing
