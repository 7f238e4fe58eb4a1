#define BOOST_TEST_MODULE unit_base
#include <boost/test/unit_test.hpp>
