#!/usr/bin/env python3
"""Writes a synthetic byte-level BPE tokenizer.json of exactly --vocab tokens
into a model directory made with `make_demo_model.py --vocab N` (which has no
tokenizer), so that `loam convert` can put a vocabulary into the GGUF file and
llama.cpp, which refuses files without one, can load it for benchmarks.

Tokens: the 256 bytes (GPT-2's byte-to-character map), then two-byte tokens
from merges of byte pairs in order, and <|endoftext|> as the last id (eos).
The text it produces is meaningless; the token ids are what benchmarks use.

    /usr/bin/python3 tools/make_synthetic_tokenizer.py /tmp/smol-tok --vocab 49152
"""
import argparse
import json
import os


def bytes_to_unicode():
    """GPT-2's reversible map from bytes to printable characters."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(keep, chars)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--vocab", type=int, required=True)
    args = ap.parse_args()
    if args.vocab < 258 or args.vocab > 256 + 256 * 256 + 1:
        raise SystemExit(f"--vocab must be between 258 and {256 + 256 * 256 + 1}")

    byte_chars = [bytes_to_unicode()[b] for b in range(256)]
    vocab = {c: i for i, c in enumerate(byte_chars)}
    merges = []
    for a in byte_chars:
        for b in byte_chars:
            if len(vocab) == args.vocab - 1:
                break
            vocab[a + b] = len(vocab)
            merges.append(f"{a} {b}")
    eos_id = args.vocab - 1
    tokenizer = {
        "version": "1.0",
        "added_tokens": [{"id": eos_id, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                  "merges": merges},
    }
    with open(os.path.join(args.model_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    with open(os.path.join(args.model_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"eos_token": "<|endoftext|>", "bos_token": None, "add_bos_token": False}, f)
    for name in ("config.json", "generation_config.json"):  # the eos id the vocabulary now has
        path = os.path.join(args.model_dir, name)
        cfg = json.load(open(path))
        cfg["eos_token_id"] = eos_id
        cfg["bos_token_id"] = None
        json.dump(cfg, open(path, "w"), indent=2)
    print(f"wrote {args.model_dir}/tokenizer.json: byte-level BPE, {args.vocab} tokens, eos {eos_id}")


if __name__ == "__main__":
    main()
