#!/usr/bin/python3
"""Writes fake_quant_golden.json: PyTorch fake quantization outputs next to SPEC.md's rule.

Run with `/usr/bin/python3 packages/qtensor/testdata/make_golden.py` (torch 1.13 and numpy).
Every float is a float32 written as its 8-hex-digit bit pattern, so the JSON is exact.

For each case the file holds the inputs, PyTorch's output (`torch`), the output of SPEC.md's rule
(`spec`: clamp(round_half_even(float32(x / s))) * s, computed here with numpy float32 division) and
the indices where the two differ. PyTorch multiplies by inv = float32(1 / s) instead of dividing, and
maps non-finite quotients to qmin; the test checks `spec` with the default mode and `torch` with
`pytorchCompatible: true`.
"""

import json
import os

import numpy as np
import torch

f32 = np.float32
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_quant_golden.json")
RANGES = {"qint8": (-128, 127), "qint16": (-32768, 32767)}


def hexes(a):
    return ["%08x" % v for v in np.asarray(a, dtype=f32).reshape(-1).view(np.uint32)]


def spec_fake_quant(x, s, qmin, qmax):
    """SPEC.md: float32 division, ties to even, clamp, product rounded once to float32, zero is +0."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        v = x.astype(f32) / s.astype(f32)  # IEEE float32 division
    q = np.clip(np.rint(v.astype(np.float64)), qmin, qmax) + 0.0
    return (q * s.astype(np.float64)).astype(f32)


def tie_inputs(s, qmin, qmax, rng):
    """Exact and near ties around every half-integer multiple of s near 0 and both range ends, plus
    values beyond the range, signed zeros and random values."""
    ks = np.concatenate([np.arange(-6, 6), np.arange(qmin - 4, qmin + 4), np.arange(qmax - 4, qmax + 4)])
    base = ((ks + 0.5) * np.float64(s)).astype(f32)
    up = np.nextafter(base, f32(np.inf))
    down = np.nextafter(base, f32(-np.inf))
    whole = (np.arange(-3, 4) * np.float64(s)).astype(f32)
    far = np.array([(qmax + 5) * s, (qmin - 5) * s, 1e6, -1e6, 3e38, -3e38], dtype=f32)
    zeros = np.array([0.0, -0.0, 1e-40, -1e-40, 0.25 * s, -0.25 * s], dtype=f32)
    rand = (rng.uniform(qmin - 3, qmax + 3, 64) * s).astype(f32)
    return np.concatenate([base, up, down, whole, far, zeros, rand]).astype(f32)


def per_tensor_case(dtype, scale, rng):
    qmin, qmax = RANGES[dtype]
    s = f32(scale)
    x = tie_inputs(s, qmin, qmax, rng)
    t = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), float(s), 0, qmin, qmax).numpy()
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    torch.fake_quantize_per_tensor_affine(xt, float(s), 0, qmin, qmax).sum().backward()
    spec = spec_fake_quant(x, np.full_like(x, s), qmin, qmax)
    differs = np.nonzero(spec.view(np.uint32) != t.view(np.uint32))[0]
    return {
        "dtype": dtype,
        "qmin": qmin,
        "qmax": qmax,
        "scale": hexes([s])[0],
        "x": hexes(x),
        "torch": hexes(t),
        "torchGrad": hexes(xt.grad.numpy()),
        "spec": hexes(spec),
        "differs": [int(i) for i in differs],
    }


def per_channel_case(dtype, scales, shape, axis, rng):
    qmin, qmax = RANGES[dtype]
    s = np.asarray(scales, dtype=f32)
    n = int(np.prod(shape))
    bshape = [1] * len(shape)
    bshape[axis] = len(s)
    sb = np.broadcast_to(s.reshape(bshape), shape).reshape(-1)
    # Ties (k + 0.5) * s for each element's own channel scale, and their float32 neighbours.
    k = rng.integers(qmin - 3, qmax + 3, n)
    ties = ((k + 0.5) * sb.astype(np.float64)).astype(f32)
    pick = rng.integers(0, 3, n)
    x = np.where(pick == 0, ties, np.where(pick == 1, np.nextafter(ties, f32(np.inf)), np.nextafter(ties, f32(-np.inf))))
    x[:4] = np.array([0.0, -0.0, 1e6, -1e6], dtype=f32)
    x = x.astype(f32)
    t = torch.fake_quantize_per_channel_affine(
        torch.from_numpy(x.reshape(shape)), torch.from_numpy(s), torch.zeros(len(s), dtype=torch.int32), axis, qmin, qmax
    ).numpy().reshape(-1)
    spec = spec_fake_quant(x, sb, qmin, qmax)
    differs = np.nonzero(spec.view(np.uint32) != t.view(np.uint32))[0]
    return {
        "dtype": dtype,
        "qmin": qmin,
        "qmax": qmax,
        "shape": list(shape),
        "axis": axis,
        "scale": hexes(s),
        "x": hexes(x),
        "torch": hexes(t),
        "spec": hexes(spec),
        "differs": [int(i) for i in differs],
    }


def non_finite_case():
    qmin, qmax = RANGES["qint8"]
    x = np.array([np.inf, -np.inf, np.nan, 1e30, -1e30, 5.0], dtype=f32)
    t = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), 0.5, 0, qmin, qmax).numpy()
    return {"dtype": "qint8", "qmin": qmin, "qmax": qmax, "scale": hexes([0.5])[0], "x": hexes(x), "torch": hexes(t)}


def lsq_case(dtype, scales, shape, axis, rng):
    """PyTorch's learnable fake quantization backward, for the LSQ gradient (random inputs, no ties)."""
    qmin, qmax = RANGES[dtype]
    s = np.asarray(scales, dtype=f32)
    n = int(np.prod(shape))
    smax = float(s.max())
    x = (rng.uniform(qmin * 1.1, qmax * 1.1, n) * smax).astype(f32).reshape(shape)
    dy = rng.normal(size=shape).astype(f32)
    grad_factor = 1.0 / np.sqrt(n * qmax)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    st = torch.from_numpy(s.copy()).requires_grad_(True)
    if axis is None:
        zp = torch.zeros(1, dtype=torch.float32)
        y = torch._fake_quantize_learnable_per_tensor_affine(xt, st, zp, qmin, qmax, grad_factor)
    else:
        zp = torch.zeros(len(s), dtype=torch.float32)
        y = torch._fake_quantize_learnable_per_channel_affine(xt, st, zp, axis, qmin, qmax, grad_factor)
    y.backward(torch.from_numpy(dy))
    return {
        "dtype": dtype,
        "qmin": qmin,
        "qmax": qmax,
        "shape": list(shape),
        "axis": axis,
        "scale": hexes(s),
        "gradFactor": float(grad_factor),
        "x": hexes(x),
        "dy": hexes(dy),
        "dx": hexes(xt.grad.numpy()),
        "dscale": [float(v) for v in st.grad.numpy()],
    }


