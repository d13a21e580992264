#!/usr/bin/python3
"""Makes tests/data/models/: tiny random HF checkpoints for every architecture
Loam supports, with float64 reference logits, LoRA gradients and AdamW steps.

Each case directory holds a checkpoint as transformers writes it (config.json,
model.safetensors, generation_config.json), a PEFT adapter (adapter/), and
reference.safetensors + reference.json computed by tools/reference_model.py
(float64, stored F32). See tests/data/models/README.md for the layout.

Usage: /usr/bin/python3 tools/make_model_refs.py [--out tests/data/models]
Deterministic: fixed seeds, one thread; re-running gives identical files.
Needs Debian's python3-torch (run /usr/bin/python3, not the pyenv python3).
"""
import argparse
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_model as rm  # noqa: E402

B, T = 2, 16
PROMPT_LENS = [5, 9]   # labels are -100 on these prefixes
TAIL_UNSCORED = [0, 2]  # and on this many trailing positions (padding-like)
LORA_R, LORA_ALPHA = 4, 8.0
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
ADAMW = {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
         "max_grad_norm": None, "steps": 3}
ADAMW_WD = dict(ADAMW, weight_decay=0.01, max_grad_norm=1.0)
TOLERANCES = {
    "logits_abs": 1e-4, "hidden_abs": 1e-4, "loss_abs": 1e-5,
    "grads_rel_to_tensor_max": 1e-4,
    "adapter_step_abs": 1e-5,
    "adapter_step_note": "entries whose |grad| < 1e-6 (count: ill_conditioned_grad_entries) have a "
                         "rounding-noise Adam direction and may differ by up to 2*lr*step",
}

# ----------------------------------------------------------------------------
# Case configs: config.json exactly as transformers writes it (sorted keys).

DIMS = {"vocab_size": 256, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
        "max_position_embeddings": 128}


def llama_config(**over):
    c = dict(DIMS, architectures=["LlamaForCausalLM"], model_type="llama", attention_bias=False,
             attention_dropout=0.0, bos_token_id=1, eos_token_id=2, hidden_act="silu",
             initializer_range=0.02, mlp_bias=False, pretraining_tp=1, rms_norm_eps=1e-5,
             rope_scaling=None, rope_theta=10000.0, tie_word_embeddings=False,
             torch_dtype="float32", use_cache=True)
    c.update(over)
    return c


def mistral_config():
    return dict(DIMS, architectures=["MistralForCausalLM"], model_type="mistral",
                attention_dropout=0.0, bos_token_id=1, eos_token_id=2, hidden_act="silu",
                initializer_range=0.02, rms_norm_eps=1e-5, rope_theta=10000.0, sliding_window=8,
                tie_word_embeddings=False, torch_dtype="float32", use_cache=True)


def qwen2_config():
    return dict(DIMS, architectures=["Qwen2ForCausalLM"], model_type="qwen2", attention_dropout=0.0,
                bos_token_id=1, eos_token_id=2, hidden_act="silu", initializer_range=0.02,
                max_window_layers=21, rms_norm_eps=1e-6, rope_scaling=None, rope_theta=1000000.0,
                sliding_window=32768, tie_word_embeddings=True, torch_dtype="float32",
                use_cache=True, use_sliding_window=False)


def qwen3_config():
    return dict(DIMS, architectures=["Qwen3ForCausalLM"], model_type="qwen3", attention_bias=False,
                attention_dropout=0.0, bos_token_id=1, eos_token_id=2, head_dim=32,
                hidden_act="silu", initializer_range=0.02, layer_types=["full_attention"] * 2,
                max_window_layers=28, rms_norm_eps=1e-6, rope_scaling=None, rope_theta=1000000.0,
                sliding_window=None, tie_word_embeddings=True, torch_dtype="float32",
                use_cache=True, use_sliding_window=False)


