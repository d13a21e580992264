#!/usr/bin/python3
"""Makes tests/data/sft_loop/: a PyTorch reference for Loam's real training
loop (sft_train), which tests/train/sft_loop_test.cpp runs on the same inputs.

Inputs: the tiny `llama` checkpoint and its PEFT adapter (tests/data/models/
llama, made by tools/make_model_refs.py) as --init-adapter, and four
pre-tokenized examples written here (train.jsonl; the model has no tokenizer
files, so this also covers training without one).

The run, as Loam documents it (train/sft_trainer.h, optimizer.h, schedule.h):
batch size 2 and 2 accumulation steps over 4 examples, so every optimizer step
sees all four examples (their order inside a step does not change its
gradient) and the shuffle does not matter; the loss of a step is the mean
cross-entropy over all its scored tokens; the global gradient norm is clipped
as torch.nn.utils.clip_grad_norm_; torch.optim.AdamW (betas 0.9/0.999, eps
1e-8, decoupled weight decay); the learning rate per step follows
transformers' get_cosine_schedule_with_warmup with warmup = ceil(ratio *
total). No dropout. Computed in float64 by tools/reference_model.py; stored F32.

Writes: train.jsonl, reference.safetensors (the adapter after every step,
"step{N}.<PEFT name>"), reference.json (config, per-step losses before each
update, pre-clip gradient norms and learning rates).

Usage: /usr/bin/python3 tools/make_sft_refs.py   (deterministic; Debian python3-torch)
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_model as rm  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "tests", "data", "models", "llama")
OUT = os.path.join(ROOT, "tests", "data", "sft_loop")

CONFIG = {"batch_size": 2, "gradient_accumulation_steps": 2, "epochs": 4, "learning_rate": 5e-3,
          "warmup_ratio": 0.3, "lr_scheduler": "cosine", "weight_decay": 0.01, "max_grad_norm": 0.5,
          "lora_dropout": 0.0, "seed": 7, "max_seq_length": 64}
LENGTHS = [10, 13, 7, 16]
PROMPTS = [4, 6, 2, 9]  # labels are -100 on these prefixes


def main():
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(1234)
    examples = []
    for n, p in zip(LENGTHS, PROMPTS):
        ids = torch.randint(3, 256, (n,), generator=gen).tolist()
        labels = [-100] * p + ids[p:]
        examples.append({"input_ids": ids, "labels": labels})
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "train.jsonl"), "w") as f:
        for e in examples:
            f.write(json.dumps(e) + "\n")

    with open(os.path.join(MODEL, "config.json")) as f:
        model = rm.Model(rm.text_config(json.load(f)), rm.checkpoint_read(MODEL))
    ad = os.path.join(MODEL, "adapter")
    with open(os.path.join(ad, "adapter_config.json")) as f:
        acfg = json.load(f)
    scale = acfg["lora_alpha"] / acfg["r"]
    lora = {n: t.double() for n, t in rm.safetensors_read(os.path.join(ad, "adapter_model.safetensors")).items()}
    names = sorted(lora)
    params = [lora[n].clone().requires_grad_(True) for n in names]
    opt = torch.optim.AdamW(params, lr=CONFIG["learning_rate"], betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=CONFIG["weight_decay"])

    total = CONFIG["epochs"]  # one optimizer step per epoch
    warmup = math.ceil(float(torch.tensor(CONFIG["warmup_ratio"], dtype=torch.float32)) * total)

    def lr_at(s):  # transformers' cosine schedule with warmup
        if s < warmup:
            return s / max(1, warmup)
        progress = (s - warmup) / max(1, total - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))

    ref, losses, norms, lrs = {}, [], [], []
    n_scored = sum(sum(1 for l in e["labels"][1:] if l != -100) for e in examples)
    for s in range(total):
        for g in opt.param_groups:
            g["lr"] = CONFIG["learning_rate"] * lr_at(s)
        opt.zero_grad()
        p = dict(zip(names, params))
        loss_sum = 0
        for e in examples:
            ids = torch.tensor([e["input_ids"]])
            labels = torch.tensor([e["labels"]])
            logits = model.forward(ids, p, scale)["logits"]
            V = logits.shape[-1]
            loss_sum = loss_sum + torch.nn.functional.cross_entropy(
                logits[:, :-1, :].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100, reduction="sum")
        loss = loss_sum / n_scored
        loss.backward()
        losses.append(loss.item())
        norms.append(torch.nn.utils.clip_grad_norm_(params, CONFIG["max_grad_norm"]).item())
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        for n, t in zip(names, params):
            ref[f"step{s + 1}.{n}"] = t.detach().float().contiguous()
    rm.safetensors_write(os.path.join(OUT, "reference.safetensors"), ref)
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump({"config": CONFIG, "steps": total, "warmup_steps": warmup, "losses": losses,
                   "grad_norms": norms, "learning_rates": lrs}, f, indent=2)
        f.write("\n")
    print("losses", losses, "norms", norms, "lrs", lrs)


if __name__ == "__main__":
    main()
