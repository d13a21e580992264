// Inference and endpoint routes: OpenAI /v1/chat/completions,
// /v1/completions, /v1/models; the managed service's endpoints (CRUD,
// :deployModel, :undeployModel, :mutateDeployedModel) and their
// :generateContent, :streamGenerateContent and :predict (also on
// publishers/{publisher}/models/{model}, naming a registered model); and
// /metrics. Thin: the dialect files parse and shape, infer_api runs.
//
// Streaming answers use chunked transfer: SSE "data: {...}" events (and
// "data: [DONE]" for OpenAI), or a JSON array for streamGenerateContent
// without alt=sse. An error after the first byte is sent as one last event
// {"error": {...}}. A client that disconnects cancels its request (its
// sequences leave the batch at the next step).
#include <httplib.h>

#include <chrono>
#include <random>

#include "registry/errors.h"
#include "serve/api_error.h"
#include "serve/api_generate.h"
#include "serve/client_probe.h"
#include "serve/endpoints.h"
#include "serve/infer_metrics.h"
#include "serve/request_fields.h"
#include "serve/routes.h"

namespace loam {

using nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

enum class Dialect { OpenAiChat, OpenAiCompletion, GenerateContent };

InferenceEngine& engine_of(ControlContext& c) {
  if (!c.engine) throw Error(ErrorKind::Unavailable, "inference", "this server runs no inference engine");
  return *c.engine;
}

double since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

std::string request_id(const char* prefix) {
  static std::mt19937_64 rng(std::random_device{}());
  static std::mutex mu;
  std::lock_guard<std::mutex> lk(mu);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%016llx", prefix, static_cast<unsigned long long>(rng()));
  return buf;
}

// Runs the handler body; records the request in the metrics (with the id of
// the endpoint it was addressed to, once the body has found it), and gives a
// 429 its Retry-After header, whatever way the body ends.
void measured(ControlContext& c, const std::string& route, httplib::Response& res,
              const std::function<void(bool&, std::string&)>& body) {
  const auto t0 = clock_type::now();
  bool streaming = false;  // a streaming body records itself when the stream ends
  std::string endpoint;
  try {
    body(streaming, endpoint);
  } catch (const std::exception& e) {
    const ApiError a = api_error_of(e);
    if (a.http_status == 429) res.set_header("Retry-After", "1");
    if (c.metrics) c.metrics->request_done(route, a.http_status, since(t0), endpoint);
    throw;
  }
  if (c.metrics && !streaming) c.metrics->request_done(route, res.status < 0 ? 200 : res.status, since(t0), endpoint);
}

// The id of the endpoint `ref` names, or "" (a model, or nothing known).
std::string endpoint_id_of(ControlContext& c, const std::string& ref) {
  if (ref.empty()) return "";
  auto ep = endpoint_find(c.store, ref);
  return ep ? ep->id : "";
}

struct StreamState {
  std::unique_ptr<InferCall> call;
  GenRequest req;
  InferTarget target;
  Dialect dialect;
  std::string id, route;
  std::string endpoint;  // for the metrics
  bool sse = true;  // streamGenerateContent without alt=sse: a JSON array
  ClientProbe probe;
  clock_type::time_point t0;
};

bool sink_write(httplib::DataSink& sink, const std::string& s) { return sink.is_writable() && sink.write(s.data(), s.size()); }

void stream_run(ControlContext& c, StreamState& st, httplib::DataSink& sink) {
  const bool chat = st.dialect == Dialect::OpenAiChat;
  const bool openai = st.dialect != Dialect::GenerateContent;
  const std::string& model = st.target.name;
  std::vector<bool> started(st.call->tickets.size(), false);
  std::vector<size_t> lp_sent(st.call->tickets.size(), 0), lp_offset(st.call->tickets.size(), 0);
  const Tokenizer& tok = c.engine->base(st.target.base_path).text.tokenizer;
  bool any = false, first_event = true;
  auto event = [&](const json& j) {
    std::string s;
    if (st.sse) s = "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
    else s = std::string(first_event ? "[" : ",\r\n") + j.dump(-1, ' ', false, json::error_handler_t::replace);
    first_event = false;
    return sink_write(sink, s);
  };
  int status = 200;
  try {
    auto cs = infer_collect(
        *st.call,
        [&](size_t i, std::string_view piece, const std::vector<TokenLogprob>& lps) {
          if (!any && c.metrics) c.metrics->first_token(since(st.t0));
          any = true;
          const bool first = !started[i];
          started[i] = true;
          if (!openai) return piece.empty() || event(genai_chunk(model, i, std::string(piece), nullptr));
          json chunk = openai_chunk(chat, st.id, model, i, std::string(piece), nullptr, first);
          if (st.req.logprobs && !lps.empty()) {  // this chunk's tokens, as OpenAI streams them
            chunk["choices"][0]["logprobs"] = openai_logprobs_json(chat, lps, tok, lp_offset[i]);
            lp_sent[i] += lps.size();
          }
          return event(chunk);
        },
        [&] { return st.probe.gone(); });
    for (size_t i = 0; i < cs.size(); i++) {
      if (openai) {
        json last = openai_chunk(chat, st.id, model, i, "", finish_reason_openai(cs[i].finish).c_str(), !started[i]);
        if (st.req.logprobs && lp_sent[i] < cs[i].logprobs.size())  // any not streamed yet
          last["choices"][0]["logprobs"] = openai_logprobs_json(
              chat, std::vector<TokenLogprob>(cs[i].logprobs.begin() + static_cast<std::ptrdiff_t>(lp_sent[i]), cs[i].logprobs.end()),
              tok, lp_offset[i]);
        event(last);
      } else {
        json last = genai_chunk(model, i, "", genai_finish(cs[i].finish));
        if (i + 1 == cs.size()) last["usageMetadata"] = genai_response(st.req, model, cs)["usageMetadata"];
        event(last);
      }
    }
    if (openai && st.req.include_usage) {
      int64_t out = 0;
      for (const auto& x : cs) out += x.n_generated;
      event({{"id", st.id}, {"object", chat ? "chat.completion.chunk" : "text_completion"}, {"created", 0},
             {"model", model}, {"choices", json::array()}, {"usage", openai_usage(cs.empty() ? 0 : cs[0].n_prompt, out)}});
    }
  } catch (const std::exception& e) {
    const ApiError a = api_error_of(e);
    status = a.http_status;
    if (status != 499) event(a.body());
  }
  if (openai) sink_write(sink, "data: [DONE]\n\n");
  else if (!st.sse) sink_write(sink, first_event ? "[]" : "]");
  sink.done();
  if (c.metrics) c.metrics->request_done(st.route, status, since(st.t0), st.endpoint);
}

void generate(ControlContext& c, const httplib::Request& q, httplib::Response& res, GenRequest r, Dialect d,
              const std::string& route, bool& streaming, std::string& endpoint, bool sse = true) {
  const auto t0 = clock_type::now();
  InferenceEngine& e = engine_of(c);
  const std::string field = d == Dialect::GenerateContent ? "endpoint" : "model";
  endpoint = endpoint_id_of(c, r.model);
  InferTarget t = infer_target_resolve(c, r.model, field, r.spec.sampling.seed);
  const InferBase& b = e.base(t.base_path);  // loads it on first use (an on-demand deployment)
  gen_request_tokenize(r, b);
  r.spec.stream = r.stream;
  auto call = infer_submit(e, t, r.spec, r.prompt_field, r.max_tokens_field);
  if (!r.stream) {
    ClientProbe probe(q);
    bool any = false;
    auto cs = infer_collect(
        *call,
        [&](size_t, std::string_view, const std::vector<TokenLogprob>&) {
          if (!any && c.metrics) c.metrics->first_token(since(t0));
          any = true;
          return true;
        },
        [&] { return probe.gone(); });
    json out;
    if (d == Dialect::OpenAiChat) out = openai_chat_response(r, request_id("chatcmpl-"), t.name, cs, b.text.tokenizer);
    else if (d == Dialect::OpenAiCompletion) out = openai_completion_response(r, request_id("cmpl-"), t.name, cs, b.text.tokenizer);
    else out = genai_response(r, t.name, cs);
    return respond_json(res, 200, out);
  }
  streaming = true;
  auto st = std::make_shared<StreamState>(StreamState{std::move(call), std::move(r), std::move(t), d,
                                                      request_id(d == Dialect::OpenAiChat ? "chatcmpl-" : "cmpl-"), route,
                                                      endpoint, sse, ClientProbe(q), t0});
  res.status = 200;
  const char* type = st->sse ? "text/event-stream" : "application/json";
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(type, [&c, st](size_t, httplib::DataSink& sink) {
    stream_run(c, *st, sink);
    return true;
  });
}

ApiScope scope_of(const PathParams& p) { return {p.at("project"), p.at("location")}; }

void predict(ControlContext& c, const httplib::Request& q, httplib::Response& res, const std::string& ref, const ApiScope& s) {
  InferenceEngine& e = engine_of(c);
  std::vector<GenRequest> reqs = predict_parse(body_parse(q.body), ref);
  auto ep = endpoint_find(c.store, ref);
  if (!ep) throw error_not_found("endpoint " + ref, "no such endpoint");
  InferTarget t = infer_target_resolve(c, ref, "endpoint", reqs[0].spec.sampling.seed);
  const InferBase& b = e.base(t.base_path);
  std::vector<std::unique_ptr<InferCall>> calls;
  for (GenRequest& r : reqs) {
    gen_request_tokenize(r, b);
    r.spec.stream = false;
    calls.push_back(infer_submit(e, t, r.spec, r.prompt_field, r.max_tokens_field));
  }
  ClientProbe probe(q);
  json preds = json::array();
  for (auto& call : calls) {
    auto cs = infer_collect(*call, nullptr, [&] { return probe.gone(); });
    preds.push_back(cs.at(0).text);
  }
  const DeployedModelRecord d = endpoint_route(*ep, reqs[0].spec.sampling.seed, "endpoint");
  respond_json(res, 200,
               json{{"predictions", preds},
                    {"deployedModelId", d.id},
                    {"model", s.prefix() + "/models/" + d.model_id},
                    {"modelDisplayName", d.display_name},
                    {"modelVersionId", std::to_string(d.model_version_id)}});
}

}  // namespace