def gemma_config():
    return dict(DIMS, architectures=["GemmaForCausalLM"], model_type="gemma", attention_bias=False,
                attention_dropout=0.0, bos_token_id=2, eos_token_id=1, pad_token_id=0,
                hidden_act="gelu_pytorch_tanh", hidden_activation="gelu_pytorch_tanh",
                initializer_range=0.02, num_key_value_heads=1, rms_norm_eps=1e-6,
                rope_theta=10000.0, tie_word_embeddings=True, torch_dtype="float32", use_cache=True)


def gemma2_config():
    L = 3
    return dict(DIMS, architectures=["Gemma2ForCausalLM"], model_type="gemma2", attention_bias=False,
                attention_dropout=0.0, attn_logit_softcapping=50.0, bos_token_id=2,
                cache_implementation="hybrid", eos_token_id=1, final_logit_softcapping=30.0,
                hidden_act="gelu_pytorch_tanh", hidden_activation="gelu_pytorch_tanh",
                initializer_range=0.02, num_hidden_layers=L, pad_token_id=0,
                layer_types=["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(L)],
                query_pre_attn_scalar=24, rms_norm_eps=1e-6, rope_theta=10000.0, sliding_window=4,
                tie_word_embeddings=True, torch_dtype="float32", use_cache=True)


def gemma3_config():
    L, pattern = 3, 3
    return dict(DIMS, architectures=["Gemma3ForCausalLM"], model_type="gemma3_text",
                attention_bias=False, attention_dropout=0.0, attn_logit_softcapping=None,
                bos_token_id=2, cache_implementation="hybrid", eos_token_id=[1, 106],
                final_logit_softcapping=None, head_dim=32, hidden_activation="gelu_pytorch_tanh",
                initializer_range=0.02, num_hidden_layers=L, num_key_value_heads=1, pad_token_id=0,
                layer_types=["sliding_attention" if (i + 1) % pattern else "full_attention"
                             for i in range(L)],
                query_pre_attn_scalar=24, rms_norm_eps=1e-6, rope_local_base_freq=10000.0,
                rope_scaling={"factor": 8.0, "rope_type": "linear"}, rope_theta=1000000.0,
                sliding_window=4, sliding_window_pattern=pattern, tie_word_embeddings=True,
                torch_dtype="float32", use_cache=True)


def gemma3_mm_config():
    """A Gemma3ForConditionalGeneration config.json shaped like google/gemma-3-4b-it's: the
    text_config gives only what differs from Gemma3TextConfig's defaults (here also the tiny
    vocab_size and head_dim), so heads 8/4, query_pre_attn_scalar 256, rope_theta 1e6,
    rope_local_base_freq 1e4, sliding_window_pattern 6, rms_norm_eps 1e-6 and tied embeddings
    come from the defaults; eos ids on the wrapper; a tiny SigLIP vision_config."""
    text = {"head_dim": 8, "hidden_size": 32, "intermediate_size": 64, "model_type": "gemma3_text",
            "num_hidden_layers": 6, "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
            "sliding_window": 4, "vocab_size": 256}
    vision = {"hidden_size": 16, "image_size": 8, "intermediate_size": 32,
              "model_type": "siglip_vision_model", "num_attention_heads": 2, "num_hidden_layers": 1,
              "patch_size": 4, "vision_use_head": False}
    return {"architectures": ["Gemma3ForConditionalGeneration"], "boi_token_index": 255999,
            "eoi_token_index": 256000, "eos_token_id": [1, 106], "image_token_index": 262144,
            "initializer_range": 0.02, "mm_tokens_per_image": 4, "model_type": "gemma3",
            "text_config": text, "torch_dtype": "float32", "vision_config": vision}


# Where a checkpoint keeps its tensors: the decoder's module path, the untied output
# matrix, and (wrappers) the prefix of vision_tower / multi_modal_projector.
PLAIN = {"decoder": "model", "lm_head": "lm_head.weight", "vision": None}
MM_LT_452 = {"decoder": "language_model.model", "lm_head": "language_model.lm_head.weight",
             "vision": ""}  # Gemma3ForConditionalGeneration saved by transformers < 4.52
MM_452 = {"decoder": "model.language_model", "lm_head": "lm_head.weight",
          "vision": "model."}  # ... by transformers >= 4.52
# transformers' Gemma3ForConditionalGeneration._checkpoint_conversion_mapping (< 4.52 -> >= 4.52)
MM_RENAMES = [("language_model.model.", "model.language_model."), ("language_model.lm_head.", "lm_head."),
              ("vision_tower.", "model.vision_tower."),
              ("multi_modal_projector.", "model.multi_modal_projector.")]

LLAMA3_SCALING = {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                  "original_max_position_embeddings": 64, "rope_type": "llama3"}

# name -> (seed, config, description, init std of q/k projections)
CASES = {
    "llama": (101, llama_config(), "LlamaForCausalLM, GQA 4/2, untied lm_head, rope_theta 1e4", 0.1),
    "llama3": (102, llama_config(rope_scaling=LLAMA3_SCALING, max_position_embeddings=512),
               "Llama with llama3 rope_scaling (factor 8, original 64: head_dim 16 has kept, "
               "smoothed and scaled frequencies)", 0.1),
    "tied": (103, llama_config(tie_word_embeddings=True, rope_theta=100000.0),
             "Llama with tie_word_embeddings and no lm_head tensor (SmolLM2 style)", 0.1),
    "mistral": (104, mistral_config(), "MistralForCausalLM, sliding_window 8 < T=16", 0.1),
    "qwen2": (105, qwen2_config(), "Qwen2ForCausalLM: q/k/v biases, rope_theta 1e6, tied, "
              "use_sliding_window false (sliding_window ignored)", 0.1),
    "qwen3": (106, qwen3_config(), "Qwen3ForCausalLM: q_norm/k_norm before RoPE, head_dim 32 "
              "!= hidden/heads, tied", 0.1),
    "gemma": (107, gemma_config(), "GemmaForCausalLM: (1+w) RMSNorm, GeGLU tanh, sqrt(hidden) "
              "embedding scale, MQA (1 kv head), tied", 0.1),
    "gemma2": (108, gemma2_config(), "Gemma2ForCausalLM: attn softcap 50, final softcap 30, "
               "sliding window 4 on layers 0 and 2, query_pre_attn_scalar 24, 4 norms per layer",
               0.4),
    "gemma3": (109, gemma3_config(), "Gemma3ForCausalLM (gemma3_text): q/k norms, pattern 3 "
               "(layers 0,1 local window 4 theta 1e4; layer 2 global theta 1e6 linear x8), "
               "head_dim 32, query_pre_attn_scalar 24", 0.1),
    "bf16": (110, llama_config(torch_dtype="bfloat16"), "Llama stored in BF16; reference from "
             "the bf16-rounded weights in float64", 0.1),
    "f16": (111, llama_config(torch_dtype="float16"), "Llama stored in F16; reference from the "
            "f16-rounded weights in float64", 0.1),
}

# Multimodal wrappers, run as their text model: name -> (seed, config, description, qk std, layout).
# MM_COPIES: the same checkpoint saved in another layout (no reference of its own).
WRAPPER_CASES = {
    "gemma3-mm": (112, gemma3_mm_config(), "Gemma3ForConditionalGeneration as transformers < 4.52 "
                  "saves it (language_model.model.*, vision_tower.*, multi_modal_projector.*), "
                  "text_config omitting the fields Gemma3TextConfig defaults: heads 8/4, "
                  "query_pre_attn_scalar 256, pattern 6 (layer 5 global: theta 1e6 linear x8; "
                  "layers 0-4 and local: window 4, theta 1e4)", 0.1, MM_LT_452),
}
MM_COPIES = {"gemma3-mm-452": ("gemma3-mm", MM_452)}

# ----------------------------------------------------------------------------
# Random weights with HF tensor names.


def weight_shapes(cfg, layout=PLAIN):
    c = rm.Config(cfg)
    H, I, hd = c.H, c.I, c.hd
    d = layout["decoder"]
    shapes = {f"{d}.embed_tokens.weight": (c.V, H), f"{d}.norm.weight": (H,)}
    if not c.tie:
        shapes[layout["lm_head"]] = (c.V, H)
    for i in range(c.L):
        p = f"{d}.layers.{i}."
        shapes[p + "self_attn.q_proj.weight"] = (c.n_heads * hd, H)
        shapes[p + "self_attn.k_proj.weight"] = (c.n_kv * hd, H)
        shapes[p + "self_attn.v_proj.weight"] = (c.n_kv * hd, H)
        shapes[p + "self_attn.o_proj.weight"] = (H, c.n_heads * hd)
        if c.qkv_bias:
            shapes[p + "self_attn.q_proj.bias"] = (c.n_heads * hd,)
            shapes[p + "self_attn.k_proj.bias"] = (c.n_kv * hd,)
            shapes[p + "self_attn.v_proj.bias"] = (c.n_kv * hd,)
        if c.qk_norm:
            shapes[p + "self_attn.q_norm.weight"] = (hd,)
            shapes[p + "self_attn.k_norm.weight"] = (hd,)
        shapes[p + "mlp.gate_proj.weight"] = (I, H)
        shapes[p + "mlp.up_proj.weight"] = (I, H)
        shapes[p + "mlp.down_proj.weight"] = (H, I)
        shapes[p + "input_layernorm.weight"] = (H,)
        shapes[p + "post_attention_layernorm.weight"] = (H,)
        if c.extra_norms:
            shapes[p + "pre_feedforward_layernorm.weight"] = (H,)
            shapes[p + "post_feedforward_layernorm.weight"] = (H,)
    return shapes


def weights_make(cfg, gen, qk_std, layout=PLAIN):
    """Float64 weights: projections N(0, 0.1) (q/k: qk_std), biases N(0, 0.1), norms
    1 + N(0, 0.1) (Gemma's (1+w) norms: N(0, 0.1)); rounded to torch_dtype."""
    gemma = cfg["model_type"] in rm.GEMMA_FAMILY
    dtype = rm._DTYPE_BY_NAME[cfg["torch_dtype"]]
    out = {}
    for name, shape in sorted(weight_shapes(cfg, layout).items()):
        t = torch.randn(shape, generator=gen, dtype=torch.float64)
        if "norm" in name:
            t = t * 0.1 + (0.0 if gemma else 1.0)
        elif "q_proj.weight" in name or "k_proj.weight" in name:
            t = t * qk_std
        else:
            t = t * 0.1
        out[name] = t.to(dtype)
    return out


def vision_weights_make(gen, prefix):
    """A few random stand-ins for a wrapper's SigLIP tower and projector (never read by a
    text model; one is a q_proj, which must not be taken for the decoder's)."""
    shapes = {"vision_tower.vision_model.embeddings.patch_embedding.weight": (16, 3, 4, 4),
              "vision_tower.vision_model.embeddings.patch_embedding.bias": (16,),
              "vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight": (16, 16),
              "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight": (32, 16),
              "vision_tower.vision_model.post_layernorm.weight": (16,),
              "multi_modal_projector.mm_input_projection_weight": (16, 32),
              "multi_modal_projector.mm_soft_emb_norm.weight": (16,)}
    return {prefix + n: (torch.randn(s, generator=gen, dtype=torch.float64) * 0.1).float()
            for n, s in sorted(shapes.items())}


def mm_rename(name):
    """A Gemma 3 wrapper tensor (or PEFT) name in the transformers >= 4.52 layout."""
    peft = "base_model.model."
    if name.startswith(peft):
        return peft + mm_rename(name[len(peft):])
    for old, new in MM_RENAMES:
        if name.startswith(old):
            return new + name[len(old):]
    raise ValueError(f"no >= 4.52 name for {name}")


def lora_make(cfg, gen, layout=PLAIN):
    """PEFT-named adapter: A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform a=sqrt(5)),
    B ~ U(-0.05, 0.05), non-zero on purpose so that A gets gradients."""
    shapes = weight_shapes(cfg, layout)
    out = {}
    for name, shape in sorted(shapes.items()):
        mod = name[:-len(".weight")]
        if not name.endswith(".weight") or mod.rsplit(".", 1)[-1] not in TARGETS:
            continue
        n_out, n_in = shape
        bound = 1.0 / n_in ** 0.5
        a = (torch.rand((LORA_R, n_in), generator=gen, dtype=torch.float64) * 2 - 1) * bound
        b = (torch.rand((n_out, LORA_R), generator=gen, dtype=torch.float64) * 2 - 1) * 0.05
        out[rm.lora_prefix_name(mod, "A")] = a.float().double()  # stored F32: use the F32 values
        out[rm.lora_prefix_name(mod, "B")] = b.float().double()
    return out


def batch_make(cfg, gen):
    ids = torch.randint(0, cfg["vocab_size"], (B, T), generator=gen, dtype=torch.int64)
    labels = ids.clone()
    for b in range(B):
        labels[b, :PROMPT_LENS[b]] = -100
        if TAIL_UNSCORED[b]:
            labels[b, T - TAIL_UNSCORED[b]:] = -100
    return ids, labels


# ----------------------------------------------------------------------------
# Files as transformers / PEFT write them.


def json_write(path, obj):
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def generation_config(cfg):
    """From the model config as transformers' GenerationConfig.from_model_config does: a
    wrapper's own ids first, then its text config's (with their class defaults)."""
    ids = dict(rm.text_config(cfg) if cfg["model_type"] == "gemma3" else cfg)
    ids.update({k: cfg[k] for k in ("bos_token_id", "eos_token_id", "pad_token_id") if k in cfg})
    g = {"_from_model_config": True, "bos_token_id": ids["bos_token_id"],
         "eos_token_id": ids["eos_token_id"]}
    if "pad_token_id" in ids:
        g["pad_token_id"] = ids["pad_token_id"]
    return g


def adapter_config():
    return {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "..",
        "bias": "none", "exclude_modules": None, "fan_in_fan_out": False, "inference_mode": True,
        "init_lora_weights": True, "layer_replication": None, "layers_pattern": None,
        "layers_to_transform": None, "loftq_config": {}, "lora_alpha": LORA_ALPHA, "lora_bias": False,
        "lora_dropout": 0.0, "megatron_config": None, "megatron_core": "megatron.core",
        "modules_to_save": None, "peft_type": "LORA", "r": LORA_R, "rank_pattern": {},
        "revision": None, "target_modules": TARGETS, "task_type": "CAUSAL_LM", "use_dora": False,
        "use_rslora": False,
    }


def checkpoint_write(d, cfg, weights):
    os.makedirs(d, exist_ok=True)
    json_write(os.path.join(d, "config.json"), cfg)
    json_write(os.path.join(d, "generation_config.json"), generation_config(cfg))
    rm.safetensors_write(os.path.join(d, "model.safetensors"), weights, {"format": "pt"})


def checkpoint_write_sharded(d, cfg, weights, in_first=None):
    """Two shards, plus model.safetensors.index.json: by default split at the first layer-1
    tensor; `in_first(name)` picks the first shard's tensors otherwise."""
    os.makedirs(d, exist_ok=True)
    json_write(os.path.join(d, "config.json"), cfg)
    json_write(os.path.join(d, "generation_config.json"), generation_config(cfg))
    names = sorted(weights)
    in_first = in_first or (lambda n: n.startswith("model.embed") or n.startswith("model.layers.0."))
    first = [n for n in names if in_first(n)]
    shards = [first, [n for n in names if n not in first]]
    files = [f"model-0000{i + 1}-of-00002.safetensors" for i in range(2)]
    weight_map, total = {}, 0
    for fn, part in zip(files, shards):
        rm.safetensors_write(os.path.join(d, fn), {n: weights[n] for n in part}, {"format": "pt"})
        for n in part:
            weight_map[n] = fn
            total += weights[n].numel() * weights[n].element_size()
    json_write(os.path.join(d, "model.safetensors.index.json"),
               {"metadata": {"total_size": total}, "weight_map": weight_map})


# ----------------------------------------------------------------------------
# Reference computation.


def finite_difference_check(model, ids, labels, lora, scale, grads, gen):
    """Central differences (h=1e-5, float64) of a few LoRA entries vs autograd."""
    names = sorted(lora)
    picks = [names[0], names[-1]] + [names[int(torch.randint(len(names), (1,), generator=gen))]
                                     for _ in range(2)]
    out = []
    for n in picks:
        g = grads[n]
        big = (g.abs() >= 0.2 * g.abs().max()).nonzero()
        idx = tuple(big[int(torch.randint(len(big), (1,), generator=gen))].tolist())
        h = 1e-5
        vals = []
        for sign in (1, -1):
            pert = dict(lora)
            pert[n] = lora[n].clone()
            pert[n][idx] += sign * h
            with torch.no_grad():
                vals.append(rm.lora_loss(model, ids, labels, pert, scale).item())
        fd = (vals[0] - vals[1]) / (2 * h)
        rel = abs(fd - g[idx].item()) / abs(g[idx].item())
        print(f"    fd {n}{list(idx)}: autograd {g[idx].item():+.10e} fd {fd:+.10e} rel {rel:.1e}")
        assert rel < 1e-6, f"finite-difference check failed for {n}{idx}: rel err {rel}"
        out.append({"tensor": n, "index": list(idx), "autograd": g[idx].item(), "fd": fd,
                    "rel_err": rel})
    return out


def softcap_effect(model, ids):
    """Max |logits change| when Gemma 2's soft-capping is switched off (shows it matters)."""
    c = model.c
    with torch.no_grad():
        ref = model.forward(ids)["logits"]
        saved = (c.attn_softcap, c.final_softcap)
        c.attn_softcap = None
        no_attn = model.forward(ids)["logits"]
        c.attn_softcap, c.final_softcap = saved[0], None
        no_final = model.forward(ids)["logits"]
        c.attn_softcap, c.final_softcap = saved
    return {"attn_softcap_off_max_logit_change": (ref - no_attn).abs().max().item(),
            "final_softcap_off_max_logit_change": (ref - no_final).abs().max().item()}


def checksums(tensors):
    return {n: {"shape": list(t.shape), "dtype": rm._TORCH_TO_ST[t.dtype],
                "sum": t.double().sum().item(), "abs_sum": t.double().abs().sum().item()}
            for n, t in sorted(tensors.items())}


def optimizer_json(o):
    return dict(o, name="AdamW", same_batch_every_step=True, params="LoRA A and B only",
                clip="torch.nn.utils.clip_grad_norm_: global L2 norm over all LoRA grads, "
                     "coef = max_norm / (norm + 1e-6), applied when coef < 1"
                if o["max_grad_norm"] else None)


def case_make(out_dir, name, seed, cfg, desc, qk_std, layout=PLAIN):
    print(f"== {name}: {desc}")
    gen = torch.Generator().manual_seed(seed)
    d = os.path.join(out_dir, name)
    text = rm.text_config(cfg)
    weights = weights_make(text, gen, qk_std, layout)
    if layout["vision"] is not None:
        weights.update(vision_weights_make(gen, layout["vision"]))
    checkpoint_write(d, cfg, weights)
    lora = lora_make(text, gen, layout)
    ids, labels = batch_make(text, gen)
    ad = os.path.join(d, "adapter")
    os.makedirs(ad, exist_ok=True)
    json_write(os.path.join(ad, "adapter_config.json"), adapter_config())
    rm.safetensors_write(os.path.join(ad, "adapter_model.safetensors"),
                         {n: t.float() for n, t in lora.items()}, {"format": "pt"})

    # Everything below is computed from what was written, read back.
    with open(os.path.join(d, "config.json")) as f:
        model = rm.Model(rm.text_config(json.load(f)), rm.checkpoint_read(d), layout["decoder"],
                         layout["lm_head"])
    lora = {n: t.double() for n, t in
            rm.safetensors_read(os.path.join(ad, "adapter_model.safetensors")).items()}
    scale = LORA_ALPHA / LORA_R
    ref = {"input_ids": ids, "labels": labels}
    with torch.no_grad():
        base = model.forward(ids)
        ref["logits"] = base["logits"]
        for i, h in enumerate(base["hidden"]):
            ref[f"hidden.{i}"] = h
        ref["final_norm"] = base["final_norm"]
        ref["logits_lora"] = model.forward(ids, lora, scale)["logits"]
        loss_base = rm.causal_lm_loss(base["logits"], labels).item()
    loss, grads = rm.lora_grads(model, ids, labels, lora, scale)
    ref["loss"] = torch.tensor([loss], dtype=torch.float64)
    for n, g in grads.items():
        ref["grad." + n] = g
    fd = finite_difference_check(model, ids, labels, lora, scale, grads, gen)
    runs = {}
    for prefix, o in (("", ADAMW), ("adamw_wd.", ADAMW_WD)):
        losses, norms, snaps = rm.adamw_run(model, ids, labels, lora, scale, o["steps"], o["lr"],
                                            tuple(o["betas"]), o["eps"], o["weight_decay"],
                                            o["max_grad_norm"])
        ref[prefix + "losses"] = torch.tensor(losses, dtype=torch.float64)
        for step in (1, 3):
            for n, p in snaps[step].items():
                ref[f"{prefix}step{step}.{n}"] = p
        runs[prefix.rstrip(".") or "adamw"] = {"losses": losses, "grad_norms_before_clip": norms}
    stored = {n: (t if t.dtype == torch.int64 else t.float()) for n, t in ref.items()}
    rm.safetensors_write(os.path.join(d, "reference.safetensors"), stored)

    info = reference_info(name, seed, cfg, desc, model, labels, loss_base, loss, grads, runs,
                          fd, stored)
    if layout is not PLAIN:
        info["tensor_layout"] = layout
    json_write(os.path.join(d, "reference.json"), info)
    print(f"    loss_base {loss_base:.6f} loss {loss:.6f} losses {runs['adamw']['losses']}")
    return weights


def reference_info(name, seed, cfg, desc, model, labels, loss_base, loss, grads, runs, fd, stored):
    """The reference.json object (settings, scalar results, checksums, tolerances)."""
    c = model.c
    info = {
        "case": name, "description": desc, "generator": "tools/make_model_refs.py",
        "seed": seed, "checkpoint_dtype": cfg["torch_dtype"], "compute_dtype": "float64",
        "stored_dtype": "F32 (input_ids, labels: I64)",
        "config_summary": {"model_type": c.model_type, "vocab": c.V, "hidden": c.H,
                           "intermediate": c.I, "layers": c.L, "heads": c.n_heads,
                           "kv_heads": c.n_kv, "head_dim": c.hd, "tied": c.tie,
                           "sliding_window_per_layer": c.windows,
                           "rope_per_layer": [{"theta": t, "scaling": s} for t, s in c.ropes],
                           "attn_scale": c.attn_scale, "embed_scale": model.embed_scale},
        "B": B, "T": T, "prompt_lens": PROMPT_LENS, "tail_unscored": TAIL_UNSCORED,
        "scored_targets": int((labels[:, 1:] != -100).sum()),
        "positions": "0..T-1 for every row, no attention mask (unscored tail is not padding-masked)",
        "loss_convention": "mean over the batch of CE(logits[b,t], labels[b,t+1]) for labels != -100",
        "lora": {"r": LORA_R, "lora_alpha": LORA_ALPHA, "scaling": LORA_ALPHA / LORA_R, "target_modules": TARGETS,
                 "formula": "y = x W^T (+ b) + (alpha/r) (x A^T) B^T",
                 "init": "A ~ U(-1/sqrt(in), 1/sqrt(in)), B ~ U(-0.05, 0.05) (non-zero)"},
        "optimizers": {"adamw": optimizer_json(ADAMW), "adamw_wd": optimizer_json(ADAMW_WD)},
        "loss_base": loss_base, "loss": loss, "runs": runs,
        "min_abs_grad": min(g.abs().min().item() for g in grads.values()),
        "ill_conditioned_grad_entries": sum(int((g.abs() < 1e-6).sum()) for g in grads.values()),
        "finite_difference_check": fd,
        "tolerances": TOLERANCES,
        "checksums": checksums(stored),
    }
    if c.attn_softcap is not None or c.final_softcap is not None:
        info["softcap_effect"] = softcap_effect(model, stored["input_ids"])
    return info


def mm_copy_make(out_dir, name, source, layout):
    """`source` (a wrapper case) saved in the >= 4.52 layout, sharded in two like
    google/gemma-3-4b-it, with its adapter renamed the same way; checks that the
    reference gives the same logits from it."""
    print(f"== {name}: {source} in the transformers >= 4.52 layout, 2 shards")
    src, d = os.path.join(out_dir, source), os.path.join(out_dir, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    weights = {mm_rename(n): t for n, t in rm.checkpoint_read(src).items()}
    checkpoint_write_sharded(d, cfg, weights, lambda n: not n.startswith(layout["decoder"] + ".layers.")
                             or int(n.split(".")[3]) < 3)
    ad = os.path.join(d, "adapter")
    os.makedirs(ad)
    shutil.copyfile(os.path.join(src, "adapter", "adapter_config.json"), os.path.join(ad, "adapter_config.json"))
    lora = rm.safetensors_read(os.path.join(src, "adapter", "adapter_model.safetensors"))
    rm.safetensors_write(os.path.join(ad, "adapter_model.safetensors"),
                         {mm_rename(n): t for n, t in lora.items()}, {"format": "pt"})
    ref = rm.safetensors_read(os.path.join(src, "reference.safetensors"))
    model = rm.Model(rm.text_config(cfg), rm.checkpoint_read(d), layout["decoder"], layout["lm_head"])
    lora = {n: t.double() for n, t in rm.safetensors_read(os.path.join(ad, "adapter_model.safetensors")).items()}
    with torch.no_grad():
        assert torch.equal(model.forward(ref["input_ids"])["logits"].float(), ref["logits"])
        assert torch.equal(model.forward(ref["input_ids"], lora, LORA_ALPHA / LORA_R)["logits"].float(),
                           ref["logits_lora"])


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(root, "tests", "data", "models"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for name, (seed, cfg, desc, qk_std) in CASES.items():
        d = os.path.join(args.out, name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        weights = case_make(args.out, name, seed, cfg, desc, qk_std)
        if name == "llama":
            sd = os.path.join(args.out, "llama-sharded")
            if os.path.isdir(sd):
                shutil.rmtree(sd)
            checkpoint_write_sharded(sd, cfg, weights)
            back = rm.checkpoint_read(sd)
            assert sorted(back) == sorted(weights)
            assert all(torch.equal(back[n], weights[n]) for n in weights)
    for name, (seed, cfg, desc, qk_std, layout) in WRAPPER_CASES.items():
        d = os.path.join(args.out, name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        case_make(args.out, name, seed, cfg, desc, qk_std, layout)
    for name, (source, layout) in MM_COPIES.items():
        mm_copy_make(args.out, name, source, layout)
    print("done")


if __name__ == "__main__":
    main()
