#!/usr/bin/python3
"""Cross-checks tools/reference_model.py against golden cases written by an
independent PyTorch reference (a developer-only check; tests never run it).

For each golden case it loads model/ and adapter_init/ with OUR reference, takes
the golden input_ids and labels, recomputes logits_base, logits, hidden.*,
final_norm, loss, every LoRA gradient and the AdamW step1/step3 adapters, and
prints the max differences against golden.safetensors. Exits non-zero when a
difference exceeds the golden tolerances (logits 1e-4 abs, grads 1e-4 relative
to the tensor's max |grad|, adapters 1e-5 abs; step entries whose gradient is
below 1e-6 — where Adam's first step is ~lr*sign(noise) — get 2*lr*steps).

Usage: /usr/bin/python3 tools/check_reference_against_golden.py [GOLDEN_DIR]
       (default GOLDEN_DIR: ../shared/golden relative to the repository root)
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_model as rm  # noqa: E402

CASES = ["tiny-s0", "tiny-tied-s0", "tiny-llama3-s0", "tiny-qwen2-s0", "tiny-qwen3-s0",
         "tiny-gemma-s0", "tiny-gemma2-s0", "tiny-mistral-s0", "tiny-bf16-s0"]


def maxdiff(a, b):
    return (a.double() - b.double()).abs().max().item()


def check_case(d):
    with open(os.path.join(d, "model", "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(d, "adapter_init", "adapter_config.json")) as f:
        acfg = json.load(f)
    with open(os.path.join(d, "golden.json")) as f:
        gj = json.load(f)
    model = rm.Model(cfg, rm.checkpoint_read(os.path.join(d, "model")))
    lora = {k: v.double() for k, v in
            rm.safetensors_read(os.path.join(d, "adapter_init", "adapter_model.safetensors")).items()}
    scale = acfg["lora_alpha"] / acfg["r"]
    g = rm.safetensors_read(os.path.join(d, "golden.safetensors"))
    ids, labels = g["input_ids"].long(), g["labels"].long()
    res = {}
    with torch.no_grad():
        base = model.forward(ids)
        res["logits_base"] = maxdiff(base["logits"], g["logits_base"])
        res["hidden"] = max(maxdiff(h, g[f"hidden.{i}"]) for i, h in enumerate(base["hidden"]))
        res["final_norm"] = maxdiff(base["final_norm"], g["final_norm"])
        res["logits"] = maxdiff(model.forward(ids, lora, scale)["logits"], g["logits"])
    loss, grads = rm.lora_grads(model, ids, labels, lora, scale)
    res["loss"] = abs(loss - gj["loss"])
    res["grads_rel"] = max(maxdiff(gr, g["grad." + n]) / g["grad." + n].abs().max().item()
                           for n, gr in grads.items())
    opt = gj["optimizer"]
    losses, _, snaps = rm.adamw_run(model, ids, labels, lora, scale, opt["steps"], opt["lr"],
                                    tuple(opt["betas"]), opt["eps"], opt["weight_decay"])
    res["losses"] = max(abs(a - b) for a, b in zip(losses, gj["losses"]))
    worst, loose = {1: 0.0, 3: 0.0}, 0
    for step in (1, 3):
        for n, p in snaps[step].items():
            diff = (p - g[f"step{step}.{n}"].double()).abs()
            ill = grads[n].abs() < 1e-6
            loose += int(ill.sum()) if step == 1 else 0
            if ill.any():
                assert diff[ill].max().item() <= 2 * opt["lr"] * step + 1e-7
                diff = diff[~ill] if (~ill).any() else diff[:0]
            if diff.numel():
                worst[step] = max(worst[step], diff.max().item())
    res["step1"], res["step3"], res["ill_conditioned"] = worst[1], worst[3], loose
    ok = (res["logits_base"] < 1e-4 and res["logits"] < 1e-4 and res["hidden"] < 1e-4
          and res["grads_rel"] < 1e-4 and res["step1"] < 1e-5 and res["step3"] < 1e-5)
    return ok, res


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    gdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "golden")
    torch.set_num_threads(1)
    all_ok = True
    for case in CASES:
        ok, r = check_case(os.path.join(gdir, case))
        all_ok &= ok
        print(f"{case:16s} {'OK  ' if ok else 'FAIL'} " +
              " ".join(f"{k}={v:.2e}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()))
    print("all cases match" if all_ok else "MISMATCH")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
