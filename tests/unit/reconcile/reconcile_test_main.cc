#define BOOST_TEST_MODULE unit_reconcile
#include <boost/test/unit_test.hpp>
