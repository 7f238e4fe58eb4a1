#define BOOST_TEST_MODULE unit_wire
#include <boost/test/unit_test.hpp>
