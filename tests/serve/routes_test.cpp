// Every route the server registers is in the OpenAPI document with its
// method; errors map to the managed service's statuses; list selection
// filters, orders and pages.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "registry/errors.h"
#include "registry/store.h"
#include "serve/api_error.h"
#include "serve/list_query.h"
#include "serve/routes.h"

namespace loam {
namespace {

TEST(Routes, EveryRegisteredRouteIsInTheOpenApiDocument) {
  char tmpl[] = "/tmp/loam_routes_XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  {
    auto store = store_open(dir);
    ControlContext ctx{*store, {dir + "/buckets", {dir}}, nullptr};
    Router r(nullptr, 1024);
    routes_all_add(r, ctx);
    const nlohmann::json doc = openapi_document();
    ASSERT_GE(r.routes().size(), 28u);
    for (const RouteInfo& ri : r.routes()) {
      std::string m = ri.method;
      std::transform(m.begin(), m.end(), m.begin(), ::tolower);
      ASSERT_TRUE(doc["paths"].contains(ri.path)) << ri.path;
      EXPECT_TRUE(doc["paths"][ri.path].contains(m)) << ri.method << " " << ri.path;
    }
    size_t documented = 0;
    for (auto& [path, ops] : doc["paths"].items()) documented += ops.size();
    EXPECT_EQ(documented, r.routes().size()) << "the document lists routes the server does not answer";
  }
  std::filesystem::remove_all(dir);
}

TEST(ApiError, KindsMapToStatuses) {
  EXPECT_EQ(api_error_of(error_invalid("f", "x")).http_status, 400);
  EXPECT_EQ(api_error_of(error_not_found("f", "x")).http_status, 404);
  EXPECT_EQ(api_error_of(error_exists("f", "x")).http_status, 409);
  EXPECT_EQ(api_error_of(error_denied("f", "x")).http_status, 403);
  EXPECT_EQ(api_error_of(error_too_large("f", "x")).http_status, 429);
  EXPECT_EQ(api_error_of(Error(ErrorKind::Unavailable, "f", "x")).http_status, 503);
  EXPECT_EQ(api_error_of(Error("f", "a kind-less error")).http_status, 400);
  const ApiError a = api_error_of(error_precondition("job 1", "cannot cancel"));
  EXPECT_EQ(a.http_status, 400);
  EXPECT_EQ(a.body()["error"]["status"], "FAILED_PRECONDITION");
  EXPECT_EQ(a.body()["error"]["message"], "job 1: cannot cancel");
  EXPECT_EQ(api_error_of(std::runtime_error("boom")).http_status, 500);
}

TEST(ListQuery, FiltersOrdersAndPages) {
  std::vector<ListItemFields> items = {
      {"b", "2026-01-02", "", "", {{"family", "gemma"}}},
      {"a", "2026-01-01", "", "", {{"family", "llama"}}},
      {"c", "2026-01-03", "", "", {{"family", "gemma"}, {"size", "2b"}}},
  };
  std::string next;
  EXPECT_EQ(list_select(items, {"labels.family=\"gemma\"", "display_name desc", "", 0}, next),
            (std::vector<size_t>{2, 0}));
  EXPECT_EQ(list_select(items, {"labels.size:*", "", "", 0}, next), (std::vector<size_t>{2}));
  EXPECT_EQ(list_select(items, {"", "create_time", "", 2}, next), (std::vector<size_t>{1, 0}));
  EXPECT_EQ(next, "o2");
  EXPECT_EQ(list_select(items, {"", "create_time", next, 2}, next), (std::vector<size_t>{2}));
  EXPECT_EQ(next, "");
  try {
    list_select(items, {"labels.family = ", "", "", 0}, next);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("filter:1:17"), std::string::npos) << e.what();
  }
  // The full grammar: OR, parentheses and NOT.
  EXPECT_EQ(list_select(items, {"(labels.family=gemma OR labels.family=llama) AND NOT display_name=c", "display_name", "", 0}, next),
            (std::vector<size_t>{1, 0}));
  EXPECT_THROW(list_select(items, {"", "colour", "", 0}, next), Error);
  EXPECT_THROW(list_select(items, {"", "", "x1", 0}, next), Error);
}

}  // namespace
}  // namespace loam
