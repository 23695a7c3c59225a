#!/usr/bin/env python3
"""Writes the tensor-file fixtures beside this script (PyTorch 1.13, NumPy 1.24).

Run with `python3 make_fixtures.py`; the outputs are committed, so this runs only when a fixture changes.

* `mixed.safetensors` + `mixed.json`: one tensor of every stored dtype, written in the layout of the
  reference implementation (huggingface/safetensors `serialize`): tensors sorted by descending dtype
  alignment and then by name, `__metadata__` first, compact JSON, header padded with spaces to a multiple
  of 8 bytes. `mixed.json` holds the raw bits of every tensor and PyTorch's float32 value of each element.
* `conversions.json`: float32 bit patterns and PyTorch's float16 and bfloat16 roundings of them.
* `*.npy` + `npy.json`: files written by `np.save` (and `write_array` for versions 2.0 and 3.0).
"""
import json
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))

# Dtype order of the reference implementation (increasing alignment).
DTYPE_RANK = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32",
              "F64", "I64", "U64"]
TORCH_DTYPES = {
    torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16", torch.float16: "F16",
    torch.bfloat16: "BF16", torch.int32: "I32", torch.float32: "F32", torch.float64: "F64",
    torch.int64: "I64",
}


def save_safetensors(path, tensors, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: (-DTYPE_RANK.index(TORCH_DTYPES[kv[1].dtype]), kv[0]))
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    chunks = []
    offset = 0
    for name, t in items:
        data = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": TORCH_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        chunks.append(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def bits(t):
    """Raw element bits as Python ints (strings for 64-bit integers, so JSON keeps them exact)."""
    if t.dtype == torch.int64:
        return [str(v) for v in t.flatten().tolist()]
    if t.dtype == torch.float64:
        return [str(v) for v in t.contiguous().reshape(-1).view(torch.int64).tolist()]
    view = {torch.float32: torch.int32, torch.float16: torch.int16, torch.bfloat16: torch.int16}.get(t.dtype)
    if view is None:
        return [int(v) for v in t.flatten().tolist()]
    mask = 0xFFFFFFFF if t.dtype == torch.float32 else 0xFFFF
    return [v & mask for v in t.contiguous().reshape(-1).view(view).tolist()]


def float32_bits(t):
    return [v & 0xFFFFFFFF for v in t.to(torch.float32).contiguous().reshape(-1).view(torch.int32).tolist()]


def make_safetensors():
    g = torch.Generator().manual_seed(0)
    special = [0.0, -0.0, 1.0, -2.5, 65504.0, 6e-8, 1e-5, 1e-40, float("inf"), float("-inf"), float("nan"),
               3.0e38, 1.0 / 3.0]
    tensors = {
        "features.0.0.weight": torch.randn(4, 3, 3, 3, generator=g),
        "features.0.1.bias": torch.randn(4, generator=g),
        "half": torch.tensor(special, dtype=torch.float16),
        "brain": torch.tensor(special, dtype=torch.bfloat16),
        "double": torch.tensor([1.0 / 3.0, -1e-300, 1e300, float("inf")], dtype=torch.float64),
        "features.0.1.num_batches_tracked": torch.tensor(7, dtype=torch.int64),
        "long": torch.tensor([[2**62 + 1, -2**63], [2**53 + 1, -1], [2**60 + 2**36 + 1, -(2**60 + 2**36 + 1)]], dtype=torch.int64),
        "int": torch.tensor([2**31 - 1, -2**31, 16777217, -5], dtype=torch.int32),
        "short": torch.tensor([[32767, -32768, 0]], dtype=torch.int16),
        "byte": torch.tensor([-128, 127, 0], dtype=torch.int8),
        "ubyte": torch.tensor([0, 255, 17], dtype=torch.uint8).reshape(3, 1),
        "mask": torch.tensor([True, False, True]),
        "empty": torch.zeros(0, 3),
    }
    metadata = {"format": "pt"}
    save_safetensors(os.path.join(HERE, "mixed.safetensors"), tensors, metadata)
    expected = {name: {"dtype": TORCH_DTYPES[t.dtype], "shape": list(t.shape), "bits": bits(t),
                       "float32_bits": float32_bits(t)} for name, t in tensors.items()}
    with open(os.path.join(HERE, "mixed.json"), "w") as f:
        json.dump({"metadata": metadata, "tensors": expected}, f)


def make_conversions():
    rng = np.random.default_rng(0)
    f32 = [0x00000000, 0x80000000, 0x3F800000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7F7FFFFF, 0x00000001,
           0x00800000, 0x477FE000, 0x477FEFFF, 0x477FF000, 0x477FF001, 0x33000000, 0x33000001, 0x33800000,
           0x33C00000, 0x387FC000, 0x387FE000, 0x38800000, 0x3F801000, 0x3F803000, 0x3F808000, 0x3F818000,
           0x3F808001, 0x7F7F8000, 0x7F7FFFFF, 0x00008000, 0x00018000, 0x007FFFFF]
    f32 += [int(v) for v in rng.integers(0, 2**32, size=200, dtype=np.uint64)]
    # Random values in the float16 range, where most of the rounding happens.
    f32 += [int(v) for v in (rng.integers(0x33000000, 0x47800000, size=200, dtype=np.uint64)
                             | (rng.integers(0, 2, size=200, dtype=np.uint64) << 31))]
    t = torch.tensor(np.array(f32, dtype=np.uint32).view(np.int32)).view(torch.float32)
    out = {
        "f32_bits": f32,
        "f16_bits": [v & 0xFFFF for v in t.to(torch.float16).view(torch.int16).tolist()],
        "bf16_bits": [v & 0xFFFF for v in t.to(torch.bfloat16).view(torch.int16).tolist()],
    }
    with open(os.path.join(HERE, "conversions.json"), "w") as f:
        json.dump(out, f)


def make_npy():
    rng = np.random.default_rng(1)
    arrays = {
        "f4": rng.standard_normal((2, 3)).astype("<f4"),
        "f8": np.array([1.0 / 3.0, -0.0, np.inf, 1e-310]),
        "f2": np.array([[1.0, -2.0], [6e-8, np.inf]], dtype="<f2"),
        "i8": np.array([2**62 + 1, -2**63, 3], dtype="<i8"),
        "i4": np.arange(-6, 6, dtype="<i4").reshape(3, 2, 2),
        "i2": np.array([32767, -32768], dtype="<i2"),
        "i1": np.array([-128, 127, 5], dtype="i1"),
        "u1": np.array([[0, 255]], dtype="u1"),
        "b1": np.array([True, False, False, True]),
        "scalar": np.array(2.5, dtype="<f4"),
        "empty": np.zeros((0, 4), dtype="<f4"),
    }
    expected = {}
    for name, a in arrays.items():
        np.save(os.path.join(HERE, f"{name}.npy"), a)
        raw = a.tobytes()
        expected[name] = {"descr": a.dtype.str, "shape": list(a.shape), "bytes": list(raw)}
    for version in [(2, 0), (3, 0)]:
        with open(os.path.join(HERE, f"f4_v{version[0]}.npy"), "wb") as f:
            np.lib.format.write_array(f, arrays["f4"], version=version)
    np.save(os.path.join(HERE, "fortran.npy"), np.asfortranarray(arrays["f4"]))
    np.save(os.path.join(HERE, "big_endian.npy"), arrays["f4"].astype(">f4"))
    np.save(os.path.join(HERE, "uint16.npy"), np.array([1, 2], dtype="<u2"))
    with open(os.path.join(HERE, "npy.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    make_safetensors()
    make_conversions()
    make_npy()
