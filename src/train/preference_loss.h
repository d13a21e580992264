// Preference objectives over one pair's summed completion log-probabilities,
// forward and derivative side by side. Definitions follow the papers as TRL
// implements them (DPOTrainer, CPOTrainer for SimPO, ORPOTrainer); the
// PyTorch reference in tools/make_dpo_refs.py writes them out again.
//
// Notation per pair: pc, pr = Σ log πθ over the chosen / rejected completion
// tokens; nc, nr their token counts; rc, rr the same sums under the
// reference policy; β = beta, ε = label_smoothing, γ = simpo_gamma.
//   sigmoid  z = β((pc−rc) − (pr−rr));  L = −(1−ε)·logσ(z) − ε·logσ(−z)     (DPO; ε>0: cDPO)
//   robust   L = (−(1−ε)·logσ(z) + ε·logσ(−z)) / (1−2ε)                     (rDPO, Chowdhury et al.)
//   hinge    L = max(0, 1 − z)                                               (SLiC)
//   ipo      u = (pc−rc)/nc − (pr−rr)/nr;  L = (u − 1/(2β))²                 (IPO; TRL averages per token)
//   simpo    y = β(pc/nc − pr/nr − γ/β);  L = −(1−ε)·logσ(y) − ε·logσ(−y)   (reference-free)
//   orpo     a = pc/nc, b = pr/nr;  s = (a−b) − (log(1−eᵃ) − log(1−eᵇ));  L = −β·logσ(s)
//            plus the chosen answer's mean NLL with weight 1 (reference-free)
// Rewards (what metrics report): β·(policy − reference) with the same
// log-probs the loss uses (per-token means for ipo), β·(mean log-prob) for
// the reference-free losses.
// A step's loss: the mean of the pairs' L, plus (sft_weight, +1 for orpo)
// times the mean NLL over all chosen tokens of the step (TRL's rpo_alpha).
#pragma once

#include <cstdint>
#include <string>

namespace loam {

enum class PreferenceLossType { Sigmoid, Ipo, Hinge, Robust, Simpo, Orpo };
const char* preference_loss_name(PreferenceLossType t);
// Throws Error naming `field` for an unknown name (listing the six).
PreferenceLossType preference_loss_parse(const std::string& name, const std::string& field);
// SimPO and ORPO need no reference policy.
bool preference_loss_needs_reference(PreferenceLossType t);

struct PreferenceLossConfig {
  PreferenceLossType type = PreferenceLossType::Sigmoid;
  double beta = 0.1;             // β (ORPO: the odds-ratio weight λ)
  double label_smoothing = 0.0;  // ε, sigmoid/robust/simpo, [0, 0.5)
  double simpo_gamma = 0.5;      // γ, SimPO's target margin
  double sft_weight = 0.0;       // weight of the chosen answer's NLL (added to ORPO's own 1)
};

struct PairLogps {
  double chosen = 0, rejected = 0;        // Σ log-probs of the completion tokens
  int64_t n_chosen = 0, n_rejected = 0;   // completion tokens (> 0)
};

struct PairLoss {
  double loss = 0;                      // L of the pair (without the NLL term)
  double d_chosen = 0, d_rejected = 0;  // ∂L/∂pc, ∂L/∂pr (the policy's sums)
  double reward_chosen = 0, reward_rejected = 0;
};

// `ref` is ignored by the reference-free losses.
PairLoss preference_pair_loss(const PreferenceLossConfig& c, const PairLogps& policy, const PairLogps& ref);

}  // namespace loam