def main():
    rng = np.random.default_rng(20240611)
    per_tensor = [
        per_tensor_case("qint8", 0.5, rng),
        per_tensor_case("qint8", 2.0**-7, rng),
        per_tensor_case("qint8", 0.1, rng),
        per_tensor_case("qint8", 1.2742864, rng),
        per_tensor_case("qint8", 0.0123, rng),
        per_tensor_case("qint16", 2.0**-12, rng),
        per_tensor_case("qint16", 3.3e-4, rng),
        per_tensor_case("qint16", 0.7, rng),
    ]
    per_channel = [
        per_channel_case("qint8", [0.5, 0.1, 0.0123, 1.2742864], [4, 3, 5], 0, rng),
        per_channel_case("qint8", [2.0**-7, 0.33, 0.071], [2, 3, 4], 1, rng),
        per_channel_case("qint16", [2.0**-12, 3.3e-4, 0.7], [5, 3], 1, rng),
    ]
    lsq = [
        lsq_case("qint8", [0.05], [64], None, rng),
        lsq_case("qint8", [0.05, 0.02, 0.11], [3, 16], 0, rng),
        lsq_case("qint16", [1e-3], [40], None, rng),
    ]
    out = {
        "generator": "packages/qtensor/testdata/make_golden.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "perTensor": per_tensor,
        "perChannel": per_channel,
        "nonFinite": non_finite_case(),
        "lsq": lsq,
    }
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    total = sum(len(c["x"]) for c in per_tensor + per_channel)
    differs = sum(len(c["differs"]) for c in per_tensor + per_channel)
    print(f"wrote {OUT}: {total} values, {differs} where PyTorch differs from SPEC.md")


if __name__ == "__main__":
    main()
