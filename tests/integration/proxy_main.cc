#define BOOST_TEST_MODULE integration_proxy
#include <curl/curl.h>
#include <signal.h>

#include <boost/test/unit_test.hpp>

namespace {
struct CurlGlobal {
  CurlGlobal() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
  }
  ~CurlGlobal() { curl_global_cleanup(); }
};
}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(CurlGlobal);
