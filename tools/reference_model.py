"""Independent float64 PyTorch reference of the decoder-only transformers Loam runs.

What this is: a plain-torch re-statement of Hugging Face transformers' modeling
code (modeling_llama / mistral / qwen2 / qwen3 / gemma / gemma2 / gemma3) and
of PEFT's LoRA, used only by tools/ scripts to make test reference data. It is
never imported by Loam. Everything is computed in float64 from the checkpoint's
weights (bf16/f16 weights are widened exactly), so the outputs are the "true"
values a correct implementation approaches.

What this is not: a fast or general implementation (no KV cache, no padding
masks, batch positions are 0..T-1 for every row).

Semantics followed, per architecture (the quirks a port gets wrong):
  * RoPE: rotate_half (NeoX) convention; inv_freq, angles and cos/sin in
    float32 then widened, exactly as HF's rotary embedding does.
    rope_scaling: "default", "linear" (inv_freq / factor), "llama3"
    (wavelength-banded smoothing of inv_freq).
  * RMSNorm: x * rsqrt(mean(x^2) + eps) * w; Gemma family: * (1 + w).
  * Gemma family: embeddings * sqrt(hidden), the factor rounded to the
    checkpoint's torch_dtype first (HF casts the normalizer to the dtype).
  * Attention: scores * head_dim^-0.5 (Gemma 2/3: query_pre_attn_scalar^-0.5),
    then tanh soft-capping if attn_logit_softcapping, then causal (and sliding
    window: key k visible to query q iff q - W < k <= q) mask, softmax.
    GQA by repeat_kv (query head h uses kv head h // (n_heads / n_kv_heads)).
  * Qwen 3 / Gemma 3: q_norm / k_norm RMSNorm over head_dim, before RoPE.
  * Gemma 2/3: h = x + post_attention_layernorm(attn(input_layernorm(x)));
    y = h + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(h))).
  * Gemma 2: layer i slides when i % 2 == 0; Gemma 3: layer i is global when
    (i + 1) % sliding_window_pattern == 0, local layers use
    rope_local_base_freq and no rope scaling. "layer_types" wins when present.
  * Final logits tanh soft-capping (Gemma 2) after lm_head.
  * LoRA (PEFT): y = x W^T (+ b) + (alpha / r) * (x A^T) B^T.
  * Gemma3ForConditionalGeneration (model_type "gemma3") is run as its text
    model: text_config over Gemma3TextConfig's defaults (text_config()), the
    tensors under the decoder path the checkpoint uses (Model's `decoder`).
"""
import json
import math
import struct

import numpy as np
import torch
import torch.nn.functional as F

# ----------------------------------------------------------------------------
# safetensors: tiny reader/writer (u64 LE header length, JSON header, data).

_ST_TO_TORCH = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
    "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32,
    "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}
_TORCH_TO_ST = {v: k for k, v in _ST_TO_TORCH.items()}
_TORCH_TO_NP = {
    torch.float64: np.float64, torch.float32: np.float32, torch.float16: np.float16,
    torch.int64: np.int64, torch.int32: np.int32, torch.int16: np.int16,
    torch.int8: np.int8, torch.uint8: np.uint8, torch.bool: np.bool_,
}


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(np.dtype(_TORCH_TO_NP[t.dtype]).newbyteorder("<")).tobytes()


def safetensors_write(path, tensors, metadata=None):
    """Writes {name: tensor} (names sorted, contiguous data, header padded to
    8 bytes with spaces as the safetensors library does)."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name]
        data = tensor_bytes(t)
        header[name] = {"dtype": _TORCH_TO_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def safetensors_read(path):
    """Returns {name: tensor} in the stored dtype."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        s, e = info["data_offsets"]
        raw = data[base + s:base + e]
        dt = _ST_TO_TORCH[info["dtype"]]
        if dt == torch.bfloat16:
            t = torch.from_numpy(np.frombuffer(raw, dtype="<i2").copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(raw, dtype=np.dtype(_TORCH_TO_NP[dt]).newbyteorder("<")).copy())
        out[name] = t.reshape(info["shape"])
    return out


def checkpoint_read(model_dir):
    """Reads model.safetensors or the shards named by model.safetensors.index.json."""
    import os
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
        out = {}
        for fn in files:
            out.update(safetensors_read(os.path.join(model_dir, fn)))
        return out
    return safetensors_read(os.path.join(model_dir, "model.safetensors"))


# ----------------------------------------------------------------------------
# Config: the HF config.json reduced to what the forward pass needs.

_DTYPE_BY_NAME = {"float32": torch.float32, "bfloat16": torch.bfloat16,
                  "float16": torch.float16, "float64": torch.float64}
GEMMA_FAMILY = ("gemma", "gemma2", "gemma3_text")