void routes_inference_add(Router& r, ControlContext& c) {
  r.add("POST", "/v1/chat/completions", [&c](const httplib::Request& q, httplib::Response& res, const PathParams&) {
    measured(c, "/v1/chat/completions", res, [&](bool& streaming, std::string& endpoint) {
      generate(c, q, res, openai_chat_parse(body_parse(q.body)), Dialect::OpenAiChat, "/v1/chat/completions", streaming,
               endpoint);
    });
  });
  r.add("POST", "/v1/completions", [&c](const httplib::Request& q, httplib::Response& res, const PathParams&) {
    measured(c, "/v1/completions", res, [&](bool& streaming, std::string& endpoint) {
      generate(c, q, res, openai_completion_parse(body_parse(q.body)), Dialect::OpenAiCompletion, "/v1/completions",
               streaming, endpoint);
    });
  });
  r.add_json("GET", "/v1/models", [&c](const httplib::Request&, const PathParams&) { return openai_models_list(c); });
  routes_replicas_add(r, c);
  r.add("GET", "/metrics", [&c](const httplib::Request&, httplib::Response& res, const PathParams&) {
    ServeMetrics none;
    res.set_content((c.metrics ? *c.metrics : none).render(c.engine, &c.store), "text/plain; version=0.0.4");
  });

  for (const std::string v : {"/v1", "/v1beta1"}) {
    const std::string base = v + "/projects/{project}/locations/{location}";
    const std::string ep = base + "/endpoints/{endpoint}";
    r.add_json("POST", base + "/endpoints", [&c](const httplib::Request& q, const PathParams& p) {
      return api_endpoint_create(c, scope_of(p), body_parse(q.body));
    });
    r.add_json("GET", base + "/endpoints", [&c](const httplib::Request&, const PathParams& p) {
      return api_endpoint_list(c, scope_of(p));
    });
    r.add_json("GET", ep, [&c](const httplib::Request&, const PathParams& p) {
      return api_endpoint_get(c, scope_of(p), p.at("endpoint"));
    });
    r.add_json("PATCH", ep, [&c](const httplib::Request& q, const PathParams& p) {
      return api_endpoint_patch(c, scope_of(p), p.at("endpoint"), body_parse(q.body));
    });
    r.add_json("DELETE", ep, [&c](const httplib::Request&, const PathParams& p) {
      return api_endpoint_delete(c, scope_of(p), p.at("endpoint"));
    });
    r.add_json("POST", ep + ":deployModel", [&c](const httplib::Request& q, const PathParams& p) {
      return api_endpoint_deploy(c, scope_of(p), p.at("endpoint"), body_parse(q.body));
    });
    r.add_json("POST", ep + ":undeployModel", [&c](const httplib::Request& q, const PathParams& p) {
      return api_endpoint_undeploy(c, scope_of(p), p.at("endpoint"), body_parse(q.body));
    });
    r.add_json("POST", ep + ":mutateDeployedModel", [&c](const httplib::Request& q, const PathParams& p) {
      return api_endpoint_mutate(c, scope_of(p), p.at("endpoint"), body_parse(q.body));
    });
    r.add("POST", ep + ":predict", [&c](const httplib::Request& q, httplib::Response& res, const PathParams& p) {
      measured(c, ":predict", res, [&](bool&, std::string& endpoint) {
        endpoint = endpoint_id_of(c, p.at("endpoint"));
        predict(c, q, res, p.at("endpoint"), scope_of(p));
      });
    });
    // generateContent on an endpoint, or on a registered model by name.
    for (const std::string& target : {ep, base + "/publishers/{publisher}/models/{model}"}) {
      const std::string key = target == ep ? "endpoint" : "model";
      r.add("POST", target + ":generateContent", [&c, key](const httplib::Request& q, httplib::Response& res, const PathParams& p) {
        measured(c, ":generateContent", res, [&](bool& streaming, std::string& endpoint) {
          generate(c, q, res, genai_parse(body_parse(q.body), p.at(key)), Dialect::GenerateContent, ":generateContent",
                   streaming, endpoint);
        });
      });
      r.add("POST", target + ":streamGenerateContent", [&c, key](const httplib::Request& q, httplib::Response& res, const PathParams& p) {
        measured(c, ":streamGenerateContent", res, [&](bool& streaming, std::string& endpoint) {
          GenRequest g = genai_parse(body_parse(q.body), p.at(key));
          g.stream = true;
          generate(c, q, res, std::move(g), Dialect::GenerateContent, ":streamGenerateContent", streaming, endpoint,
                   q.get_param_value("alt") == "sse");
        });
      });
    }
  }
}

}  // namespace loam
