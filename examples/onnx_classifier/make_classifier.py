#!/usr/bin/env python3
"""Writes classifier.onnx: a small classifier in the style of the networks people import — MobileNetV3 and
EfficientNet blocks — for the [N, 3, 32, 32] batches of hqat's Fashion-MNIST and CIFAR-10 pipelines, 10
classes. Untrained weights (fixed seed): hqat trains it.

    /usr/bin/python3 examples/onnx_classifier/make_classifier.py   (PyTorch 1.13, onnx 1.12)

The network: a stride-2 stem with hard-swish; a MobileNetV3 inverted residual (1x1 expand, depthwise 3x3,
squeeze-excitation with a hard-sigmoid gate, 1x1 projection, residual add); a stride-2 EfficientNet MBConv
(SiLU, squeeze-excitation with a sigmoid gate); a second MobileNetV3 residual block; a 1x1 head with
hard-swish, global average pooling and a Linear classifier. 15,050 parameters,
1.1 M multiply-adds per image.

Exported at opset 14 (the first with HardSwish) with a dynamic batch axis, batch norm kept as its own layer
and PyTorch's module names as the state names (TrainingMode.PRESERVE, no constant folding), so hqat fine-tunes
every layer and its checkpoints use the names of the PyTorch state_dict.

Batch-norm layers start from slightly perturbed values (weight 1, bias 0, mean 0, variance 1, each plus noise
of 0.01): PyTorch's export merges initializers whose values are identical, and the freshly initialized batch
norms of equal width would otherwise leave the file with one shared set of initializers (reached through
Identity nodes) for several layers, which an importer reads as one layer used several times.
"""
import os

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def conv_bn(cin, cout, k=1, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout))


class SqueezeExcite(nn.Module):
    def __init__(self, c, r, act, gate):
        super().__init__()
        self.fc1 = nn.Conv2d(c, r, 1)
        self.fc2 = nn.Conv2d(r, c, 1)
        self.act = act
        self.gate = gate

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.fc2(self.act(self.fc1(s))))


class InvertedResidual(nn.Module):
    """MobileNetV3 / EfficientNet block: expand, depthwise, squeeze-excitation, project (+ residual)."""

    def __init__(self, cin, mid, cout, stride, act, se):
        super().__init__()
        self.expand = conv_bn(cin, mid)
        self.dw = conv_bn(mid, mid, 3, stride, groups=mid)
        self.act = act
        self.se = se
        self.project = conv_bn(mid, cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.act(self.expand(x))
        y = self.act(self.dw(y))
        y = self.project(self.se(y))
        return x + y if self.residual else y


class ImportedClassifier(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, 2)
        self.block1 = InvertedResidual(
            16, 32, 16, 1, nn.Hardswish(), SqueezeExcite(32, 8, nn.ReLU(), nn.Hardsigmoid())
        )
        self.block2 = InvertedResidual(16, 48, 24, 2, nn.SiLU(), SqueezeExcite(48, 8, nn.SiLU(), nn.Sigmoid()))
        self.block3 = InvertedResidual(
            24, 72, 24, 1, nn.Hardswish(), SqueezeExcite(72, 16, nn.ReLU(), nn.Hardsigmoid())
        )
        self.head = conv_bn(24, 64)
        self.classifier = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.hardswish(self.stem(x))
        x = self.block3(self.block2(self.block1(x)))
        x = F.hardswish(self.head(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def perturb_batch_norms(model, seed):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data += 0.01 * torch.randn(c, generator=g)
            m.bias.data += 0.01 * torch.randn(c, generator=g)
            m.running_mean.data += 0.01 * torch.randn(c, generator=g)
            m.running_var.data += 0.01 * torch.rand(c, generator=g)


def main():
    torch.manual_seed(0)
    model = ImportedClassifier().eval()
    perturb_batch_norms(model, 1)
    path = os.path.join(HERE, "classifier.onnx")
    torch.onnx.export(
        model,
        torch.randn(2, 3, 32, 32),
        path,
        opset_version=14,
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        training=torch.onnx.TrainingMode.PRESERVE,
        do_constant_folding=False,
    )
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    params = sum(p.numel() for p in model.parameters())
    ops = sorted({n.op_type for n in proto.graph.node})
    assert "Identity" not in ops, "initializers were merged by the export"
    print(f"{path}: {os.path.getsize(path)} bytes, {params} parameters, ops {' '.join(ops)}")


if __name__ == "__main__":
    main()
