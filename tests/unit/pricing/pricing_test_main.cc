// unit_pricing: price tables, exact cost arithmetic and the ledger.
#define BOOST_TEST_MODULE unit_pricing
#include <boost/test/unit_test.hpp>