# transformers' Gemma3TextConfig.__init__ defaults (src/transformers/models/gemma3/
# configuration_gemma3.py), the fields this reference reads: Gemma3Config builds
# its text model with Gemma3TextConfig(**text_config), so omitted fields take these.
GEMMA3_TEXT_DEFAULTS = {
    "vocab_size": 262_208, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 26,
    "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
    "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 131_072,
    "rms_norm_eps": 1e-6, "pad_token_id": 0, "eos_token_id": 1, "bos_token_id": 2,
    "tie_word_embeddings": True, "rope_theta": 1_000_000.0, "attention_bias": False,
    "query_pre_attn_scalar": 256, "sliding_window": 4096, "final_logit_softcapping": None,
    "attn_logit_softcapping": None, "rope_scaling": None, "rope_local_base_freq": 10_000.0,
    "sliding_window_pattern": 6,
}


def text_config(cfg):
    """The config of the language model a config.json describes, as transformers
    fills it in: a Gemma 3 text config over Gemma3TextConfig's defaults; for a Gemma 3
    multimodal wrapper (model_type "gemma3") its text_config so, in the wrapper's
    torch_dtype; any other config as it is."""
    if cfg.get("model_type") == "gemma3_text":
        return dict(GEMMA3_TEXT_DEFAULTS, **cfg)
    if cfg.get("model_type") != "gemma3":
        return cfg
    out = dict(GEMMA3_TEXT_DEFAULTS, **(cfg.get("text_config") or {}))
    out.setdefault("torch_dtype", cfg.get("torch_dtype", "float32"))
    return out


class Config:
    def __init__(self, cfg):
        self.raw = cfg
        mt = cfg["model_type"]
        if mt not in ("llama", "mistral", "qwen2", "qwen3") + GEMMA_FAMILY:
            raise ValueError(f"config.json: model_type {mt!r} not supported by the reference")
        self.model_type = mt
        self.V = cfg["vocab_size"]
        self.H = cfg["hidden_size"]
        self.I = cfg["intermediate_size"]
        self.L = cfg["num_hidden_layers"]
        self.n_heads = cfg["num_attention_heads"]
        self.n_kv = cfg.get("num_key_value_heads") or self.n_heads
        self.hd = cfg.get("head_dim") or self.H // self.n_heads
        self.eps = cfg["rms_norm_eps"]
        self.tie = cfg.get("tie_word_embeddings", mt in GEMMA_FAMILY)
        act = cfg.get("hidden_activation") or cfg.get("hidden_act")
        if mt in GEMMA_FAMILY and cfg.get("hidden_activation") is None:
            act = "gelu_pytorch_tanh"  # HF Gemma: hidden_act "gelu" is legacy, tanh approx is used
        if act not in ("silu", "gelu_pytorch_tanh"):
            raise ValueError(f"config.json: activation {act!r} not supported by the reference")
        self.act = act
        self.gemma = mt in GEMMA_FAMILY
        self.extra_norms = mt in ("gemma2", "gemma3_text")
        self.qk_norm = mt in ("qwen3", "gemma3_text")
        self.qkv_bias = True if mt == "qwen2" else bool(cfg.get("attention_bias", False))
        self.o_bias = False if mt == "qwen2" else bool(cfg.get("attention_bias", False))
        self.mlp_bias = bool(cfg.get("mlp_bias", False))
        if mt in ("gemma2", "gemma3_text"):
            self.attn_scale = cfg["query_pre_attn_scalar"] ** -0.5
        else:
            self.attn_scale = self.hd ** -0.5
        self.attn_softcap = cfg.get("attn_logit_softcapping") if mt in ("gemma2", "gemma3_text") else None
        self.final_softcap = cfg.get("final_logit_softcapping") if mt in ("gemma2", "gemma3_text") else None
        self.dtype = _DTYPE_BY_NAME[cfg.get("torch_dtype", "float32")]
        self.windows, self.ropes = self._layer_kinds(cfg)

    def _layer_kinds(self, cfg):
        """Per layer: sliding window (None = full causal) and (theta, rope_scaling)."""
        mt, L = self.model_type, self.L
        w = cfg.get("sliding_window")
        types = cfg.get("layer_types")
        if types is None:
            if mt == "mistral":
                types = ["sliding_attention" if w is not None else "full_attention"] * L
            elif mt in ("qwen2", "qwen3"):
                use = cfg.get("use_sliding_window", False)
                mwl = cfg.get("max_window_layers", L)
                types = ["sliding_attention" if use and w is not None and i >= mwl else "full_attention"
                         for i in range(L)]
            elif mt == "gemma2":
                types = ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(L)]
            elif mt == "gemma3_text":
                p = cfg.get("sliding_window_pattern", 6)
                types = ["sliding_attention" if (i + 1) % p else "full_attention" for i in range(L)]
            else:
                types = ["full_attention"] * L
        if mt in ("qwen2", "qwen3") and not cfg.get("use_sliding_window", False):
            types = ["full_attention"] * L  # HF ignores sliding_window unless use_sliding_window
        windows = [w if t == "sliding_attention" else None for t in types]
        theta, scaling = cfg.get("rope_theta", 10000.0), cfg.get("rope_scaling")
        ropes = []
        for t in types:
            if mt == "gemma3_text" and t == "sliding_attention":
                ropes.append((cfg.get("rope_local_base_freq", 10000.0), None))
            else:
                ropes.append((theta, scaling))
        return windows, ropes


