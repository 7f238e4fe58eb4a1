#pragma once

// The integration test executables' global fixture: libcurl initialised once
// and SIGPIPE ignored (a peer that hangs up must not kill the test).

#include <curl/curl.h>
#include <signal.h>

#include <boost/test/unit_test.hpp>

namespace llm_exporter::testing {
struct CurlGlobal {
  CurlGlobal() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
  }
  ~CurlGlobal() { curl_global_cleanup(); }
};
}  // namespace llm_exporter::testing

using CurlGlobalFixture = llm_exporter::testing::CurlGlobal;
BOOST_TEST_GLOBAL_FIXTURE(CurlGlobalFixture);
