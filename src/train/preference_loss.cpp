#include "train/preference_loss.h"

#include <cmath>

#include "core/error.h"

namespace loam {
namespace {

// log σ(x) and σ(x) without overflow for large |x|.
double log_sigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }
double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}
// log(1 − eᵃ) for a < 0, accurate near 0 and far below it.
double log1m_exp(double a) { return a > -0.6931471805599453 ? std::log(-std::expm1(a)) : std::log1p(-std::exp(a)); }

// The smoothed sigmoid loss of a logit y and its derivative ∂L/∂y.
void smoothed_sigmoid(double y, double eps, double& loss, double& dy) {
  loss = -(1 - eps) * log_sigmoid(y) - eps * log_sigmoid(-y);
  dy = -(1 - eps) * sigmoid(-y) + eps * sigmoid(y);
}

}  // namespace

const char* preference_loss_name(PreferenceLossType t) {
  switch (t) {
    case PreferenceLossType::Sigmoid: return "sigmoid";
    case PreferenceLossType::Ipo: return "ipo";
    case PreferenceLossType::Hinge: return "hinge";
    case PreferenceLossType::Robust: return "robust";
    case PreferenceLossType::Simpo: return "simpo";
    case PreferenceLossType::Orpo: return "orpo";
  }
  return "?";
}

PreferenceLossType preference_loss_parse(const std::string& name, const std::string& field) {
  for (PreferenceLossType t : {PreferenceLossType::Sigmoid, PreferenceLossType::Ipo, PreferenceLossType::Hinge,
                               PreferenceLossType::Robust, PreferenceLossType::Simpo, PreferenceLossType::Orpo})
    if (name == preference_loss_name(t)) return t;
  throw Error(field, "unknown loss \"" + name + "\"", "one of sigmoid, ipo, hinge, robust, simpo, orpo");
}

bool preference_loss_needs_reference(PreferenceLossType t) {
  return t != PreferenceLossType::Simpo && t != PreferenceLossType::Orpo;
}

PairLoss preference_pair_loss(const PreferenceLossConfig& c, const PairLogps& p, const PairLogps& ref) {
  PairLoss out;
  const double beta = c.beta, eps = c.label_smoothing;
  const double nc = static_cast<double>(p.n_chosen), nr = static_cast<double>(p.n_rejected);
  switch (c.type) {
    case PreferenceLossType::Sigmoid:
    case PreferenceLossType::Robust:
    case PreferenceLossType::Hinge: {
      const double z = beta * ((p.chosen - ref.chosen) - (p.rejected - ref.rejected));
      double dz = 0;
      if (c.type == PreferenceLossType::Sigmoid) {
        smoothed_sigmoid(z, eps, out.loss, dz);
      } else if (c.type == PreferenceLossType::Robust) {
        out.loss = (-(1 - eps) * log_sigmoid(z) + eps * log_sigmoid(-z)) / (1 - 2 * eps);
        dz = (-(1 - eps) * sigmoid(-z) - eps * sigmoid(z)) / (1 - 2 * eps);
      } else {
        out.loss = std::max(0.0, 1 - z);
        dz = 1 - z > 0 ? -1.0 : 0.0;
      }
      out.d_chosen = beta * dz;
      out.d_rejected = -beta * dz;
      out.reward_chosen = beta * (p.chosen - ref.chosen);
      out.reward_rejected = beta * (p.rejected - ref.rejected);
      break;
    }
    case PreferenceLossType::Ipo: {
      const double hc = (p.chosen - ref.chosen) / nc, hr = (p.rejected - ref.rejected) / nr;
      const double u = hc - hr - 1 / (2 * beta);
      out.loss = u * u;
      out.d_chosen = 2 * u / nc;
      out.d_rejected = -2 * u / nr;
      out.reward_chosen = beta * hc;
      out.reward_rejected = beta * hr;
      break;
    }
    case PreferenceLossType::Simpo: {
      const double a = p.chosen / nc, b = p.rejected / nr;
      double dy = 0;
      smoothed_sigmoid(beta * (a - b) - c.simpo_gamma, eps, out.loss, dy);
      out.d_chosen = dy * beta / nc;
      out.d_rejected = -dy * beta / nr;
      out.reward_chosen = beta * a;
      out.reward_rejected = beta * b;
      break;
    }
    case PreferenceLossType::Orpo: {
      const double a = p.chosen / nc, b = p.rejected / nr;
      const double s = (a - b) - (log1m_exp(a) - log1m_exp(b));
      out.loss = -beta * log_sigmoid(s);
      const double ds = -beta * sigmoid(-s);
      // ∂s/∂a = 1 + eᵃ/(1 − eᵃ) = 1/(1 − eᵃ) = −1/expm1(a).
      out.d_chosen = ds * (-1.0 / std::expm1(a)) / nc;
      out.d_rejected = ds * (1.0 / std::expm1(b)) / nr;
      out.reward_chosen = beta * a;
      out.reward_rejected = beta * b;
      break;
    }
  }
  return out;
}

}  // namespace loam