# ----------------------------------------------------------------------------
# Building blocks (float64 tensors unless noted).

def rope_inv_freq(hd, theta, scaling):
    """float32 inv_freq as HF's ROPE_INIT_FUNCTIONS compute it."""
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    kind = (scaling or {}).get("rope_type", (scaling or {}).get("type", "default"))
    if kind == "default":
        return inv
    if kind == "linear":
        return inv / scaling["factor"]
    if kind == "llama3":
        factor = scaling["factor"]
        low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
        old = scaling["original_max_position_embeddings"]
        low_wl, high_wl = old / low, old / high
        wavelen = 2 * math.pi / inv
        inv_l = torch.where(wavelen > low_wl, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = ~(wavelen < high_wl) * ~(wavelen > low_wl)
        return torch.where(medium, smoothed, inv_l)
    raise ValueError(f"config.json: rope_scaling type {kind!r} not supported by the reference")


def rope_cos_sin(hd, theta, scaling, T):
    inv = rope_inv_freq(hd, theta, scaling)
    pos = torch.arange(T, dtype=torch.int64).float()
    freqs = pos[:, None] * inv[None, :]           # (T, hd/2) float32, as HF's outer product
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().double(), emb.sin().double()  # attention_factor is 1 for these types


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def rmsnorm(x, w, eps, gemma):
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return y * (1.0 + w) if gemma else y * w


def softcap(x, cap):
    return torch.tanh(x / cap) * cap


def lora_prefix_name(prefix, which):
    """PEFT tensor name for module `prefix` (e.g. model.layers.0.self_attn.q_proj)."""
    return f"base_model.model.{prefix}.lora_{which}.weight"


class Model:
    """Weights as float64; `lora` maps PEFT tensor names to float64 tensors.

    `decoder` is the module path of the decoder in the checkpoint's tensor names
    ("model"; a Gemma 3 wrapper's "language_model.model" or "model.language_model"),
    `lm_head` the output matrix's name; PEFT names follow the same paths."""

    def __init__(self, config_dict, weights, decoder="model", lm_head="lm_head.weight"):
        self.c = Config(config_dict)
        self.w = {k: v.double() for k, v in weights.items()}
        self.decoder = decoder
        c = self.c
        if c.tie:
            self.lm_head = self.w[decoder + ".embed_tokens.weight"]
        else:
            self.lm_head = self.w[lm_head]
        scale = torch.tensor(c.H ** 0.5, dtype=c.dtype)  # HF rounds the normalizer to the dtype
        self.embed_scale = float(scale.double()) if c.gemma else 1.0
        self.rope_cache = {}

    def linear(self, x, prefix, lora, lora_scale):
        y = x @ self.w[prefix + ".weight"].T
        b = self.w.get(prefix + ".bias")
        if b is not None:
            y = y + b
        if lora is not None:
            a_name = lora_prefix_name(prefix, "A")
            if a_name in lora:
                y = y + lora_scale * ((x @ lora[a_name].T) @ lora[lora_prefix_name(prefix, "B")].T)
        return y

    def attention(self, i, x, lora, ls):
        c, p = self.c, f"{self.decoder}.layers.{i}.self_attn"
        B, T, _ = x.shape
        q = self.linear(x, p + ".q_proj", lora, ls).view(B, T, c.n_heads, c.hd)
        k = self.linear(x, p + ".k_proj", lora, ls).view(B, T, c.n_kv, c.hd)
        v = self.linear(x, p + ".v_proj", lora, ls).view(B, T, c.n_kv, c.hd)
        if c.qk_norm:
            q = rmsnorm(q, self.w[p + ".q_norm.weight"], c.eps, c.gemma)
            k = rmsnorm(k, self.w[p + ".k_norm.weight"], c.eps, c.gemma)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, heads, T, hd)
        theta, scaling = c.ropes[i]
        key = (theta, json.dumps(scaling, sort_keys=True), T)
        if key not in self.rope_cache:
            self.rope_cache[key] = rope_cos_sin(c.hd, theta, scaling, T)
        cos, sin = self.rope_cache[key]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = c.n_heads // c.n_kv
        k = k.repeat_interleave(rep, dim=1)  # == HF repeat_kv
        v = v.repeat_interleave(rep, dim=1)
        s = (q @ k.transpose(-1, -2)) * c.attn_scale
        if c.attn_softcap is not None:
            s = softcap(s, c.attn_softcap)
        qi = torch.arange(T)[:, None]
        ki = torch.arange(T)[None, :]
        allowed = ki <= qi
        if c.windows[i] is not None:
            allowed = allowed & (qi - ki < c.windows[i])
        s = s.masked_fill(~allowed, float("-inf"))
        o = torch.softmax(s, dim=-1) @ v
        o = o.transpose(1, 2).reshape(B, T, c.n_heads * c.hd)
        return self.linear(o, p + ".o_proj", lora, ls)

    def mlp(self, i, x, lora, ls):
        p = f"{self.decoder}.layers.{i}.mlp"
        g = self.linear(x, p + ".gate_proj", lora, ls)
        u = self.linear(x, p + ".up_proj", lora, ls)
        a = F.silu(g) if self.c.act == "silu" else F.gelu(g, approximate="tanh")
        return self.linear(a * u, p + ".down_proj", lora, ls)

    def forward(self, ids, lora=None, lora_scale=0.0):
        """ids (B, T) int64 -> dict(logits (B,T,V), hidden [L+1 x (B,T,H)], final_norm)."""
        c, w = self.c, self.w
        x = w[self.decoder + ".embed_tokens.weight"][ids] * self.embed_scale
        hidden = [x]
        for i in range(c.L):
            p = f"{self.decoder}.layers.{i}"
            h = rmsnorm(x, w[p + ".input_layernorm.weight"], c.eps, c.gemma)
            a = self.attention(i, h, lora, lora_scale)
            if c.extra_norms:
                a = rmsnorm(a, w[p + ".post_attention_layernorm.weight"], c.eps, c.gemma)
                x = x + a
                h = rmsnorm(x, w[p + ".pre_feedforward_layernorm.weight"], c.eps, c.gemma)
                m = rmsnorm(self.mlp(i, h, lora, lora_scale),
                            w[p + ".post_feedforward_layernorm.weight"], c.eps, c.gemma)
            else:
                x = x + a
                h = rmsnorm(x, w[p + ".post_attention_layernorm.weight"], c.eps, c.gemma)
                m = self.mlp(i, h, lora, lora_scale)
            x = x + m
            hidden.append(x)
        fn = rmsnorm(x, w[self.decoder + ".norm.weight"], c.eps, c.gemma)
        logits = fn @ self.lm_head.T
        if c.final_softcap is not None:
            logits = softcap(logits, c.final_softcap)
        return {"logits": logits, "hidden": hidden, "final_norm": fn}


