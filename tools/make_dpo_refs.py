#!/usr/bin/python3
"""Makes tests/data/dpo/: PyTorch references for Loam's preference objectives
(train/preference_loss.h, train/preference_step.h), which
tests/train/preference_step_test.cpp checks.

Three preference pairs of random token ids (a prompt, a chosen and a rejected
completion; pairs.json) are scored by the tiny llama, qwen3 and gemma2
checkpoints of tests/data/models (gemma2: sandwich norms and a final
soft-cap). The policy is each model with its PEFT adapter; the reference
policy is the same model with the adapter switched off. Log-probs are summed
over the completion tokens only (the prompt is context). For every loss the
step loss is the mean over the pairs plus sft_weight (+1 for ORPO) times the
mean negative log-likelihood over all chosen tokens; the losses are written
out here as TRL writes them (DPOTrainer.dpo_loss, CPOTrainer's simpo,
ORPOTrainer.odds_ratio_loss), in float64 with torch.nn.functional, and the
gradients of the LoRA tensors come from autograd.

One AdamW step (torch.optim.AdamW, lr 1e-2, weight decay 0.01, no clipping)
from the llama adapter on the sigmoid loss is stored too.

Writes: pairs.json, reference.json (per case: model, loss settings, loss,
per-pair rewards), reference.safetensors ("<case>.<PEFT name>" gradients,
"adamw.<PEFT name>" the adapter after the step).

Usage: /usr/bin/python3 tools/make_dpo_refs.py   (deterministic; Debian python3-torch)
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_model as rm  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "tests", "data", "models")
OUT = os.path.join(ROOT, "tests", "data", "dpo")

ARCHS = ["llama", "qwen3", "gemma2"]
LOSSES = [  # (case name, loss type, beta, label_smoothing, sft_weight, simpo_gamma)
    ("sigmoid", "sigmoid", 0.1, 0.0, 0.0, 0.5),
    ("cdpo", "sigmoid", 0.5, 0.1, 0.0, 0.5),
    ("sigmoid_sft", "sigmoid", 0.1, 0.0, 0.5, 0.5),
    ("ipo", "ipo", 0.1, 0.0, 0.0, 0.5),
    ("hinge", "hinge", 0.1, 0.0, 0.0, 0.5),
    ("robust", "robust", 0.5, 0.1, 0.0, 0.5),
    ("simpo", "simpo", 2.0, 0.0, 0.0, 0.5),
    ("orpo", "orpo", 0.1, 0.0, 0.0, 0.5),
]
# (prompt, chosen, rejected) lengths
SHAPES = [(5, 4, 6), (3, 7, 2), (8, 3, 5)]


def load(arch):
    d = os.path.join(MODELS, arch)
    with open(os.path.join(d, "config.json")) as f:
        model = rm.Model(rm.text_config(json.load(f)), rm.checkpoint_read(d))
    with open(os.path.join(d, "adapter", "adapter_config.json")) as f:
        acfg = json.load(f)
    lora = {n: t.double() for n, t in rm.safetensors_read(os.path.join(d, "adapter", "adapter_model.safetensors")).items()}
    return model, lora, acfg["lora_alpha"] / acfg["r"]


def completion_logps(model, lora, scale, prompt, completion):
    """(Σ log p of the completion tokens, their count, per-token log-probs)."""
    ids = torch.tensor([prompt + completion])
    logits = model.forward(ids, lora, scale)["logits"][0]
    logp = torch.log_softmax(logits[:-1], dim=-1)
    targets = ids[0, 1:]
    per = logp.gather(1, targets[:, None])[:, 0][len(prompt) - 1:]
    return per.sum(), len(completion)


def step_loss(model, lora, scale, pairs, ref, case):
    _, kind, beta, eps, sft_weight, gamma = case
    pc, pr, nc, nr = [], [], [], []
    for p in pairs:
        a, n = completion_logps(model, lora, scale, p["prompt"], p["chosen"])
        b, m = completion_logps(model, lora, scale, p["prompt"], p["rejected"])
        pc.append(a), pr.append(b), nc.append(n), nr.append(m)
    pc, pr = torch.stack(pc), torch.stack(pr)
    nc, nr = torch.tensor(nc, dtype=torch.float64), torch.tensor(nr, dtype=torch.float64)
    rc, rr = ref
    if kind in ("sigmoid", "robust", "hinge"):
        logits = (pc - rc) - (pr - rr)
        if kind == "sigmoid":
            losses = -F.logsigmoid(beta * logits) * (1 - eps) - F.logsigmoid(-beta * logits) * eps
        elif kind == "robust":
            losses = (-F.logsigmoid(beta * logits) * (1 - eps) + F.logsigmoid(-beta * logits) * eps) / (1 - 2 * eps)
        else:
            losses = torch.relu(1 - beta * logits)
        rew_c, rew_r = beta * (pc - rc).detach(), beta * (pr - rr).detach()
    elif kind == "ipo":  # TRL averages the log-probs over the completion for IPO
        logits = ((pc - rc) / nc) - ((pr - rr) / nr)
        losses = (logits - 1 / (2 * beta)) ** 2
        rew_c, rew_r = beta * ((pc - rc) / nc).detach(), beta * ((pr - rr) / nr).detach()
    elif kind == "simpo":  # CPOTrainer, loss_type="simpo": average log-probs
        logits = pc / nc - pr / nr - gamma / beta
        losses = -F.logsigmoid(beta * logits) * (1 - eps) - F.logsigmoid(-beta * logits) * eps
        rew_c, rew_r = beta * (pc / nc).detach(), beta * (pr / nr).detach()
    else:  # ORPOTrainer.odds_ratio_loss on average log-probs
        a, b = pc / nc, pr / nr
        log_odds = (a - b) - (torch.log1p(-torch.exp(a)) - torch.log1p(-torch.exp(b)))
        losses = -beta * F.logsigmoid(log_odds)
        rew_c, rew_r = beta * a.detach(), beta * b.detach()
    loss = losses.mean()
    nll_weight = sft_weight + (1.0 if kind == "orpo" else 0.0)
    if nll_weight:
        loss = loss + nll_weight * (-pc.sum() / nc.sum())
    return loss, rew_c, rew_r


def main():
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(4321)
    pairs = []
    for lp, lc, lr in SHAPES:
        pairs.append({"prompt": torch.randint(3, 256, (lp,), generator=gen).tolist(),
                      "chosen": torch.randint(3, 256, (lc,), generator=gen).tolist(),
                      "rejected": torch.randint(3, 256, (lr,), generator=gen).tolist()})
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "pairs.json"), "w") as f:
        json.dump(pairs, f)
        f.write("\n")
    tensors, cases = {}, []
    for arch in ARCHS:
        model, lora, scale = load(arch)
        with torch.no_grad():
            rc = torch.stack([completion_logps(model, None, 0.0, p["prompt"], p["chosen"])[0] for p in pairs])
            rr = torch.stack([completion_logps(model, None, 0.0, p["prompt"], p["rejected"])[0] for p in pairs])
        names = sorted(lora)
        for case in LOSSES:
            params = {n: lora[n].clone().requires_grad_(True) for n in names}
            loss, rew_c, rew_r = step_loss(model, params, scale, pairs, (rc, rr), case)
            grads = torch.autograd.grad(loss, [params[n] for n in names])
            key = f"{arch}.{case[0]}"
            for n, g in zip(names, grads):
                tensors[f"{key}.{n}"] = g.float().contiguous()
            cases.append({"name": key, "model": arch, "loss_type": case[1], "beta": case[2],
                          "label_smoothing": case[3], "sft_weight": case[4], "simpo_gamma": case[5],
                          "loss": loss.item(), "rewards_chosen": rew_c.tolist(), "rewards_rejected": rew_r.tolist(),
                          "reference_chosen": rc.tolist(), "reference_rejected": rr.tolist()})
            print(key, loss.item())
        if arch == "llama":
            params = [lora[n].clone().requires_grad_(True) for n in names]
            opt = torch.optim.AdamW(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
            loss, _, _ = step_loss(model, dict(zip(names, params)), scale, pairs, (rc, rr), LOSSES[0])
            loss.backward()
            opt.step()
            for n, t in zip(names, params):
                tensors[f"adamw.{n}"] = t.detach().float().contiguous()
    rm.safetensors_write(os.path.join(OUT, "reference.safetensors"), tensors)
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump({"cases": cases, "adamw": {"model": "llama", "case": "sigmoid", "lr": 1e-2, "weight_decay": 0.01}},
                  f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
