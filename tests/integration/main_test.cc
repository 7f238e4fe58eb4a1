#define BOOST_TEST_MODULE integration
#include "tests/integration/curl_global.h"