def causal_lm_loss(logits, labels):
    """HF convention: logits[b, t] scores labels[b, t+1]; mean over scored targets."""
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1, :].reshape(-1, V), labels[:, 1:].reshape(-1),
                           ignore_index=-100, reduction="mean")


def lora_loss(model, ids, labels, lora, scale):
    return causal_lm_loss(model.forward(ids, lora, scale)["logits"], labels)


def lora_grads(model, ids, labels, lora, scale):
    """(loss, {name: grad}) with float64 autograd over the LoRA tensors."""
    params = {k: v.detach().clone().requires_grad_(True) for k, v in lora.items()}
    loss = lora_loss(model, ids, labels, params, scale)
    names = sorted(params)
    grads = torch.autograd.grad(loss, [params[n] for n in names])
    return loss.item(), {n: g.detach() for n, g in zip(names, grads)}


def adamw_run(model, ids, labels, lora, scale, steps, lr, betas, eps, weight_decay, max_grad_norm=None):
    """torch.optim.AdamW on the LoRA tensors only, the same batch every step.

    Returns (losses [steps+1], grad_norms [steps] (pre-clip), {step: {name: tensor}})."""
    names = sorted(lora)
    params = [lora[n].detach().clone().requires_grad_(True) for n in names]
    opt = torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    losses, norms, snaps = [], [], {}
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss = lora_loss(model, ids, labels, dict(zip(names, params)), scale)
        loss.backward()
        losses.append(loss.item())
        total = torch.norm(torch.stack([p.grad.norm(2) for p in params]), 2).item()
        norms.append(total)
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
        opt.step()
        snaps[step] = {n: p.detach().clone() for n, p in zip(names, params)}
    with torch.no_grad():
        losses.append(lora_loss(model, ids, labels, dict(zip(names, params)), scale).item())
    return losses, norms, snaps
