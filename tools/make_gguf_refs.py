#!/usr/bin/python3
"""Writes tests/data/formats/tiny.gguf and tiny.gguf.json.

An independent reference for Loam's GGUF reader: the file is laid out by hand
from the public GGUF spec (github.com/ggml-org/ggml/blob/master/docs/gguf.md)
with nothing but Python's struct module, and the JSON lists the values the
reader must return (tensor values dequantized, shapes in PyTorch/HF order,
i.e. GGUF's ne[] reversed).

Run: /usr/bin/python3 tools/make_gguf_refs.py [out_dir]
"""
import json
import os
import struct
import sys

ALIGN = 32  # GGUF default; the file has no general.alignment key

# GGUF metadata value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i",
              F32: "<f", BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}
# ggml tensor types
GGML_F32, GGML_F16, GGML_Q8_0, GGML_Q4_K, GGML_BF16 = 0, 1, 8, 12, 30


def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gguf_value(vtype, v):
    if vtype == STRING:
        return gguf_string(v)
    if vtype == ARRAY:
        elem, items = v
        out = struct.pack("<IQ", elem, len(items))
        for x in items:
            out += gguf_value(elem, x)
        return out
    return struct.pack(SCALAR_FMT[vtype], v)


def bf16_bytes(values):
    # values chosen exactly representable in bf16: truncating f32 bits is exact
    out = b""
    for x in values:
        (bits,) = struct.unpack("<I", struct.pack("<f", x))
        assert bits & 0xFFFF == 0, x
        out += struct.pack("<H", bits >> 16)
    return out


def q8_0_bytes(rows):
    """rows: list of (scale, [32 ints]) blocks -> (bytes, dequantized floats)."""
    out, deq = b"", []
    for d, qs in rows:
        assert len(qs) == 32
        out += struct.pack("<e", d) + struct.pack("<32b", *qs)
        d16 = struct.unpack("<e", struct.pack("<e", d))[0]
        deq += [d16 * q for q in qs]
    return out, deq


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "tests", "data", "formats")
    tokens = ["<s>", "</s>", "hello", "w\u00f6rld", "", "\u2581the"]
    metadata = [
        ("general.architecture", STRING, "llama"),
        ("general.name", STRING, "tiny reference"),
        ("llama.block_count", U32, 2),
        ("llama.context_length", U64, 4096),
        ("test.i8", I8, -7),
        ("test.u8", U8, 200),
        ("test.i16", I16, -300),
        ("test.u16", U16, 60000),
        ("test.i32", I32, -123456),
        ("test.i64", I64, -(1 << 40)),
        ("test.f32", F32, 0.5),
        ("test.f64", F64, 1e-300),
        ("test.bool", BOOL, True),
        ("llama.attention.layer_norm_rms_epsilon", F32, 9.999999747378752e-06),
        ("tokenizer.ggml.tokens", ARRAY, (STRING, tokens)),
        ("tokenizer.ggml.scores", ARRAY, (F32, [0.0, -1.0, -2.5, 3.25, 0.125, -0.0])),
        ("tokenizer.ggml.token_type", ARRAY, (I32, [3, 3, 1, 1, 1, 6])),
    ]

    f32_vals = [1.0, -2.0, 3.5, 0.25, -0.125, 1e-3]
    f16_vals = [0.5, -1.5, 65504.0, 2.0 ** -24]
    bf16_vals = [1.0, -3.0, 0.15625, 256.0]
    q8_bytes, q8_vals = q8_0_bytes([
        (0.01, [(i * 7) % 255 - 127 for i in range(32)]),
        (-0.5, [i - 16 for i in range(32)]),
    ])
    tensors = [
        # name, ggml type, ne (GGUF order), data bytes, expected values
        ("blk.0.f32.weight", GGML_F32, [3, 2], struct.pack("<6f", *f32_vals),
         [struct.unpack("<f", struct.pack("<f", x))[0] for x in f32_vals]),
        ("blk.0.f16.weight", GGML_F16, [4], struct.pack("<4e", *f16_vals), f16_vals),
        ("blk.0.bf16.weight", GGML_BF16, [2, 2], bf16_bytes(bf16_vals), bf16_vals),
        ("blk.0.q8.weight", GGML_Q8_0, [32, 2], q8_bytes, q8_vals),
        ("blk.0.q4k.weight", GGML_Q4_K, [256, 1], bytes(144), None),
    ]

    head = struct.pack("<IIQQ", 0x46554747, 3, len(tensors), len(metadata))
    for key, vtype, v in metadata:
        head += gguf_string(key) + struct.pack("<I", vtype) + gguf_value(vtype, v)
    offset, data = 0, b""
    for name, gtype, ne, blob, _ in tensors:
        head += gguf_string(name) + struct.pack("<I", len(ne))
        head += b"".join(struct.pack("<Q", d) for d in ne)
        head += struct.pack("<IQ", gtype, offset)
        padded = blob + bytes((-len(blob)) % ALIGN)
        data += padded
        offset += len(padded)
    head += bytes((-len(head)) % ALIGN)

    with open(os.path.join(out_dir, "tiny.gguf"), "wb") as f:
        f.write(head + data)

    def json_value(vtype, v):
        if vtype == ARRAY:
            return {"type": "array", "elem": ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
                                              "string"][v[0]], "value": list(v[1])}
        names = {U8: "u8", I8: "i8", U16: "u16", I16: "i16", U32: "u32", I32: "i32", F32: "f32",
                 BOOL: "bool", STRING: "string", U64: "u64", I64: "i64", F64: "f64"}
        if vtype == F32:  # what the file holds, widened
            v = struct.unpack("<f", struct.pack("<f", v))[0]
        return {"type": names[vtype], "value": v}

    ref = {
        "version": 3,
        "alignment": ALIGN,
        "metadata": {k: json_value(t, v) for k, t, v in metadata},
        "tensors": [{"name": n, "ggml_type": t, "shape": list(reversed(ne)), "n_bytes": len(b),
                     "values": vals} for n, t, ne, b, vals in tensors],
    }
    with open(os.path.join(out_dir, "tiny.gguf.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
