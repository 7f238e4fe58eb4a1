#include "base/json.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

namespace llm_exporter::base {
namespace {

using Document = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;

// The same tree with the same number types, member by member.
bool SameTree(const rapidjson::Value& a, const rapidjson::Value& b) {
  if (a.GetType() != b.GetType()) return false;
  if (a.IsNumber()) {
    return a.IsInt() == b.IsInt() && a.IsUint() == b.IsUint() && a.IsInt64() == b.IsInt64() &&
           a.IsUint64() == b.IsUint64() && a.IsDouble() == b.IsDouble() && a == b;
  }
  if (a.IsString()) {
    return std::string_view(a.GetString(), a.GetStringLength()) ==
           std::string_view(b.GetString(), b.GetStringLength());
  }
  if (!a.IsObject()) return a == b;
  if (a.MemberCount() != b.MemberCount()) return false;
  for (auto x = a.MemberBegin(), y = b.MemberBegin(); x != a.MemberEnd(); ++x, ++y) {
    if (!SameTree(x->name, y->name) || !SameTree(x->value, y->value)) return false;
  }
  return true;
}

BOOST_AUTO_TEST_SUITE(json)

BOOST_AUTO_TEST_CASE(a_simple_object_is_built_as_rapidjson_builds_it) {
  const std::vector<std::string> cases = {
      R"({"prompt_tokens":5,"completion_tokens":8,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}})",
      R"({"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":3,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":40,"service_tier":"standard","server_tool_use":null}, "x": 1})",
      "{ \"a\" :\t1 ,\r\n \"b\" : { } , \"c\":true,\"d\":false,\"e\":null }",
      R"({})",
      R"({"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}})",
      R"({"big":4294967295,"bigger":4294967296,"most":999999999999999999,"neg":-2147483648,"neg64":-2147483649,"zero":-0,"dup":1,"dup":2})",
      R"({"text":"ünïcode"})",  // not the subset: RapidJSON's alone
      // Long strings, read eight bytes at a time: what ends them or leaves
      // the subset may sit anywhere in a word.
      R"({"a_rather_long_key_name":"and a rather long value, too","x":1})",
      R"({"a_rather_long_key_name":"and a long value with \ a late escape"})",
      R"({"a_rather_long_key_name":"and a long value with a late ü"})",
      "{\"a_rather_long_key_name\":\"and a long value with a late \x7f\"}",
      "{\"a_rather_long_key_name\":\"and a long value with a late \x01\"}",
      R"({"0123456":1,"01234567":2,"012345678":3,"0123456789abcdef":4})",
      R"({"esc":"a\"b"})",
      R"({"f":1.5})",
      R"({"e":1e3})",
      R"({"arr":[1,2]})",
      R"({"lead":01})",
      R"({"huge":1234567890123456789})",
      R"({"a":1,})",
      R"({"a":1)",
      R"({"a" 1})",
      R"({"a":tru})",
      R"({"a":nullx})",
      R"({"a":-})",
      "{\"ctl\":\"a\tb\"}",
      R"({"deep":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":1}}}}}}}}})",
      R"([1])",
      R"( {"a":1})",
  };
  for (const std::string& text : cases) {
    BOOST_TEST_CONTEXT(text) {
      rapidjson::MemoryPoolAllocator<> allocator;
      rapidjson::Value simple;
      const std::optional<size_t> end = ParseSimpleObject(text, simple, allocator);
      Document reference;
      reference.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag>(
          text.data(), text.size());
      if (!end) {
        BOOST_TEST(simple.IsNull());  // never half an object
        continue;
      }
      BOOST_REQUIRE(!reference.HasParseError());
      BOOST_TEST(SameTree(simple, reference));
      // It ends where the object ends.
      Document exact;
      exact.Parse<rapidjson::kParseIterativeFlag>(text.data(), *end);
      BOOST_TEST(!exact.HasParseError());
      BOOST_TEST(text[*end - 1] == '}');
    }
  }
}

BOOST_AUTO_TEST_CASE(the_usual_usage_objects_are_in_the_subset) {
  rapidjson::MemoryPoolAllocator<> allocator;
  for (
      const std::string text : {
          R"({"prompt_tokens":5,"completion_tokens":8,"prompt_tokens_details":{"cached_tokens":2}})",
          R"({"input_tokens":1,"cache_creation":{"ephemeral_1h_input_tokens":4},"service_tier":"standard"})",
          R"({"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}})",
      }) {
    rapidjson::Value value;
    BOOST_TEST(ParseSimpleObject(text, value, allocator).has_value(), text);
  }
  // Outside it, RapidJSON decides.
  for (const std::string text : {R"({"a":"\u00e9"})", R"({"a":[1]})", R"({"a":0.5})",
                                 R"({"deep":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":1}}}}}}}}})"}) {
    rapidjson::Value value;
    BOOST_TEST(!ParseSimpleObject(text, value, allocator).has_value(), text);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::base
