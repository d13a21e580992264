#include "eval/report_html.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace loam {

namespace {

const char* kStyle = R"(
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1200px;color:#1d2330;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #d8dde6;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #d8dde6;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f2f4f8}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.text{max-width:360px;white-space:pre-wrap;word-break:break-word}
.up{color:#116b2f;font-weight:600}.down{color:#a3212a;font-weight:600}.ns{color:#6b7280}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #d8dde6;border-radius:4px;background:#fff}
.muted{color:#6b7280}.refused{background:#eefaf1}.answered{background:#fdf1f1}
)";

const char* kPalette[] = {"#6b7280", "#2563eb", "#d97706", "#059669", "#9333ea", "#dc2626"};

std::string fmt(double v, int digits = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

int digits_for(const std::string& metric) {
  return metric == "bleu" || metric == "chrf" || metric == "perplexity" ? 2 : 4;
}

std::string svg_chart(const std::string& metric, const std::vector<std::string>& names, const std::vector<Interval>& v) {
  const int bar_h = 22, gap = 8, label_w = 130, plot_w = 260, top = 24;
  const int h = top + static_cast<int>(v.size()) * (bar_h + gap) + 8;
  double max = 0;
  for (const Interval& x : v) max = std::max({max, x.value, x.high});
  if (metric != "perplexity" && metric != "bleu" && metric != "chrf") max = std::max(max, 1.0);
  if (max <= 0) max = 1;
  auto xpos = [&](double x) { return label_w + std::clamp(x / max, 0.0, 1.0) * plot_w; };
  std::string s = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(label_w + plot_w + 70) +
                  "\" height=\"" + std::to_string(h) + "\" role=\"img\" aria-label=\"" + html_escape(metric) + "\">";
  s += "<text x=\"8\" y=\"16\" font-size=\"13\" font-weight=\"600\">" + html_escape(metric) + "</text>";
  for (size_t i = 0; i < v.size(); i++) {
    const int y = top + static_cast<int>(i) * (bar_h + gap);
    const char* color = kPalette[i % (sizeof kPalette / sizeof kPalette[0])];
    s += "<text x=\"8\" y=\"" + std::to_string(y + 15) + "\" font-size=\"12\">" + html_escape(names[i]) + "</text>";
    s += "<rect x=\"" + std::to_string(label_w) + "\" y=\"" + std::to_string(y) + "\" width=\"" +
         fmt(xpos(v[i].value) - label_w, 1) + "\" height=\"" + std::to_string(bar_h) + "\" fill=\"" + color + "\"/>";
    s += "<line x1=\"" + fmt(xpos(v[i].low), 1) + "\" x2=\"" + fmt(xpos(v[i].high), 1) + "\" y1=\"" +
         std::to_string(y + bar_h / 2) + "\" y2=\"" + std::to_string(y + bar_h / 2) + "\" stroke=\"#111\" stroke-width=\"2\"/>";
    s += "<text x=\"" + fmt(xpos(std::max(v[i].value, v[i].high)) + 6, 1) + "\" y=\"" + std::to_string(y + 15) +
         "\" font-size=\"12\">" + fmt(v[i].value, digits_for(metric)) + "</text>";
  }
  return s + "</svg>";
}

const Interval* find_metric(const SystemScores& s, const std::string& name) {
  for (const MetricValue& m : s.metrics)
    if (m.name == name) return &m.value;
  return nullptr;
}

std::string metrics_section(const EvalScores& s) {
  std::string h = "<h2>Metrics</h2><p class=\"muted\">Value with its bootstrap 95% interval.</p><table id=\"metrics\"><tr><th>metric</th>";
  for (const SystemScores& sys : s.systems) h += "<th>" + html_escape(sys.name) + "</th>";
  h += "</tr>";
  std::vector<std::string> names;
  if (!s.systems.empty())
    for (const MetricValue& m : s.systems[0].metrics) names.push_back(m.name);
  for (const std::string& n : names) {
    h += "<tr><th>" + html_escape(n) + "</th>";
    for (const SystemScores& sys : s.systems) {
      const Interval* v = find_metric(sys, n);
      const int d = digits_for(n);
      h += v ? "<td class=\"num\">" + fmt(v->value, d) + " <span class=\"muted\">[" + fmt(v->low, d) + ", " + fmt(v->high, d) +
                   "]</span></td>"
             : "<td></td>";
    }
    h += "</tr>";
  }
  h += "</table><div class=\"charts\">";
  for (const std::string& n : names) {
    std::vector<std::string> sys_names;
    std::vector<Interval> vals;
    for (const SystemScores& sys : s.systems)
      if (const Interval* v = find_metric(sys, n)) sys_names.push_back(sys.name), vals.push_back(*v);
    h += svg_chart(n, sys_names, vals);
  }
  return h + "</div>";
}

std::string comparison_section(const EvalScores& s) {
  if (s.comparisons.empty()) return "";
  std::string h =
      "<h2>Differences from the baseline</h2><p class=\"muted\">System − baseline with its paired-bootstrap 95% interval "
      "and two-sided p-value; bold when p &lt; 0.05. For perplexity lower is better.</p>"
      "<table id=\"comparison\"><tr><th>system</th><th>baseline</th><th>metric</th><th>difference</th><th>95% interval</th><th>p</th></tr>";
  for (const SystemComparison& c : s.comparisons) {
    for (const MetricComparison& m : c.metrics) {
      const bool lower_better = m.name == "perplexity";
      const bool sig = m.result.p_value < 0.05 && m.result.delta.value != 0;
      const bool better = lower_better ? m.result.delta.value < 0 : m.result.delta.value > 0;
      const char* cls = !sig ? "ns" : better ? "up" : "down";
      const int d = digits_for(m.name);
      h += "<tr><td>" + html_escape(c.system) + "</td><td>" + html_escape(c.baseline) + "</td><td>" + html_escape(m.name) +
           "</td><td class=\"num " + cls + "\">" + (m.result.delta.value >= 0 ? "+" : "") + fmt(m.result.delta.value, d) +
           "</td><td class=\"num\">[" + fmt(m.result.delta.low, d) + ", " + fmt(m.result.delta.high, d) +
           "]</td><td class=\"num\">" + fmt(m.result.p_value, 4) + "</td></tr>";
    }
  }
  return h + "</table>";
}

std::string classification_section(const EvalInputs& in, const EvalScores& s) {
  std::string h;
  for (size_t k = 0; k < s.systems.size(); k++) {
    const SystemScores& sys = s.systems[k];
    if (!sys.classification) continue;
    const ClassificationReport& c = *sys.classification;
    if (h.empty()) h = "<h2>Classification</h2>";
    h += "<h3>" + html_escape(sys.name) + "</h3><table class=\"per-class\"><tr><th>label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>";
    for (const ClassReport& cr : c.classes)
      h += "<tr><td>" + html_escape(cr.label) + "</td><td class=\"num\">" + fmt(cr.precision) + "</td><td class=\"num\">" +
           fmt(cr.recall) + "</td><td class=\"num\">" + fmt(cr.f1) + "</td><td class=\"num\">" + std::to_string(cr.support) + "</td></tr>";
    h += "</table><p class=\"muted\">Confusion matrix: rows are the reference label, columns the predicted one; "
         "<em>invalid</em> counts answers that are no known label (" + std::to_string(c.n_invalid) + ").</p>";
    if (c.n_invalid > 0) {
      h += "<p class=\"muted\">Invalid answers (first 10):</p><ul class=\"invalid\">";
      int shown = 0;
      for (size_t i = 0; i < sys.predicted_labels.size() && shown < 10; i++)
        if (sys.predicted_labels[i] == kInvalidLabel) {
          h += "<li>#" + std::to_string(i + 1) + ": <code>" + html_escape(in.systems[k].predictions[i]) + "</code></li>";
          shown++;
        }
      h += "</ul>";
    }
    h += "<table id=\"confusion-" + std::to_string(k) + "\" class=\"confusion\"><tr><th>reference \\ predicted</th>";
    for (const std::string& l : s.labels) h += "<th>" + html_escape(l) + "</th>";
    h += "<th>invalid</th></tr>";
    for (size_t t = 0; t < s.labels.size(); t++) {
      h += "<tr><th>" + html_escape(s.labels[t]) + "</th>";
      for (size_t p = 0; p <= s.labels.size(); p++) {
        const int64_t n = c.confusion[t][p];
        h += std::string("<td class=\"num\"") + (p == t && n > 0 ? " style=\"background:#e6f4ea\"" : "") + ">" + std::to_string(n) + "</td>";
      }
      h += "</tr>";
    }
    h += "</table>";
  }
  return h;
}

std::string example_row(const EvalInputs& in, const EvalScores& s, size_t i, const std::string& metric, double delta,
                        bool with_delta) {
  std::string h = "<tr><td class=\"num\">" + std::to_string(i + 1) + "</td><td class=\"text\">" + html_escape(in.examples[i].prompt) +
                  "</td><td class=\"text\">" + html_escape(in.examples[i].reference) + "</td>";
  for (size_t k = 0; k < in.systems.size(); k++) {
    auto it = s.systems[k].per_example.find(metric);
    std::string score = it != s.systems[k].per_example.end() ? " <span class=\"muted\">(" + fmt(it->second[i], digits_for(metric)) + ")</span>" : "";
    h += "<td class=\"text\">" + html_escape(in.systems[k].predictions[i]) + score + "</td>";
  }
  if (with_delta) h += std::string("<td class=\"num ") + (delta > 0 ? "up" : delta < 0 ? "down" : "ns") + "\">" + fmt(delta, digits_for(metric)) + "</td>";
  return h + "</tr>";
}

std::string examples_section(const EvalInputs& in, const EvalScores& s) {
  const std::string& metric = s.primary_metric;
  auto header = [&](const std::string& id, bool with_delta) {
    std::string h = "<table id=\"" + id + "\"><tr><th>#</th><th>prompt</th><th>reference</th>";
    for (const SystemOutputs& sys : in.systems) h += "<th>" + html_escape(sys.name) + "</th>";
    return h + (with_delta ? "<th>Δ " + html_escape(metric) + "</th>" : "") + "</tr>";
  };
  std::string h;
  const size_t n = in.examples.size();
  const bool compare = in.systems.size() > 1 && !metric.empty() && s.systems[0].per_example.count(metric) &&
                       s.systems[1].per_example.count(metric);
  if (compare) {
    std::vector<double> delta(n);
    const auto& b = s.systems[0].per_example.at(metric);
    const auto& t = s.systems[1].per_example.at(metric);
    const double sign = metric == "perplexity" ? -1.0 : 1.0;  // a win lowers perplexity
    for (size_t i = 0; i < n; i++) delta[i] = sign * (t[i] - b[i]);
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t c) { return delta[a] > delta[c]; });
    const std::string title = html_escape(s.systems[1].name) + " vs " + html_escape(s.systems[0].name) + " by " + html_escape(metric);
    h += "<h2>Biggest wins</h2><p class=\"muted\">" + title + ", largest gains first.</p>" + header("wins", true);
    for (size_t j = 0; j < n && j < 10 && delta[order[j]] > 0; j++) h += example_row(in, s, order[j], metric, delta[order[j]], true);
    h += "</table><h2>Biggest regressions</h2><p class=\"muted\">" + title + ", largest losses first.</p>" + header("regressions", true);
    for (size_t j = 0; j < n && j < 10 && delta[order[n - 1 - j]] < 0; j++)
      h += example_row(in, s, order[n - 1 - j], metric, delta[order[n - 1 - j]], true);
    h += "</table>";
  }
  h += "<h2>All examples</h2>" + header("examples", false);
  for (size_t i = 0; i < n; i++) h += example_row(in, s, i, metric, 0, false);
  return h + "</table>";
}

std::string judge_section(const EvalInputs& in, const EvalScores& s) {
  if (in.judge_model.empty()) return "";
  std::string h = "<h2>Pairwise judge</h2><p class=\"muted\">" + html_escape(in.judge_model) +
                  " compared each pair of answers in both orders; shares of examples with bootstrap 95% intervals.</p>"
                  "<table id=\"judge\"><tr><th>system</th><th>baseline</th><th>win</th><th>tie</th><th>loss</th><th>replies without a verdict</th></tr>";
  for (size_t r = 0; r < s.judge.size() && r < in.judgments.size(); r++) {
    const JudgeScores& j = s.judge[r];
    auto cell = [](const Interval& v) {
      return "<td class=\"num\">" + fmt(v.value, 3) + " <span class=\"muted\">[" + fmt(v.low, 3) + ", " + fmt(v.high, 3) + "]</span></td>";
    };
    h += "<tr><td>" + html_escape(j.system) + "</td><td>" + html_escape(j.baseline) + "</td>" + cell(j.win_rate) +
         cell(j.tie_rate) + cell(j.loss_rate) + "<td class=\"num\">" + std::to_string(in.judgments[r].n_no_verdict) + "</td></tr>";
  }
  return h + "</table>";
}

std::string ood_section(const EvalInputs& in, const EvalScores& s) {
  if (in.probes.empty()) return "";
  std::string h = "<h2>Out-of-domain prompts</h2><p class=\"muted\">An answer counts as declining when it contains one of the "
                  "refusal phrases (matched phrase shown).</p><table id=\"out-of-domain\"><tr><th>prompt</th>";
  for (const SystemOutputs& sys : in.systems) h += "<th>" + html_escape(sys.name) + "</th>";
  h += "</tr>";
  for (size_t i = 0; i < in.probes.size(); i++) {
    h += "<tr><td class=\"text\">" + html_escape(in.probes[i]) + "</td>";
    for (size_t k = 0; k < in.systems.size(); k++) {
      if (i >= in.systems[k].probe_answers.size()) {
        h += "<td></td>";
        continue;
      }
      const std::string phrase = i < s.systems[k].refusal_matches.size() ? s.systems[k].refusal_matches[i] : "";
      h += std::string("<td class=\"text ") + (phrase.empty() ? "answered" : "refused") + "\">" +
           html_escape(in.systems[k].probe_answers[i]) +
           (phrase.empty() ? "" : " <span class=\"muted\">(declined: “" + html_escape(phrase) + "”)</span>") + "</td>";
    }
    h += "</tr>";
  }
  return h + "</table>";
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string eval_report_html(const EvalInputs& in, const EvalScores& s, const nlohmann::json& settings) {
  std::string h = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>loam eval report</title><style>";
  h += kStyle;
  h += "</style></head><body><h1>Evaluation report</h1><table id=\"settings\">";
  for (const auto& [k, v] : settings.items()) {
    if (k == "systems") continue;  // shown below, one line per system
    h += "<tr><th>" + html_escape(k) + "</th><td>" +
         html_escape(v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) +
         "</td></tr>";
  }
  h += "<tr><th>examples</th><td>" + std::to_string(in.examples.size()) + "</td></tr><tr><th>systems</th><td>";
  for (size_t k = 0; k < in.systems.size(); k++) {
    h += (k ? "<br>" : "") + html_escape(in.systems[k].name) + (k == 0 ? " (baseline)" : "");
    const nlohmann::json* spec = nullptr;
    if (settings.contains("systems") && settings["systems"].is_array())
      for (const auto& sj : settings["systems"])
        if (sj.value("name", "") == in.systems[k].name) spec = &sj;
    if (spec)
      h += ": <span class=\"muted\">" + html_escape(spec->value("model", "")) +
           (spec->value("adapter", "").empty() ? "" : " + adapter " + html_escape(spec->value("adapter", ""))) + "</span>";
  }
  h += "</td></tr></table>";
  h += metrics_section(s) + comparison_section(s) + classification_section(in, s) + judge_section(in, s) + examples_section(in, s) + ood_section(in, s);
  return h + "</body></html>\n";
}

}  // namespace loam
