#include "wire/request_body.h"

#include <boost/test/unit_test.hpp>
#include <string>

namespace llm_exporter::wire {
namespace {

BOOST_AUTO_TEST_SUITE(request_body)

BOOST_AUTO_TEST_CASE(model_and_flags) {
  const std::string body =
      R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"stream":true,)"
      R"("stream_options":{"include_usage":true}})";
  BOOST_TEST((ModelFromRequestBody(body) == "gpt-4o-mini"));
  BOOST_TEST(StreamRequested(body));
  BOOST_TEST(IncludeUsageRequested(body));
  const auto info = InspectRequestBody(body);
  BOOST_REQUIRE(info.has_value());
  BOOST_TEST(info->model == "gpt-4o-mini");
  BOOST_TEST(info->stream);
  BOOST_TEST(info->include_usage);
}

BOOST_AUTO_TEST_CASE(absent_or_odd_values) {
  BOOST_TEST(!ModelFromRequestBody(R"({"messages":[]})").has_value());
  BOOST_TEST(!ModelFromRequestBody(R"({"model":5})").has_value());
  BOOST_TEST(!ModelFromRequestBody("not json").has_value());
  BOOST_TEST(!ModelFromRequestBody(R"(["model"])").has_value());
  BOOST_TEST(!ModelFromRequestBody("").has_value());
  BOOST_TEST(!StreamRequested(R"({"stream":"true"})"));
  BOOST_TEST(!StreamRequested(R"({"stream":false})"));
  BOOST_TEST(!StreamRequested("{"));
  BOOST_TEST(!IncludeUsageRequested(R"({"stream_options":{"include_usage":false}})"));
  BOOST_TEST(!IncludeUsageRequested(R"({"stream_options":null})"));
  BOOST_TEST(!IncludeUsageRequested(R"({"include_usage":true})"));
  BOOST_TEST(!InspectRequestBody("[]").has_value());
  const auto info = InspectRequestBody("{}");
  BOOST_REQUIRE(info.has_value());
  BOOST_TEST(info->model == "");
}

BOOST_AUTO_TEST_CASE(the_token_cap_and_first_occurrences_as_a_lookup_finds_them) {
  auto info = InspectRequestBody(
      R"({"max_tokens":0,"max_completion_tokens":"9","max_output_tokens":12,"model":"a",)"
      R"("model":"b","messages":[{"model":"c","stream":true}],"stream":false,"stream":true})");
  BOOST_REQUIRE(info.has_value());
  BOOST_TEST(info->max_tokens == 12);  // the first valid of the three names
  BOOST_TEST(info->model == "a");
  BOOST_TEST(!info->stream);
  info = InspectRequestBody(R"({"max_completion_tokens":7,"max_tokens":5.0,"x":{"max_tokens":3}})");
  BOOST_TEST(info->max_tokens == 7);
  BOOST_TEST(InspectRequestBody(R"({"max_tokens":18446744073709551615})")->max_tokens == 0);
  BOOST_TEST(InspectRequestBody(R"({"max_tokens":9000000000})")->max_tokens == 100'000'000);
  BOOST_TEST(
      !InspectRequestBody(R"({"stream_options":null,"stream_options":{"include_usage":true}})")
           ->include_usage);
  BOOST_TEST(
      !InspectRequestBody(R"({"stream_options":{"x":{"include_usage":true}}})")->include_usage);
  BOOST_TEST(
      InspectRequestBody(R"({"stream_options":{"a":[true],"include_usage":true}})")->include_usage);
  BOOST_TEST(InspectRequestBody(R"({"model":{"x":"m"}})")->model == "");
  // Nesting as deep as any vendor body goes, and no deeper.
  BOOST_TEST(InspectRequestBody("{\"a\":" + std::string(63, '[') + std::string(63, ']') + "}")
                 .has_value());
  BOOST_TEST(!InspectRequestBody("{\"a\":" + std::string(64, '[') + std::string(64, ']') + "}")
                  .has_value());
  // Hostile nesting is refused where it passes the bound, not by running out of stack.
  BOOST_TEST(!InspectRequestBody("{\"a\":" + std::string(1 << 20, '[')).has_value());
  BOOST_TEST(!InspectRequestBody(std::string(1 << 20, '{')).has_value());
  BOOST_TEST(!InspectRequestBody(std::string("{\"model\":\"m\"}\0", 14)).has_value());
}

BOOST_AUTO_TEST_CASE(a_byte_order_mark_is_skipped_as_a_json_parser_skips_it) {
  // PowerShell and .NET may write request files with a UTF-8 BOM.
  const std::string bom = "\xEF\xBB\xBF";
  auto info = InspectRequestBody(bom + R"({"model":"m","stream":true})");
  BOOST_REQUIRE(info.has_value());
  BOOST_TEST(info->model == "m");
  BOOST_TEST(info->stream);
  BOOST_TEST((ModelFromRequestBody(bom + R"({"model":"m"})") == "m"));
  const auto added = AddIncludeUsage(bom + R"({"model":"m"})");
  BOOST_REQUIRE(added.has_value());
  BOOST_TEST(*added == bom + R"({"stream_options":{"include_usage":true},"model":"m"})");
}

BOOST_AUTO_TEST_CASE(add_include_usage_edits_only_what_it_must) {
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {R"({"model":"m","stream":true})",
       R"({"stream_options":{"include_usage":true},"model":"m","stream":true})"},
      {"{}", R"({"stream_options":{"include_usage":true}})"},
      {" { } ", R"( {"stream_options":{"include_usage":true} } )"},
      {R"({"model":"m","stream_options":{}})",
       R"({"model":"m","stream_options":{"include_usage":true}})"},
      {R"({"stream_options":{"x":1},"t":1.0e+2})",
       R"({"stream_options":{"include_usage":true,"x":1},"t":1.0e+2})"},
      {R"({"stream_options":{"include_usage":false},"a":[1,{"include_usage":false}]})",
       R"({"stream_options":{"include_usage":true},"a":[1,{"include_usage":false}]})"},
      {R"({"stream_options":{"include_usage" : null }})",
       R"({"stream_options":{"include_usage" : true }})"},
      {R"({"stream_options":null,"n":123456789012345678901234567890})",
       R"({"stream_options":{"include_usage":true},"n":123456789012345678901234567890})"},
      {R"({"stream_options":{"include_usage":true}})",
       R"({"stream_options":{"include_usage":true}})"},
      {R"({"meta":{"stream_options":{"include_usage":false}}})",
       R"({"stream_options":{"include_usage":true},"meta":{"stream_options":{"include_usage":false}}})"},
  };
  for (const Case& c : cases) {
    const auto out = AddIncludeUsage(c.in);
    BOOST_TEST_CONTEXT(c.in) {
      BOOST_REQUIRE(out.has_value());
      BOOST_TEST(*out == c.out);
      BOOST_TEST(IncludeUsageRequested(*out));
    }
  }
}

BOOST_AUTO_TEST_CASE(add_include_usage_refuses_what_it_cannot_edit_safely) {
  for (const char* body :
       {"", "[]", "\"x\"", "{", R"({"stream_options":"yes"})", R"({"stream_options":[]})",
        R"({"stream_options":{"include_usage":"true"}})",
        R"({"stream_options":{"include_usage":1}})", R"({"stream_options":{},"stream_options":{}})",
        R"({"stream_options":{"include_usage":false,"include_usage":true}})", "{} {}"}) {
    BOOST_TEST_CONTEXT(body) { BOOST_TEST(!AddIncludeUsage(body).has_value()); }
  }
  BOOST_TEST(!AddIncludeUsage(std::string("{}\0{}", 5)).has_value());
  BOOST_TEST(!AddIncludeUsage(std::string(10000, '[')).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::wire
