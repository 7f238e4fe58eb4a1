#define BOOST_TEST_MODULE unit_probes
#include <boost/test/unit_test.hpp>
