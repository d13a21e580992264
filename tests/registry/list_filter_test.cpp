// AIP-160 filters and orderBy: every operator, precedence as the spec gives
// it, and an error pointing at the column for every malformed class.
#include "registry/list_filter.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"

namespace loam {
namespace {

FilterRecord gemma() {
  return {{{"display_name", "Gemma 2 2B Instruct"}, {"create_time", "2026-03-01T10:00:00Z"},
           {"update_time", "2026-03-02T10:00:00.5+01:00"}, {"name", "models/gemma-2-2b-it"}},
          {{"model_garden", "true"}, {"family", "gemma"}, {"size", "2b"}, {"rank", "16"}}};
}

FilterRecord llama() {
  return {{{"display_name", "Llama 3.1 8B"}, {"create_time", "2026-01-15T00:00:00Z"},
           {"update_time", "2026-01-15T00:00:00Z"}, {"name", "models/llama-3.1-8b"}},
          {{"model_garden", "true"}, {"family", "llama"}, {"rank", "8"}}};
}

FilterRecord tuned() {
  return {{{"display_name", "my tuned model"}, {"create_time", "2026-06-01T00:00:00Z"}, {"name", "models/7"}},
          {{"base", "gemma"}}};
}

bool match(const std::string& filter, const FilterRecord& r) {
  return list_filter_matches(list_filter_parse(filter), r);
}

// The error's full text ("filter:1:17: expected …").
std::string error_of(const std::string& filter) {
  try {
    list_filter_parse(filter);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string order_error_of(const std::string& order) {
  try {
    order_by_parse(order);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ListFilter, EmptyMatchesEverything) {
  EXPECT_TRUE(match("", gemma()));
  EXPECT_TRUE(match("   ", tuned()));
  EXPECT_EQ(list_filter_parse("").root, nullptr);
}

TEST(ListFilter, EqualityOnFieldsAndLabels) {
  EXPECT_TRUE(match("labels.model_garden=true", gemma()));
  EXPECT_FALSE(match("labels.model_garden=true", tuned()));
  EXPECT_TRUE(match("labels.family=\"gemma\"", gemma()));
  EXPECT_FALSE(match("labels.family=\"gemma\"", llama()));
  EXPECT_TRUE(match("display_name = \"Gemma 2 2B Instruct\"", gemma()));
  EXPECT_FALSE(match("display_name = \"Gemma 2 2B\"", gemma()));
  EXPECT_TRUE(match("display_name='Llama 3.1 8B'", llama()));
}

TEST(ListFilter, NotEqualIncludesAbsent) {
  EXPECT_TRUE(match("labels.family != gemma", llama()));
  EXPECT_FALSE(match("labels.family != gemma", gemma()));
  EXPECT_TRUE(match("labels.family != gemma", tuned()));  // no such label
  EXPECT_EQ(match("labels.family != gemma", tuned()), match("NOT labels.family = gemma", tuned()));
}

TEST(ListFilter, OrderingComparisonsNumbersAndStrings) {
  EXPECT_TRUE(match("labels.rank > 9", gemma()));  // 16 > 9 as numbers, not bytes
  EXPECT_FALSE(match("labels.rank > 9", llama()));
  EXPECT_TRUE(match("labels.rank >= 16", gemma()));
  EXPECT_TRUE(match("labels.rank <= 8", llama()));
  EXPECT_TRUE(match("labels.rank < 8.5", llama()));
  EXPECT_FALSE(match("labels.rank < 8", llama()));
  EXPECT_TRUE(match("display_name < \"H\"", gemma()));
  EXPECT_FALSE(match("display_name < \"H\"", llama()));
  EXPECT_FALSE(match("labels.rank > 0", tuned()));  // absent: ordering is false
}

TEST(ListFilter, TimestampsCompareAsInstants) {
  // 2026-03-02T10:00:00.5+01:00 is 09:00:00.5Z.
  EXPECT_TRUE(match("update_time < \"2026-03-02T09:00:01Z\"", gemma()));
  EXPECT_TRUE(match("update_time > \"2026-03-02T09:00:00Z\"", gemma()));
  EXPECT_TRUE(match("update_time = \"2026-03-02T09:00:00.500Z\"", gemma()));
  EXPECT_TRUE(match("create_time >= 2026-03-01T10:00:00Z", gemma()));  // bare timestamp lexes whole
  EXPECT_FALSE(match("create_time > 2026-03-01T10:00:00Z", gemma()));
  EXPECT_TRUE(match("create_time < \"2026-02-01T00:00:00-05:00\"", llama()));
  EXPECT_TRUE(match("create_time != \"2026-01-15T01:00:00+01:00\"", gemma()));
  EXPECT_FALSE(match("create_time != \"2026-01-15T01:00:00+01:00\"", llama()));  // same instant
}

TEST(ListFilter, HasAndPresence) {
  EXPECT_TRUE(match("labels.family:*", gemma()));
  EXPECT_FALSE(match("labels.family:*", tuned()));
  EXPECT_TRUE(match("labels:base", tuned()));
  EXPECT_FALSE(match("labels:base", gemma()));
  EXPECT_TRUE(match("display_name:instruct", gemma()));  // contains, case-insensitive
  EXPECT_FALSE(match("display_name:instruct", llama()));
  EXPECT_TRUE(match("-labels.family:*", tuned()));
}

TEST(ListFilter, WildcardsInEquality) {
  EXPECT_TRUE(match("display_name=\"Gemma*\"", gemma()));
  EXPECT_FALSE(match("display_name=\"Gemma*\"", llama()));
  EXPECT_TRUE(match("display_name=\"*8B\"", llama()));
  EXPECT_TRUE(match("display_name!=\"*8B\"", gemma()));
  EXPECT_TRUE(match("name=models/*-it", gemma()));
}

TEST(ListFilter, AndOrNotAndSequence) {
  EXPECT_TRUE(match("labels.model_garden=true AND labels.family=\"gemma\"", gemma()));
  EXPECT_FALSE(match("labels.model_garden=true AND labels.family=\"gemma\"", llama()));
  EXPECT_TRUE(match("labels.family=gemma OR labels.family=llama", llama()));
  EXPECT_FALSE(match("labels.family=gemma OR labels.family=llama", tuned()));
  EXPECT_TRUE(match("NOT labels.family=gemma", llama()));
  EXPECT_FALSE(match("NOT labels.family=gemma", gemma()));
  EXPECT_TRUE(match("-labels.family=gemma", llama()));
  EXPECT_TRUE(match("labels.model_garden=true labels.size=2b", gemma()));  // sequence = AND
  EXPECT_FALSE(match("labels.model_garden=true labels.size=2b", llama()));
  EXPECT_TRUE(match("NOT NOT labels.family=gemma", gemma()));
}

TEST(ListFilter, OrBindsTighterThanAnd) {
  // AIP-160: a AND b OR c  ==  a AND (b OR c).
  const ListFilter f = list_filter_parse("labels.x=1 AND labels.y=2 OR labels.z=3");
  EXPECT_EQ(list_filter_format(f), "(labels.x = \"1\" AND (labels.y = \"2\" OR labels.z = \"3\"))");
  FilterRecord only_z{{}, {{"z", "3"}}};
  EXPECT_FALSE(list_filter_matches(f, only_z));  // would match as (x AND y) OR z
  EXPECT_TRUE(list_filter_matches(list_filter_parse("(labels.x=1 AND labels.y=2) OR labels.z=3"), only_z));
  // NOT binds to one term: NOT a OR b == (NOT a) OR b.
  EXPECT_EQ(list_filter_format(list_filter_parse("NOT labels.a=1 OR labels.b=2")),
            "(NOT labels.a = \"1\" OR labels.b = \"2\")");
  // A sequence binds tighter than AND, looser than OR.
  EXPECT_EQ(list_filter_format(list_filter_parse("labels.a=1 labels.b=2 OR labels.c=3 AND labels.d=4")),
            "((labels.a = \"1\" AND (labels.b = \"2\" OR labels.c = \"3\")) AND labels.d = \"4\")");
}

TEST(ListFilter, ParenthesesAndQuotedStrings) {
  EXPECT_TRUE(match("(labels.family=gemma OR labels.family=llama) AND labels.model_garden=true", llama()));
  EXPECT_FALSE(match("(labels.family=gemma OR labels.family=llama) AND NOT labels.model_garden=true", llama()));
  FilterRecord q{{{"display_name", "say \"hi\"\\ 'now'"}}, {}};
  EXPECT_TRUE(match(R"(display_name = "say \"hi\"\\ 'now'")", q));
  EXPECT_TRUE(match(R"(display_name = 'say "hi"\\ \'now\'')", q));
  FilterRecord star{{{"display_name", "a*b"}}, {}};
  EXPECT_TRUE(match(R"(display_name = "a\*b")", star));  // an escaped '*' is still a wildcard char, matching itself
}

TEST(ListFilter, GlobalRestrictionSearchesValues) {
  EXPECT_TRUE(match("gemma", gemma()));
  EXPECT_TRUE(match("gemma", tuned()));  // label value base=gemma
  EXPECT_FALSE(match("gemma", llama()));
  EXPECT_TRUE(match("\"tuned model\"", tuned()));
}

TEST(ListFilter, ErrorsPointAtTheColumn) {
  EXPECT_EQ(error_of("labels.family = "), "filter:1:17: expected a value after '='");
  EXPECT_EQ(error_of("display_name = AND"), "filter:1:16: expected a value after '=', found 'AND' (quote it to use it as a value)");
  EXPECT_EQ(error_of("labels.a=1 AND"), "filter:1:15: expected a restriction after AND (at column 12), found the end of the filter");
  EXPECT_EQ(error_of("labels.a=1 OR"), "filter:1:14: expected a restriction after OR, found the end of the filter");
  EXPECT_EQ(error_of("NOT"), "filter:1:4: expected a restriction after 'NOT', found the end of the filter");
  EXPECT_EQ(error_of("(labels.a=1"), "filter:1:12: expected ')' to close the '(' at column 1, found the end of the filter");
  EXPECT_EQ(error_of("labels.a=1)"), "filter:1:11: unexpected ')' (no matching '(')");
  EXPECT_EQ(error_of("()"), "filter:1:2: expected a restriction inside '()'");
  EXPECT_EQ(error_of("display_name = \"abc"), "filter:1:16: unterminated string (no closing \")");
  EXPECT_EQ(error_of("display_name = \"a\\qb\""), "filter:1:18: unknown escape '\\q' in a quoted string");
  EXPECT_EQ(error_of("display_name ! x"), "filter:1:14: expected '=' after '!'");
  EXPECT_EQ(error_of("colour = red"),
            "filter:1:1: unknown field 'colour' (fields: display_name, create_time, update_time, name, description, labels.<key>)");
  EXPECT_EQ(error_of("labels. = x"), "filter:1:1: expected a label key after 'labels.'");
  EXPECT_EQ(error_of("labels = x"), "filter:1:8: compare a label as labels.<key>, not labels");
  EXPECT_EQ(error_of("create_time > \"yesterday\""),
            "filter:1:15: 'yesterday' is not an RFC 3339 timestamp (like \"2026-01-31T12:00:00Z\") for create_time");
  EXPECT_EQ(error_of("\"x\" = 1"), "filter:1:1: expected a field name before '=', found a quoted string");
  EXPECT_EQ(error_of("AND labels.a=1"), "filter:1:1: expected a restriction, found 'AND'");
  EXPECT_EQ(error_of("= 1"), "filter:1:1: expected a restriction, found '='");
  EXPECT_EQ(error_of("labels.a=1\n  OR"), "filter:2:5: expected a restriction after OR, found the end of the filter");
  EXPECT_EQ(error_of("labels.a = 1 = 2"), "filter:1:14: expected AND, OR or the end of the filter, found '='");
}

TEST(ListFilter, TimestampsOutsideTheNanosecondRangeAreRefusedNotWrapped) {
  // list_filter_fuzz: year 4052 overflowed int64 nanoseconds (UB, then a wrong order).
  int64_t ns = 0;
  EXPECT_FALSE(rfc3339_parse("4052-01-01T00:00:00+01:00", &ns));
  EXPECT_FALSE(rfc3339_parse("0001-01-01T00:00:00Z", &ns));
  EXPECT_TRUE(rfc3339_parse("2262-01-01T00:00:00Z", &ns));
  EXPECT_GT(ns, 0);
  EXPECT_TRUE(rfc3339_parse("1700-01-01T00:00:00Z", &ns));
  EXPECT_LT(ns, 0);
  EXPECT_EQ(error_of("create_time >= 4052-01-01T00:00:00Z"),
            "filter:1:16: '4052-01-01T00:00:00Z' is not an RFC 3339 timestamp (like \"2026-01-31T12:00:00Z\") for create_time");
}

TEST(ListFilter, DeepNestingIsRefusedNotACrash) {
  const std::string deep = std::string(100000, '(') + "labels.a=1" + std::string(100000, ')');
  EXPECT_NE(error_of(deep).find("nested too deeply"), std::string::npos);
  std::string nots;
  for (int i = 0; i < 100000; i++) nots += "NOT ";
  EXPECT_NE(error_of(nots + "labels.a=1").find("nested too deeply"), std::string::npos);
  const std::string ok = std::string(60, '(') + "labels.a=1" + std::string(60, ')');
  EXPECT_TRUE(list_filter_matches(list_filter_parse(ok), FilterRecord{{}, {{"a", "1"}}}));
}

TEST(ListFilter, CustomFieldSets) {
  ListFilterFields jobs;
  jobs.names = {"state", "create_time"};
  const ListFilter f = list_filter_parse("state = JOB_STATE_RUNNING OR state=JOB_STATE_QUEUED", jobs);
  EXPECT_TRUE(list_filter_matches(f, FilterRecord{{{"state", "JOB_STATE_QUEUED"}}, {}}));
  EXPECT_FALSE(list_filter_matches(f, FilterRecord{{{"state", "JOB_STATE_FAILED"}}, {}}));
  EXPECT_THROW(list_filter_parse("display_name = x", jobs), Error);
}

TEST(Rfc3339, ParsesAndRejects) {
  int64_t ns = 0;
  ASSERT_TRUE(rfc3339_parse("1970-01-01T00:00:00Z", &ns));
  EXPECT_EQ(ns, 0);
  ASSERT_TRUE(rfc3339_parse("2000-03-01T00:00:00.25+00:00", &ns));
  EXPECT_EQ(ns, 951868800LL * 1000000000 + 250000000);  // `date -d 2000-03-01Z +%s`
  ASSERT_TRUE(rfc3339_parse("1969-12-31t23:00:00-01:00", &ns));
  EXPECT_EQ(ns, 0);
  ASSERT_TRUE(rfc3339_parse("2024-02-29T12:00:00Z", &ns));
  EXPECT_FALSE(rfc3339_parse("2023-02-29T12:00:00Z", &ns));
  EXPECT_FALSE(rfc3339_parse("2023-13-01T12:00:00Z", &ns));
  EXPECT_FALSE(rfc3339_parse("2023-01-01T12:00:00", &ns));  // no offset
  EXPECT_FALSE(rfc3339_parse("2023-01-01T12:00:00Zjunk", &ns));
  EXPECT_FALSE(rfc3339_parse("2023-01-01T12:00:00.Z", &ns));
  EXPECT_FALSE(rfc3339_parse("2023-01-01", &ns));
}

TEST(OrderBy, ParsesKeysAndDirections) {
  const OrderBy o = order_by_parse("display_name desc, create_time,labels.size asc");
  ASSERT_EQ(o.size(), 3u);
  EXPECT_EQ(o[0].member, "display_name");
  EXPECT_TRUE(o[0].descending);
  EXPECT_EQ(o[1].member, "create_time");
  EXPECT_FALSE(o[1].descending);
  EXPECT_EQ(o[2].member, "labels.size");
  EXPECT_FALSE(o[2].descending);
  EXPECT_TRUE(order_by_parse("  ").empty());
}

TEST(OrderBy, ErrorsPointAtTheColumn) {
  EXPECT_EQ(order_error_of("display_name down"),
            "order_by:1:14: expected 'asc', 'desc' or ',' after display_name, found 'down'");
  EXPECT_EQ(order_error_of("display_name,"), "order_by:1:14: expected a field name");
  EXPECT_EQ(order_error_of("display_name desc x"), "order_by:1:19: expected ',' between sort keys");
  EXPECT_EQ(order_error_of("colour"),
            "order_by:1:1: unknown field 'colour' (fields: display_name, create_time, update_time, name, description, labels.<key>)");
}

TEST(OrderBy, SortsByKeysInTurn) {
  std::vector<FilterRecord> rs = {gemma(), llama(), tuned()};
  const auto names = [&] {
    std::string s;
    for (const auto& r : rs) s += r.fields.at("display_name") + "|";
    return s;
  };
  std::stable_sort(rs.begin(), rs.end(), [o = order_by_parse("display_name desc")](const auto& a, const auto& b) {
    return order_by_less(o, a, b);
  });
  EXPECT_EQ(names(), "my tuned model|Llama 3.1 8B|Gemma 2 2B Instruct|");
  std::stable_sort(rs.begin(), rs.end(), [o = order_by_parse("create_time")](const auto& a, const auto& b) {
    return order_by_less(o, a, b);
  });
  EXPECT_EQ(names(), "Llama 3.1 8B|Gemma 2 2B Instruct|my tuned model|");
  // Missing label first when ascending; rank compares as a number (8 < 16).
  std::stable_sort(rs.begin(), rs.end(), [o = order_by_parse("labels.rank")](const auto& a, const auto& b) {
    return order_by_less(o, a, b);
  });
  EXPECT_EQ(names(), "my tuned model|Llama 3.1 8B|Gemma 2 2B Instruct|");
  // Times with different offsets compare as instants.
  FilterRecord a{{{"create_time", "2026-01-01T00:30:00+01:00"}}, {}};  // 2025-12-31T23:30Z
  FilterRecord b{{{"create_time", "2026-01-01T00:00:00Z"}}, {}};
  EXPECT_TRUE(order_by_less(order_by_parse("create_time"), a, b));
  EXPECT_FALSE(order_by_less(order_by_parse("create_time"), b, a));
  EXPECT_TRUE(order_by_less(order_by_parse("create_time desc"), b, a));
}

}  // namespace
}  // namespace loam
