#define BOOST_TEST_MODULE integration_proxy
#include "tests/integration/curl_global.h"
