// unit_exporter: the status page's history, charts and page, without a server.
#define BOOST_TEST_MODULE unit_exporter
#include <boost/test/unit_test.hpp>
