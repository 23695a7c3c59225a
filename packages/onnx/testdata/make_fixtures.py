#!/usr/bin/env python3
"""Writes the @hqat/onnx test fixtures: small networks in the arrangements real networks use them,
exported by PyTorch at a spread of opsets with a dynamic batch axis, each with an input batch and
PyTorch's output as .npy.

    /usr/bin/python3 packages/onnx/testdata/make_fixtures.py   (PyTorch 1.13, onnx 1.12)

Weights are random (fixed seed); batch-norm statistics are randomized so that folding them matters.
The input batch (3 images) differs from the export batch (2), so the dynamic batch axis is exercised.
manifest.json lists every fixture with its opset and how it was exported.
"""
import io
import json
import os

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
PRESERVE = dict(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)


def randomize_bn(model, seed):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = 1 + 0.2 * torch.randn(c, generator=g)
            m.bias.data = 0.1 * torch.randn(c, generator=g)
            m.running_mean.data = 0.1 * torch.randn(c, generator=g)
            m.running_var.data = 1 + 0.3 * torch.rand(c, generator=g)


def conv_bn(cin, cout, k=3, stride=1, groups=1, dilation=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, dilation * (k // 2), dilation=dilation, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    )


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block with a strided 1x1 downsample."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.downsample(x))


class ResNetTiny(nn.Module):
    """Stem, one basic block, global average pooling, a linear classifier (10 classes, 3x32x32 input)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = nn.Sequential(BasicBlock(8, 16, 2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer1(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


class SqueezeExcite(nn.Module):
    def __init__(self, c, r, gate):
        super().__init__()
        self.fc1 = nn.Conv2d(c, r, 1)
        self.fc2 = nn.Conv2d(r, c, 1)
        self.gate = gate

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.fc2(F.relu(self.fc1(s))))


class MobileNetV3Block(nn.Module):
    """Stem with hard-swish, an inverted residual with depthwise conv, squeeze-excitation (hard-sigmoid
    gate) and a residual add, then a 1x1 head and a classifier."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 8, 3, 2)
        self.expand = conv_bn(8, 16, 1)
        self.dw = conv_bn(16, 16, 3, 1, groups=16)
        self.se = SqueezeExcite(16, 8, nn.Hardsigmoid())
        self.project = conv_bn(16, 8, 1)
        self.head = nn.Conv2d(8, 10, 1)

    def forward(self, x):
        x = F.hardswish(self.stem(x))
        y = F.hardswish(self.expand(x))
        y = F.hardswish(self.dw(y))
        y = self.project(self.se(y))
        x = x + y
        return torch.flatten(F.adaptive_avg_pool2d(self.head(x), 1), 1)


def channel_shuffle(x, groups):
    n, c, h, w = x.size()
    x = x.view(n, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(n, -1, h, w)


class ShuffleBlock(nn.Module):
    """ShuffleNetV2 unit: channel split, a branch of 1x1 / depthwise 3x3 / 1x1, concat, shuffle."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, 2)
        self.branch = nn.Sequential(
            conv_bn(8, 8, 1), nn.ReLU(), conv_bn(8, 8, 3, groups=8), conv_bn(8, 8, 1), nn.ReLU()
        )
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        a, b = torch.split(x, [8, 8], dim=1)
        x = channel_shuffle(torch.cat((a, self.branch(b)), 1), 2)
        x = self.pool(x)
        return self.fc(x.mean([2, 3]))


class MBConv(nn.Module):
    """EfficientNet MBConv: expand (SiLU), depthwise stride 2 with TF-style asymmetric 'same' padding,
    squeeze-excitation with SiLU and a sigmoid gate, projection."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 8, 3, 1)
        self.expand = conv_bn(8, 16, 1)
        self.dw = nn.Conv2d(16, 16, 3, 2, 0, groups=16, bias=False)
        self.dw_bn = nn.BatchNorm2d(16)
        self.se = SqueezeExcite(16, 4, nn.Sigmoid())
        self.se.fc1 = nn.Conv2d(16, 4, 1)
        self.project = conv_bn(16, 12, 1)
        self.fc = nn.Linear(12, 10)

    def forward(self, x):
        x = F.silu(self.stem(x))
        y = F.silu(self.expand(x))
        y = F.pad(y, (0, 1, 0, 1))  # 'same' padding for stride 2: more after than before
        y = F.silu(self.dw_bn(self.dw(y)))
        s = F.silu(self.se.fc1(F.adaptive_avg_pool2d(y, 1)))
        y = y * torch.sigmoid(self.se.fc2(s))
        y = self.project(y)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


class RegNetBlock(nn.Module):
    """RegNet X block: 1x1, grouped 3x3 (group width 4) with dilation, 1x1, residual with projection."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, 2)
        self.a = conv_bn(16, 16, 1)
        self.b = conv_bn(16, 16, 3, 1, groups=4, dilation=2)
        self.c = conv_bn(16, 24, 1)
        self.proj = conv_bn(16, 24, 1)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        y = F.relu(self.a(x))
        y = F.relu(self.b(y))
        x = F.relu(self.c(y) + self.proj(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class SegHead(nn.Module):
    """Encoder at 1/2 and 1/4, bilinear upsampling (align_corners False and True) to the skip's size,
    skip concatenation, per-pixel classes at full resolution."""

    def __init__(self):
        super().__init__()
        self.enc1 = conv_bn(3, 8, 3, 2)
        self.enc2 = conv_bn(8, 16, 3, 2)
        self.fuse = conv_bn(24, 8, 3)
        self.cls = nn.Conv2d(8, 5, 1)

    def forward(self, x):
        f1 = F.relu(self.enc1(x))
        f2 = F.relu(self.enc2(f1))
        up = F.interpolate(f2, size=f1.shape[2:], mode="bilinear", align_corners=False)
        y = F.relu(self.fuse(torch.cat([up, f1], 1)))
        y = self.cls(y)
        return F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=True)


class UNetTiny(nn.Module):
    """Encoder-decoder: max pooling with ceil mode, transposed-conv upsampling, nearest upsampling, pads
    (constant and edge) to the skip's size, skip concatenation."""

    def __init__(self):
        super().__init__()
        self.down1 = conv_bn(3, 8)
        self.down2 = conv_bn(8, 16)
        self.bottom = conv_bn(16, 16)
        self.up1 = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.dec1 = conv_bn(24, 8)
        self.up2 = nn.ConvTranspose2d(8, 8, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.out = nn.Conv2d(16, 3, 1)

    def forward(self, x):
        d1 = F.relu(self.down1(x))  # 15x15
        p1 = F.max_pool2d(d1, 2, ceil_mode=True)  # 8x8
        d2 = F.relu(self.down2(p1))
        p2 = F.max_pool2d(d2, 2)  # 4x4
        b = F.relu(self.bottom(p2))
        u = self.up1(b)  # 8x8
        y = F.relu(self.dec1(torch.cat([u, d2], 1)))
        y = F.interpolate(y, scale_factor=2.0, mode="nearest")  # 16x16
        y = F.pad(y, (0, -1, 0, -1))  # crop to 15x15
        z = self.up2(p1)  # 16x16
        z = F.pad(z[:, :, 1:, 1:], (0, 0, 0, 0))
        y = torch.cat([y, F.pad(z[:, :, :-1, :-1], (1, 0, 1, 0), mode="replicate")[:, :, :15, :15]], 1)
        return self.out(y)


class OpsClassifier(nn.Module):
    """A classifier that uses the remaining operators: Gemm, MatMul, Softmax, ReduceMean, Clip,
    LeakyRelu, Tanh, Sub, Div, Squeeze, Unsqueeze, Flatten, Dropout, max pooling in ceil mode and
    average pooling with and without the padding counted."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.pool2 = nn.AvgPool2d(3, 2, padding=1, count_include_pad=True)
        self.pool3 = nn.AvgPool2d(3, 1, padding=1, count_include_pad=False)
        self.query = nn.Linear(8, 8)
        self.drop = nn.Dropout(0.25)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.leaky_relu(self.conv(x), 0.1)
        x = self.pool3(self.pool2(self.pool1(x)))  # 8x4x4
        x = torch.clamp(x, -1.5, 2.0)
        t = torch.flatten(x, 2).transpose(1, 2)  # tokens [N, 16, 8]
        q = torch.tanh(self.query(t))
        att = torch.softmax(torch.matmul(q, t.transpose(1, 2)) / 8.0, dim=-1)
        t = torch.matmul(att, t)
        m = t.mean(dim=1, keepdim=True)  # [N, 1, 8]
        t = (t - m).unsqueeze(1)  # [N, 1, 16, 8]
        v = torch.squeeze(t.mean(dim=2), 1)  # [N, 8]
        return self.fc(self.drop(v))


class UpsampleNet(nn.Module):
    """Pooling down, nearest upsampling back (ONNX Upsample at opset 9), skip concatenation."""

    def __init__(self):
        super().__init__()
        self.enc = conv_bn(3, 8)
        self.mid = conv_bn(8, 8)
        self.out = nn.Conv2d(16, 4, 3, padding=1)

    def forward(self, x):
        e = F.relu(self.enc(x))
        m = F.relu(self.mid(F.max_pool2d(e, 2)))
        return self.out(torch.cat([F.interpolate(m, scale_factor=2.0, mode="nearest"), e], 1))


FIXTURES = [
    # name, model, opset, input shape (C, H, W), export options
    ("resnet_block", ResNetTiny, 13, (3, 32, 32), "preserve"),
    ("resnet_block_folded", ResNetTiny, 11, (3, 32, 32), "eval"),
    ("mobilenetv3_block", MobileNetV3Block, 14, (3, 32, 32), "eval"),
    ("mobilenetv3_block_opset12", MobileNetV3Block, 12, (3, 32, 32), "preserve"),
    ("shufflenet_block", ShuffleBlock, 12, (3, 32, 32), "eval"),
    ("efficientnet_mbconv", MBConv, 15, (3, 32, 32), "preserve"),
    ("regnet_block", RegNetBlock, 16, (3, 32, 32), "eval"),
    ("seg_head", SegHead, 17, (3, 16, 16), "eval"),
    ("unet", UNetTiny, 11, (3, 15, 15), "eval"),
    ("unet_opset16", UNetTiny, 16, (3, 15, 15), "preserve"),
    ("ops_classifier", OpsClassifier, 13, (3, 32, 32), "training"),
    ("upsample_opset9", UpsampleNet, 9, (3, 12, 12), "eval"),
]


def export(model, opset, shape, mode):
    kw = {"eval": {}, "preserve": PRESERVE}.get(mode)
    if mode == "training":
        # PyTorch's eval export drops Dropout; a training export keeps the node. The classifier has no
        # batch norm, so the export differs from an eval one only there; its training_mode input is
        # then set to false so that runtimes compute inference.
        kw = dict(training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False)
    f = io.BytesIO()
    torch.onnx.export(
        model,
        torch.randn(2, *shape),
        f,
        opset_version=opset,
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        **kw,
    )
    proto = onnx.load_from_string(f.getvalue())
    if mode == "training":
        inference_dropout(proto)
    onnx.checker.check_model(proto)
    return proto


def inference_dropout(proto):
    consts = {n.output[0]: n for n in proto.graph.node if n.op_type == "Constant"}
    for n in proto.graph.node:
        if n.op_type == "Dropout" and len(n.input) > 2:
            t = consts[n.input[2]].attribute[0].t
            t.CopyFrom(onnx.numpy_helper.from_array(np.array(False), t.name))


def main():
    manifest = []
    for i, (name, cls, opset, shape, mode) in enumerate(FIXTURES):
        torch.manual_seed(100 + i)
        model = cls()
        randomize_bn(model, 200 + i)
        model.eval()
        proto = export(model, opset, shape, mode)
        x = torch.randn(3, *shape, generator=torch.Generator().manual_seed(300 + i))
        with torch.no_grad():
            y = model(x)
        onnx.save(proto, os.path.join(HERE, f"{name}.onnx"))
        np.save(os.path.join(HERE, f"{name}.input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(HERE, f"{name}.output.npy"), y.numpy().astype(np.float32))
        ops = sorted({n.op_type for n in proto.graph.node})
        manifest.append({"name": name, "opset": opset, "export": mode, "ops": ops})
        size = os.path.getsize(os.path.join(HERE, f"{name}.onnx"))
        print(f"{name}: opset {opset}, {mode}, {size} bytes, output {list(y.shape)}, ops {' '.join(ops)}")
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
