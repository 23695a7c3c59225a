"""Golden values for the operators of imported networks, from PyTorch 1.13.

    python3 make_import_golden.py > import_golden.json

Covers resize (every mode / coordinate combination PyTorch's F.interpolate has: nearest, nearest-exact,
bilinear with align_corners True and False, given sizes or scale factors), conv_transpose2d (stride,
padding, output_padding, dilation, groups), replicate / reflect padding, and the leaky / hard activations
and SiLU. Each case stores its inputs, its output and the gradients of sum(output * r) with respect to
each input, where r[i] = ((7 i) mod 11 - 5) / 4 over the flattened output (the test recomputes r).
"""
import json

import torch
import torch.nn.functional as F

torch.manual_seed(2024)
cases = []


def flat(t):
    return [float("%.9g" % v) for v in t.detach().flatten().tolist()]


def add(name, attrs, inputs, fn):
    xs = [t.clone().requires_grad_(True) for t in inputs]
    y = fn(*xs)
    r = torch.tensor([((7 * i) % 11 - 5) / 4 for i in range(y.numel())]).reshape(y.shape)
    grads = torch.autograd.grad((y * r).sum(), xs)
    cases.append({
        "name": name,
        "attrs": attrs,
        "inputs": [{"shape": list(t.shape), "data": flat(t)} for t in inputs],
        "output": {"shape": list(y.shape), "data": flat(y)},
        "grads": [flat(g) for g in grads],
    })


# Resize: F.interpolate and the resize() options it corresponds to.
x = torch.randn(1, 2, 3, 4)
NEAREST = {"mode": "nearest", "coordinateTransformation": "asymmetric", "nearestMode": "floor"}
EXACT = {"mode": "nearest", "coordinateTransformation": "half_pixel", "nearestMode": "round_prefer_ceil"}
CORNERS = {"mode": "linear", "coordinateTransformation": "align_corners"}
HALF = {"mode": "linear", "coordinateTransformation": "half_pixel"}
for size in [(6, 8), (5, 7), (2, 3), (1, 1), (7, 5), (1, 6), (4, 2), (9, 13)]:
    add("resize", {**NEAREST, "size": size}, [x], lambda t: F.interpolate(t, size=size, mode="nearest"))
    add("resize", {**EXACT, "size": size}, [x], lambda t: F.interpolate(t, size=size, mode="nearest-exact"))
    add("resize", {**CORNERS, "size": size}, [x],
        lambda t: F.interpolate(t, size=size, mode="bilinear", align_corners=True))
    add("resize", {**HALF, "size": size}, [x],
        lambda t: F.interpolate(t, size=size, mode="bilinear", align_corners=False))
# Scale factors: the coordinate mapping uses the factor, not output / input (ONNX Resize's scales).
for s in [1.5, 0.5, 2.5, 0.7]:
    size = (int(3 * s), int(4 * s))
    for opts, kw in [(NEAREST, {"mode": "nearest"}), (EXACT, {"mode": "nearest-exact"}),
                     (HALF, {"mode": "bilinear", "align_corners": False})]:
        add("resize", {**opts, "size": size, "scales": [s, s]}, [x],
            lambda t: F.interpolate(t, scale_factor=s, **kw))

# Transposed convolution: x [2, 4, 3, 3], weight [Cin, Cout / groups, kh, kw].
x = torch.randn(2, 4, 3, 3)
for stride, padding, output_padding, dilation, groups, cout, k in [
    (1, 0, 0, 1, 1, 3, (3, 3)),
    (2, 1, 1, 1, 1, 3, (3, 3)),
    (2, 0, 0, 1, 2, 4, (2, 3)),
    (3, 1, 2, 1, 1, 2, (3, 3)),
    (1, 1, 0, 2, 4, 4, (3, 3)),
    (2, 2, 1, 2, 2, 6, (3, 2)),
    (1, 0, 1, 2, 1, 2, (2, 2)),
    ((2, 1), (1, 0), (1, 0), (1, 2), 1, 3, (3, 3)),
]:
    w = torch.randn(4, cout // groups, *k)
    attrs = {"stride": stride, "padding": padding, "outputPadding": output_padding, "dilation": dilation,
             "groups": groups}
    add("convTranspose2d", attrs, [x, w], lambda a, b: F.conv_transpose2d(
        a, b, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups))

# Replicate / reflect padding of the two spatial axes: F.pad's (left, right, top, bottom).
x = torch.randn(1, 2, 3, 4)
for mode, edge in [("replicate", "edge"), ("reflect", "reflect")]:
    for p in [(1, 2, 2, 0), (3, 0, 1, 2), (0, 0, 2, 2), (2, 3, 0, 1)]:
        add("padMode", {"mode": edge, "pads": [[0, 0], [0, 0], [p[2], p[3]], [p[0], p[1]]]}, [x],
            lambda t: F.pad(t, p, mode=mode))

# Activations, on the kinks and around them.
x = torch.cat([torch.tensor([-4.0, -3.0, -2.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.5, 3.0, 4.0]), torch.randn(9) * 3])
add("leakyRelu", {"alpha": 0.01}, [x], lambda t: F.leaky_relu(t))
add("leakyRelu", {"alpha": 0.2}, [x], lambda t: F.leaky_relu(t, 0.2))
add("hardSigmoid", {"alpha": 1 / 6, "beta": 0.5}, [x], lambda t: F.hardsigmoid(t))
# Element by element, so that every value takes ATen's reference kernel: its gradient is x / 3 + 1/2 on the
# closed [-3, 3] (-1/2 at -3, 3/2 at 3), while 1.13's vectorized CPU kernel gives 1 at exactly 3.
add("hardSwish", {}, [x], lambda t: torch.cat([F.hardswish(v.reshape(1)) for v in t]))
add("silu", {}, [x], lambda t: F.silu(t))

print(json.dumps({"torch": torch.__version__, "cases": cases}))
