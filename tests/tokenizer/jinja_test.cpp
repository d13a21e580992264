// Unit tests of the chat-template interpreter on small templates: syntax,
// whitespace control, loop variables, scoping, every filter/test/method, and
// errors naming line:column. Expected outputs are what @huggingface/jinja
// renders (checked with node), or Python jinja2 where the reference has no
// such feature (marked "jinja2").
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "core/error.h"
#include "tokenizer/chat_template.h"

namespace loam {
namespace {

std::string render(const std::string& source, const nlohmann::ordered_json& ctx = nlohmann::ordered_json::object()) {
  return ChatTemplate::parse(source).render(ctx);
}

nlohmann::ordered_json J(const char* text) { return nlohmann::ordered_json::parse(text); }

// Renders and returns the error's what(), or "" when it did not throw.
std::string error_of(const std::string& source, const nlohmann::ordered_json& ctx = nlohmann::ordered_json::object()) {
  try {
    ChatTemplate::parse(source).render(ctx);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

struct RenderCase {
  const char* source;
  const char* context;  // JSON
  const char* want;
};

void check_all(const std::vector<RenderCase>& cases) {
  for (const RenderCase& c : cases) {
    SCOPED_TRACE(c.source);
    try {
      EXPECT_EQ(render(c.source, J(c.context)), c.want);
    } catch (const Error& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

TEST(JinjaWhitespace, TrimBlocksLstripBlocksAndControl) {
  check_all({
      {"{% if true %}\nA\n{% endif %}\nB", "{}", "A\nB"},
      {"  {% if true %}x{% endif %}", "{}", "x"},
      {"  {{ 'x' }}", "{}", "  x"},  // lstrip_blocks leaves {{ }} alone
      {"{{ 'x' }}\ny", "{}", "x\ny"},  // trim_blocks leaves {{ }} alone
      {"a  {{- 'b' -}}  c", "{}", "abc"},
      {"a\n  {%- if true -%}\n  b\n{%- endif %}", "{}", "ab"},
      {"a {#- comment -#} b", "{}", "ab"},
      {"a {# comment #}\nb", "{}", "a b"},
      {"line\n", "{}", "line"},  // one trailing newline dropped
      {"line\n\n", "{}", "line\n"},
      {"x {% generation %}y{% endgeneration %} z", "{}", "x y z"},
      {"x {%- generation -%} y", "{}", "xy"},
  });
}

TEST(JinjaLiterals, PrintJsStyle) {
  check_all({
      {"{{ 'a\\tb' }}|{{ \"q\\\"\" }}|{{ 'it\\'s' }}|{{ '\\u00e9\\x41' }}", "{}", "a\tb|q\"|it's|éA"},
      {"{{ 42 }} {{ -7 }} {{ 1.0 }} {{ 2.50 }} {{ 0.1 + 0.2 }} {{ 3 }}", "{}",
       "42 -7 1.0 2.5 0.30000000000000004 3"},
      {"{{ true }} {{ False }} [{{ none }}] [{{ missing }}]", "{}", "true false [] []"},
      {"{{ [1, 'a', none, true] }} {{ {'k': [1, 2.5]} }} {{ (1, 2) }}", "{}",
       "[1, \"a\", null, true] {\"k\": [1, 2.5]} [1, 2]"},
      {"{{ 'con' 'cat' }}", "{}", "concat"},
      {"{{ 'a\\\nb' }} {{ '\\d\\s' }}", "{}", "ab \\d\\s"},  // jinja2: line continuation; unknown escapes kept
      {"{{ x }} {{ y }}", R"({"x": 2.0, "y": 0.5})", "2 0.5"},  // JSON 2.0 is an integer, as in JS
  });
}

TEST(JinjaExpressions, OperatorsAndPrecedence) {
  check_all({
      {"{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 7 / 2 }}",
       "{}", "7 9 64 3 -4 1 3.5"},
      {"{{ 'a' ~ 1 ~ 1.0 ~ true }} {{ 'a' + 'b' }} {{ [1] + [2] }}", "{}", "a11true ab [1, 2]"},
      {"{{ 1 < 2 }} {{ 2 <= 1 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ not 1 == 2 }}", "{}",
       "true false true true true"},
      {"{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }} {{ 'x' in y }}", "{}",
       "true true true true false"},
      {"{{ 0 or 'd' }} {{ 1 and 'y' }} {{ [] or 'empty' }} {{ {} and 'no' }}|", "{}", "d y empty {}|"},
      {"{{ 'yes' if x else 'no' }} {{ 'a' if false }}|", R"({"x": [0]})", "yes |"},
      {"{{ -x }} {{ +x }} {{ not x }}", R"({"x": 3})", "-3 3 false"},
  });
}

TEST(JinjaExpressions, MembersAndSlices) {
  check_all({
      {"{{ m.role }} {{ m['role'] }} {{ m.missing }}|{{ m.missing.deeper }}|", R"({"m": {"role": "user"}})",
       "user user ||"},
      {"{{ xs[0] }} {{ xs[-1] }} {{ xs[5] }}| {{ xs.1 }}", R"({"xs": [10, 20, 30]})", "10 30 | 20"},
      {"{{ xs[1:] }} {{ xs[:2] }} {{ xs[::-1] }} {{ xs[::2] }} {{ xs[-2:] }}", R"({"xs": [1, 2, 3, 4]})",
       "[2, 3, 4] [1, 2] [4, 3, 2, 1] [1, 3] [3, 4]"},
      {"{{ s[0] }} {{ s[-1] }} {{ s[1:3] }} {{ s[::-1] }} {{ s.length }}", R"({"s": "héllo"})",
       "h o él olléh 5"},
  });
}

TEST(JinjaLoops, LoopVariables) {
  check_all({
      {"{% for x in ['a','b','c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
       "{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}",
       "{}", "1032truefalse3|2121falsefalse3|3210falsetrue3|"},
      {"{% for x in xs %}{{ loop.previtem }}>{{ x }}>{{ loop.nextitem }} {% endfor %}", R"({"xs": [1, 2, 3]})",
       ">1>2 1>2>3 2>3> "},
      {"{% for x in xs %}{{ x }}{% else %}none{% endfor %}", R"({"xs": []})", "none"},
      {"{% for x in xs if x > 1 %}{{ x }}/{{ loop.length }} {% endfor %}", R"({"xs": [1, 2, 3]})", "2/2 3/2 "},
      {"{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", R"({"d": {"b": 1, "a": 2}})", "b=1;a=2;"},
      {"{% for k in d %}{{ k }}{% endfor %}", R"({"d": {"b": 1, "a": 2}})", "ba"},
      {"{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }} {% endfor %}", "{}", "3 7 "},
      {"{% for x in range(3) %}{% for y in range(x) %}{{ loop.index }}{% endfor %}{{ loop.index }};{% endfor %}",
       "{}", "1;12;123;"},
      {"{% for i in range(6) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}{{ i }}"
       "{% endfor %}",
       "{}", "023"},
      {"{% for x in 'ab' %}{{ x }}.{% endfor %}", "{}", "a.b."},  // jinja2
      {"{% for x in missing %}{{ x }}{% else %}empty{% endfor %}", "{}", "empty"},  // jinja2
      {"{% for x in xs %}{{ loop.cycle('odd', 'even') }} {% endfor %}", R"({"xs": [1, 2, 3]})", "odd even odd "},
  });
}

TEST(JinjaScoping, SetNamespaceAndBlocks) {
  check_all({
      {"{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %} {{ x }}", "{}", "24 1"},
      {"{% set ns = namespace(total=0) %}{% for i in [1, 2, 3] %}{% set ns.total = ns.total + i %}{% endfor %}"
       "{{ ns.total }}",
       "{}", "6"},
      {"{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}", "{}", "12"},
      {"{% set a, b = 1, 'two' %}{{ a }}{{ b }}", "{}", "1two"},
      {"{% set body %}x{{ 1 + 1 }}y{% endset %}[{{ body }}]", "{}", "[x2y]"},
      {"{% if x %}{% set y = 'in' %}{% endif %}{{ y }}", R"({"x": true})", "in"},
      {"{% set messages = messages[1:] %}{{ messages | length }}", R"({"messages": [1, 2, 3]})", "2"},
      {"{% set xs = [] %}{% set _ = xs.append(1) %}{{ xs }}", "{}", "[1]"},  // jinja2
  });
}

TEST(JinjaMacros, ArgumentsDefaultsCaller) {
  check_all({
      {"{% macro greet(name, greeting='Hi') %}{{ greeting }} {{ name }}{% endmacro %}"
       "{{ greet('Ann') }}|{{ greet('Bo', 'Yo') }}|{{ greet(greeting='Hey', name='Cy') }}",
       "{}", "Hi Ann|Yo Bo|Hey Cy"},
      {"{% macro m(a) %}{{ a }}{{ kwargs }}{{ varargs }}{% endmacro %}{{ m(1, 2, x=3) }}", "{}",
       "1{\"x\": 3}[2]"},
      {"{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}inside{% endcall %}", "{}", "[inside]"},
      {"{% macro row(x) %}<{{ caller(x * 2) }}>{% endmacro %}{% call(v) row(4) %}v={{ v }}{% endcall %}", "{}",
       "<v=8>"},
      {"{% filter upper %}shout {{ 'this' }}{% endfilter %}", "{}", "SHOUT THIS"},
  });
}

TEST(JinjaFilters, Strings) {
  check_all({
      {"{{ '  x y  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'Hello' | upper }} {{ 'Hello' | lower }}", "{}",
       "x y|hi|HELLO hello"},
      {"{{ 'hello wORLD-x' | title }} {{ 'hello World' | capitalize }} {{ 'élan' | upper }}", "{}",
       "Hello WORLD-X Hello World ÉLAN"},
      {"{{ 'a\nb\n\nc' | indent }}|{{ 'a\nb' | indent(2, true) }}|{{ 'a\n\nb' | indent(1, blank=true) }}", "{}",
       "a\n    b\n\n    c|  a\n  b|a\n \n b"},
      {"{{ 'aXbX' | replace('X', '-') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 'héllo' | length }} "
       "{{ 'abc' | count }}",
       "{}", "a-b- bba 5 3"},
      {"{{ '12' | int + 1 }} {{ '3.5x' | float }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 2.7 | int }} {{ 3 | float }}",
       "{}", "13 3.5 0 7 2 3.0"},
      {"{{ 5 | string ~ 'x' }} {{ [1, 'a'] | string }} {{ 'ab' | list }} {{ 'ab' | reverse }}", "{}",
       "5x [1, \"a\"] [\"a\", \"b\"] ba"},
      {"{{ '<a href=\"x\">&\\'' | escape }} {{ 'one two  three' | wordcount }}", "{}",
       "&lt;a href=&#34;x&#34;&gt;&amp;&#39; 3"},  // jinja2
      {"{{ 'x' | safe }} {{ 'ab' | first }}{{ 'ab' | last }}", "{}", "x ab"},
  });
}

TEST(JinjaFilters, ListsAndDicts) {
  check_all({
      {"{{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ [1, 3, 2] | sort(reverse=true) }}", "{}",
       "[1, 2, 3] [\"A\", \"b\", \"c\"] [3, 2, 1]"},
      {"{{ xs | sort(attribute='n') | map(attribute='n') | list }}", R"({"xs": [{"n": 2}, {"n": 1}]})", "[1, 2]"},
      {"{{ [1, 2, 3] | join }} {{ ['a', 'b'] | join(', ') }} {{ [1, 2] | first }} {{ [1, 2] | last }} "
       "{{ [] | first }}|",
       "{}", "123 a, b 1 2 |"},
      {"{{ [1, 2, 1, 3, 2] | unique | list }} {{ [1, 2] | reverse | list }} {{ [1, 2] | length }}", "{}",
       "[1, 2, 3] [2, 1] 2"},
      {"{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='c') | join }} "
       "{{ ms | rejectattr('role', 'equalto', 'user') | map(attribute='c') | join }} "
       "{{ ms | selectattr('flag') | list | length }}",
       R"({"ms": [{"role": "user", "c": "a"}, {"role": "bot", "c": "b", "flag": true}, {"role": "user", "c": "d"}]})",
       "ad b 1"},
      {"{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('odd') | list }} "
       "{{ ['a', 'b'] | map('upper') | join }}",
       "{}", "[1, 3] [2, 4] AB"},  // jinja2
      {"{{ xs | map(attribute='a.b', default='-') | join(',') }}", R"({"xs": [{"a": {"b": 1}}, {"a": {}}]})", "1,-"},
      {"{{ d | items | list }} {{ d | dictsort }} {{ d | dictsort(by='value', reverse=true) }} {{ d | length }}",
       R"({"d": {"b": 1, "a": 2}})", "[[\"b\", 1], [\"a\", 2]] [[\"a\", 2], [\"b\", 1]] [[\"a\", 2], [\"b\", 1]] 2"},
      {"{{ x | default('dflt') }} {{ '' | default('e', true) }} {{ '' | d('e') }}| {{ n | default(1) }}", R"({"n": null})",
       "dflt e | "},
      {"{{ -3 | abs }} {{ 2.5 | abs }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 2.1 | round(method='ceil') }}", "{}",
       "3 2.5 2.57 3.0 3.0"},
      {"{{ 1 | bool }} {{ '' | bool }}", "{}", "true false"},
  });
}

TEST(JinjaFilters, ToJson) {
  check_all({
      {"{{ d | tojson }}", R"({"d": {"s": "é \"q\" <b> & \n", "n": [1, 2.5, null, true], "e": {}, "l": []}})",
       R"({"s": "é \"q\" <b> & \n", "n": [1, 2.5, null, true], "e": {}, "l": []})"},
      {"{{ d | tojson(indent=2) }}", R"({"d": {"a": [1, {"b": null}], "e": []}})",
       "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"e\": []\n}"},
      {"{{ d | tojson(ensure_ascii=true) }} {{ d | tojson(separators=(',', ':')) }}", R"({"d": {"k": "é🚀"}})",
       R"({"k": "\u00e9\ud83d\ude80"} {"k":"é🚀"})"},
      {"{{ d | tojson(sort_keys=true) }}", R"({"d": {"b": 1, "a": 2}})", R"({"a": 2, "b": 1})"},
      {"{{ 1.0 | tojson }} {{ missing | tojson }} {{ 'x' | tojson }}", "{}", "1 null \"x\""},
  });
}

TEST(JinjaTests, IsTests) {
  check_all({
      {"{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ n is none }} {{ y is none }} "
       "{{ n is not none }}",
       R"({"x": 0, "n": null})", "true false true true false false"},
      {"{{ 's' is string }} {{ 1 is number }} {{ 1.5 is number }} {{ 1 is integer }} {{ 1.5 is integer }} "
       "{{ 1.5 is float }}",
       "{}", "true true true true false true"},
      {"{{ [] is iterable }} {{ 's' is iterable }} {{ {} is iterable }} {{ {} is mapping }} {{ [] is mapping }} "
       "{{ 's' is sequence }}",
       "{}", "true true false true false true"},
      {"{{ true is boolean }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ 3 is odd }} {{ 3 is even }}",
       "{}", "true true false true true false"},
      {"{{ 'ab' is lower }} {{ 'AB' is upper }} {{ range is callable }} {{ 2 is equalto 2 }} {{ 2 is eq(3) }} "
       "{{ 6 is divisibleby 3 }} {{ 2 is in([1, 2]) }}",
       "{}", "true true true true false true true"},
  });
}

TEST(JinjaMethods, StringAndDictMethods) {
  check_all({
      {"{{ '  a b  '.strip() }}|{{ '\n\nx\n'.lstrip('\n') }}|{{ 'x  '.rstrip() }}|", "{}", "a b|x\n|x|"},
      {"{{ 'a,b,,c'.split(',') }} {{ '  a  b '.split() }} {{ 'a,b,c'.split(',', 1) }}", "{}",
       "[\"a\", \"b\", \"\", \"c\"] [\"a\", \"b\"] [\"a\", \"b,c\"]"},
      {"{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'aXa'.replace('a', 'b') }} "
       "{{ 'Hi'.upper() }}{{ 'Hi'.lower() }} {{ 'hi there'.title() }} {{ 'hi'.capitalize() }}",
       "{}", "true true bXb HIhi Hi There Hi"},
      {"{{ ', '.join(['a', 'b']) }}", "{}", "a, b"},  // jinja2
      {"{{ d.get('a') }} {{ d.get('z', 'dflt') }} [{{ d.get('z') }}] {{ d.keys() | list }} {{ d.values() | list }} "
       "{{ d.items() | list }}",
       R"({"d": {"a": 1}})", "1 dflt [] [\"a\"] [1] [[\"a\", 1]]"},
      {"{{ m.content.split('</think>')[-1].lstrip('\n') }}", R"({"m": {"content": "<think>r</think>\n\nans"}})",
       "ans"},
  });
}

TEST(JinjaGlobals, RangeNamespaceDictStrftime) {
  check_all({
      {"{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(3, 0, -1) | list }}", "{}",
       "[0, 1, 2] [1, 3, 5] [3, 2, 1]"},
      {"{{ dict(a=1, b='x') | tojson }}", "{}", R"({"a": 1, "b": "x"})"},
  });
  std::string date = render("{{ strftime_now('%Y-%m-%d') }} {{ strftime_now('%d %b %Y') }}");
  EXPECT_TRUE(std::regex_match(date, std::regex(R"(\d{4}-\d\d-\d\d \d\d [A-Z][a-z]{2} \d{4})"))) << date;
}

TEST(JinjaErrors, UnsupportedConstructsNameLineAndColumn) {
  EXPECT_EQ(error_of("line one\n{{ x | wordwrap }}"), "chat_template:2:8: unsupported filter 'wordwrap'");
  EXPECT_EQ(error_of("{% include 'x.jinja' %}"), "chat_template:1:4: unsupported tag 'include'");
  EXPECT_EQ(error_of("{{ x is prime }}"), "chat_template:1:9: unsupported test 'prime'");
  EXPECT_EQ(error_of("\n  {{ 'abc'.zfill(5) }}", J("{}")),
            "chat_template:2:12: unsupported method 'zfill' on string");
  EXPECT_EQ(error_of("{% for x in xs %}{{ x }}"), "chat_template:1:4: missing {% endfor %} for this block");
  EXPECT_EQ(error_of("{% if x %}a{% endfor %}"), "chat_template:1:15: unexpected '{% endfor %}'");
  EXPECT_EQ(error_of("{{ 'abc }}"), "chat_template:1:4: unterminated string literal");
  EXPECT_EQ(error_of("{% break %}"), "chat_template:1:4: 'break' outside a for loop");
  EXPECT_EQ(error_of("{{ 1 + }}"), "chat_template:1:8: unexpected '}}' in an expression");
  EXPECT_EQ(error_of("{{ f(1) }}"), "chat_template:1:4: 'f' is undefined");
  EXPECT_EQ(error_of("{{ a ? b }}"), "chat_template:1:6: unexpected character '?'");
  ChatTemplate named = ChatTemplate::parse("ok", "models/x/tokenizer_config.json:chat_template");
  EXPECT_EQ(named.origin(), "models/x/tokenizer_config.json:chat_template");
}

TEST(JinjaErrors, RuntimeErrorsNameLineAndColumn) {
  EXPECT_EQ(error_of("{{ raise_exception('Roles must alternate') }}"),
            "chat_template:1:4: Roles must alternate (hint: raised by the chat template itself (raise_exception))");
  EXPECT_EQ(error_of("\n{{ 1 + none }}"), "chat_template:2:6: cannot apply '+' to none");
  EXPECT_EQ(error_of("{{ x.content + 'a' }}", J(R"({"x": {}})")),
            "chat_template:1:14: cannot apply '+' to an undefined value");
  EXPECT_EQ(error_of("{{ [1] | trim }}"), "chat_template:1:10: filter 'trim' does not apply to a list");
  EXPECT_EQ(error_of("{{ 1 // 0 }}"), "chat_template:1:6: division by zero");
  EXPECT_EQ(error_of("{% for a, b in [1] %}{% endfor %}"), "chat_template:1:4: cannot unpack an integer");
  EXPECT_EQ(error_of("{% set x = 1 %}{% set x.y = 2 %}"),
            "chat_template:1:25: cannot set an attribute of an integer (only of a namespace())");
  EXPECT_EQ(error_of("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}"),
            "chat_template:1:34: macro 'm' takes at most 1 argument(s)");
  EXPECT_EQ(error_of("{{ none[0] }}"), "chat_template:1:8: cannot index none with an integer");
}

TEST(JinjaErrors, HostileNestingAndRecursionFailCleanly) {
  EXPECT_NE(error_of("{{" + std::string(100000, '(')).find("template nested too deeply"), std::string::npos);
  std::string ifs;
  for (int k = 0; k < 5000; ++k) ifs += "{% if true %}";
  EXPECT_NE(error_of(ifs).find("template nested too deeply"), std::string::npos);
  EXPECT_EQ(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"),
            "chat_template:1:19: calls nested too deeply (recursive macro?)");
  // Moderate nesting, as real templates have, is fine.
  EXPECT_EQ(render("{{" + std::string(30, '(') + "1" + std::string(30, ')') + "}}"), "1");
}

// Hostile templates that would run for hours or exhaust memory stop with an
// error naming the place, within the bounds of jinja_eval.h.
TEST(JinjaBounds, NestedLoopsStopAtTheStepBound) {
  // Empty loop bodies count too: one step per iteration.
  const std::string e = error_of("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
  EXPECT_NE(e.find("did not finish within 2000000 steps"), std::string::npos) << e;
  EXPECT_EQ(e.rfind("chat_template:1:", 0), 0u) << e;
}

TEST(JinjaBounds, StringDoubledInALoopStopsAtTheSizeBound) {
  const std::string e =
      error_of("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}");
  EXPECT_NE(e.find("string value exceeds the render limit of 32 MiB"), std::string::npos) << e;
}

TEST(JinjaBounds, ListDoubledInALoopStopsAtTheSizeBound) {
  const std::string e =
      error_of("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}");
  EXPECT_NE(e.find("list value exceeds the render limit"), std::string::npos) << e;
}

TEST(JinjaBounds, OutputStopsAtTheSizeBound) {
  const std::string big = "{% set ns = namespace(s='x') %}{% for i in range(22) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}";
  const std::string e = error_of(big + "{% for i in range(100) %}{{ ns.s }}{% endfor %}");
  EXPECT_NE(e.find("output exceeds 32 MiB"), std::string::npos) << e;
  // Real sizes pass: a 4 MiB output and 1e5 loop iterations.
  EXPECT_EQ(render(big + "{{ ns.s }}").size(), size_t{1} << 22);
  EXPECT_EQ(render("{% for i in range(100000) %}{% endfor %}ok"), "ok");
}

}  // namespace
}  // namespace loam
