"""Golden values for @hqat/tensor's ops from PyTorch 1.13 (python3 make_golden.py > ops_golden.json).

Inputs are small and deterministic (seeded), written with the outputs, so tests need no PyTorch.
"""
import json

import torch
import torch.nn.functional as F

torch.manual_seed(1234)
cases = []


def add(name, inputs, output, **attrs):
    cases.append({
        "name": name,
        "attrs": attrs,
        "inputs": [{"shape": list(t.shape), "data": t.flatten().tolist()} for t in inputs],
        "output": {"shape": list(output.shape), "data": output.flatten().tolist()},
    })


x = torch.randn(2, 3, 7, 6)
for k, s, p, ceil in [(3, 2, 1, False), (3, 2, 1, True), (2, 2, 0, True), (3, 3, 1, True), (2, 1, 1, False)]:
    add("maxPool2d", [x], F.max_pool2d(x, k, s, p, ceil_mode=ceil), kernel=k, stride=s, padding=p, ceilMode=ceil)
    for cip in [True, False]:
        add("avgPool2d", [x], F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=cip),
            kernel=k, stride=s, padding=p, ceilMode=ceil, countIncludePad=cip)
add("adaptiveAvgPool2d", [x[:, :, :6, :6]], F.adaptive_avg_pool2d(x[:, :, :6, :6], 2), outputSize=2)
add("adaptiveAvgPool2d", [x], F.adaptive_avg_pool2d(x, 1), outputSize=1)
g, b = torch.randn(3), torch.randn(3)
add("batchNormTrain", [x, g, b], F.batch_norm(x, None, None, g, b, training=True, eps=1e-5), eps=1e-5)
l = torch.randn(4, 5) * 3
add("logSoftmax", [l], F.log_softmax(l, 1), axis=1)
w = torch.randn(4, 1, 3, 3)
add("conv2d", [x[:, :1], w], F.conv2d(x[:, :1], w, stride=2, padding=1, dilation=1), stride=2, padding=1, dilation=1, groups=1)
wd = torch.randn(3, 1, 3, 3)
add("conv2d", [x, wd], F.conv2d(x, wd, stride=1, padding=2, dilation=2, groups=3), stride=1, padding=2, dilation=2, groups=3)
lab = torch.tensor([1, 4, 0, 2])
add("crossEntropy", [l, lab.float()], F.cross_entropy(l, lab).reshape([1]), labelSmoothing=0.0)
add("crossEntropy", [l, lab.float()], F.cross_entropy(l, lab, label_smoothing=0.1).reshape([1]), labelSmoothing=0.1)
print(json.dumps(cases))
