#!/usr/bin/env python3
"""PyTorch peer for Loam's LoRA training benchmark (issue 4).

Trains LoRA r=8 on all linear layers of a Llama-architecture model with
SmolLM2-135M's shape (random weights, base frozen), batch 1, sequence 512,
eager fp32, and prints tokens/s and peak RSS. Run it with PyTorch's best
settings on this machine:

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE \
    /usr/bin/python3 bench/pytorch_lora_train.py --steps 5

--dpo: a DPO step instead (sigmoid loss, beta 0.1): one pair, a prompt of
seq/2 tokens with a chosen and a rejected completion of seq/2 each, run as a
batch of 2 sequences of `seq` tokens; the reference log-probs are computed
once before timing (as Loam caches them); tokens/s counts both sequences.

Only for measurement; Loam never uses Python.
"""
import argparse
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LoraLinear(nn.Module):
    def __init__(self, i, o, r, alpha):
        super().__init__()
        self.base = nn.Linear(i, o, bias=False)
        self.base.weight.requires_grad_(False)
        self.a = nn.Parameter(torch.randn(r, i) / math.sqrt(i))
        self.b = nn.Parameter(torch.zeros(o, r))
        self.scale = alpha / r

    def forward(self, x):
        return self.base(x) + (x @ self.a.t() @ self.b.t()) * self.scale


def rms(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, cos, sin):
    h = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., h:], x[..., :h]), -1) * sin


class Block(nn.Module):
    def __init__(s, H, nh, nkv, I, r):
        super().__init__()
        s.nh, s.nkv, s.hd = nh, nkv, H // nh
        s.q, s.k, s.v = LoraLinear(H, H, r, 16), LoraLinear(H, nkv * s.hd, r, 16), LoraLinear(H, nkv * s.hd, r, 16)
        s.o = LoraLinear(H, H, r, 16)
        s.g, s.u, s.d = LoraLinear(H, I, r, 16), LoraLinear(H, I, r, 16), LoraLinear(I, H, r, 16)
        s.n1 = nn.Parameter(torch.ones(H), requires_grad=False)
        s.n2 = nn.Parameter(torch.ones(H), requires_grad=False)

    def forward(s, x, cos, sin):
        B, T, H = x.shape
        h = rms(x, s.n1)
        q = s.q(h).view(B, T, s.nh, s.hd).transpose(1, 2)
        k = s.k(h).view(B, T, s.nkv, s.hd).transpose(1, 2)
        v = s.v(h).view(B, T, s.nkv, s.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        k = k.repeat_interleave(s.nh // s.nkv, 1)
        v = v.repeat_interleave(s.nh // s.nkv, 1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(s.hd)
        att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf")).softmax(-1)
        x = x + s.o((att @ v).transpose(1, 2).reshape(B, T, H))
        h = rms(x, s.n2)
        return x + s.d(F.silu(s.g(h)) * s.u(h))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--layers", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dpo", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    H, nh, nkv, I, V, r = 576, 9, 3, 1536, 49152, 8
    emb = nn.Embedding(V, H)
    emb.weight.requires_grad_(False)
    blocks = nn.ModuleList(Block(H, nh, nkv, I, r) for _ in range(args.layers))
    for p in blocks.parameters():
        if p.requires_grad is False:
            continue
    for b in blocks:
        for m in b.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
    params = [p for p in blocks.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    hd = H // nh
    inv = 1.0 / (100000 ** (torch.arange(0, hd, 2).float() / hd))
    ang = torch.arange(args.seq).float()[:, None] * inv[None]
    cos, sin = torch.cat((ang, ang), -1).cos(), torch.cat((ang, ang), -1).sin()
    ids = torch.randint(0, V, (1, args.seq + 1))
    half = args.seq // 2
    pair = torch.randint(0, V, (2, args.seq + 1))
    pair[1, :half] = pair[0, :half]  # the shared prompt

    def completion_logps(seqs):  # (2,) summed log-probs of the completions
        x = emb(seqs[:, :-1])
        for b in blocks:
            x = b(x, cos, sin)
        logp = torch.log_softmax(rms(x, 1.0) @ emb.weight.t(), -1)
        tok = logp.gather(-1, seqs[:, 1:, None])[..., 0]
        return tok[:, half - 1:].sum(-1)

    if args.dpo:
        with torch.no_grad():
            ref = completion_logps(pair)
    times = []
    for step in range(args.steps + 1):
        t0 = time.time()
        if args.dpo:
            pol = completion_logps(pair)
            loss = -F.logsigmoid(0.1 * ((pol[0] - ref[0]) - (pol[1] - ref[1])))
        else:
            x = emb(ids[:, :-1])
            for b in blocks:
                x = b(x, cos, sin)
            logits = rms(x, 1.0) @ emb.weight.t()
            loss = F.cross_entropy(logits.view(-1, V), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step > 0:  # the first step warms up
            times.append(time.time() - t0)
    times.sort()
    med = times[len(times) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tokens = 2 * args.seq if args.dpo else args.seq
    print(f'{{"objective": "{"dpo" if args.dpo else "sft"}", "tokens_per_s": {tokens / med:.1f}, "step_s": {med:.3f}, "peak_rss_bytes": {rss}, '
          f'"threads": {args.threads}, "torch": "{torch.__version__}"}}')


if __name__ == "__main__":
    main()
