"""The PyTorch side of `deno task bench:compare`: the same MobileNetV2-CIFAR steps that hqat's benches time,
in images per second, printed as one JSON object on stdout.

    /usr/bin/python3 bench/torch_steps.py [--threads 2] [--only NAME,...] [--quick]
    /usr/bin/python3 bench/torch_steps.py --rss-train 256     # max RSS (KiB) of batch-256 training steps

Figures (names shared with bench/compare.ts): float_train_64, float_train_256 (forward, cross-entropy,
backward, Adam with weight decay), qat_train_64, qat_train_256 (FX prepare_qat_fx with the engine's default
QAT qconfig, the same step), float_eval_256 (eval mode, no_grad), int8_eval_256 (FX convert_fx of the
calibrated model on the quantized engine). Each is the median step time over several steps after a warm-up (at least 3 steps and 1.5 s).
The network is torchvision 0.14's MobileNetV2 (written out here so that torchvision is not needed) with 10
classes on 3x32x32 input. Needs Debian's python3-torch; hqat's tests never run this.
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def make_divisible(v, divisor=8):
    nv = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return nv + divisor if nv < 0.9 * v else nv


class ConvBNReLU(nn.Sequential):
    def __init__(self, inp, oup, k=3, stride=1, groups=1):
        super().__init__(
            nn.Conv2d(inp, oup, k, stride, (k - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(oup),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand):
        super().__init__()
        hidden = int(round(inp * expand))
        self.use_res = stride == 1 and inp == oup
        layers = [] if expand == 1 else [ConvBNReLU(inp, hidden, k=1)]
        layers += [ConvBNReLU(hidden, hidden, stride=stride, groups=hidden), nn.Conv2d(hidden, oup, 1, bias=False),
                   nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision 0.14's MobileNetV2 (same layers and initialization), with Quant/DeQuant stubs."""

    def __init__(self, num_classes=10):
        super().__init__()
        setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
                   [6, 320, 1, 1]]
        inp = 32
        layers = [ConvBNReLU(3, inp, stride=2)]
        for t, c, n, s in setting:
            for i in range(n):
                layers.append(InvertedResidual(inp, c, s if i == 0 else 1, t))
                inp = c
        layers.append(ConvBNReLU(inp, 1280, k=1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))
        self.quant = torch.ao.quantization.QuantStub()
        self.dequant = torch.ao.quantization.DeQuantStub()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.features(self.quant(x))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.dequant(self.classifier(x))


def batch(n, seed):
    g = torch.Generator().manual_seed(seed)
    # Pipeline-like input: multiples of 1/128 in [-1, 1).
    x = torch.floor(torch.rand(n, 3, 32, 32, generator=g) * 256) / 128 - 1
    return x, torch.randint(0, 10, (n,), generator=g)


CPU_TIME = False  # --cpu: measure the process's CPU time per step (every thread) instead of the wall clock


# Warm-up before a figure's timed steps, as bench/compare_hqat.ts's WARM_UP: at least 3 steps and 1.5 s.
WARM_UP_CALLS, WARM_UP_S, WARM_UP_MAX = 3, 1.5, 40


def median_ips(n, step, iters):
    t0, c = time.perf_counter(), 0
    while c < WARM_UP_MAX and (c < WARM_UP_CALLS or time.perf_counter() - t0 < WARM_UP_S):
        step()
        c += 1
    clock = time.process_time if CPU_TIME else time.perf_counter
    times = []
    for _ in range(iters):
        t0 = clock()
        step()
        times.append(clock() - t0)
    return n / statistics.median(times)


def train_step_fn(model, n):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-3)
    x, y = batch(n, 1)
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def qat_model(engine):
    from torch.ao.quantization import get_default_qat_qconfig_mapping
    from torch.ao.quantization.quantize_fx import prepare_qat_fx

    torch.backends.quantized.engine = engine
    torch.manual_seed(0)
    model = MobileNetV2().train()
    return prepare_qat_fx(model, get_default_qat_qconfig_mapping(engine), (batch(2, 0)[0],))


def int8_model(engine):
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.backends.quantized.engine = engine
    torch.manual_seed(0)
    model = MobileNetV2().eval()
    prepared = prepare_fx(model, get_default_qconfig_mapping(engine), (batch(2, 0)[0],))
    with torch.no_grad():
        for i in range(4):
            prepared(batch(64, 10 + i)[0])
    return convert_fx(prepared)


def eval_fn(model, n):
    x, _ = batch(n, 5)

    def run():
        with torch.no_grad():
            model(x)

    return run


def engine_name():
    engines = torch.backends.quantized.supported_engines
    for e in ("fbgemm", "x86", "onednn", "qnnpack"):
        if e in engines:
            return e
    raise SystemExit("torch_steps.py: no quantized engine")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--engine", default="")
    ap.add_argument("--rss-train", type=int, default=0)
    ap.add_argument("--cpu", action="store_true")
    a = ap.parse_args()
    global CPU_TIME
    CPU_TIME = a.cpu
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    engine = a.engine or engine_name()
    if a.rss_train:
        step = train_step_fn(MobileNetV2(), a.rss_train)
        for _ in range(3):
            step()
        print(json.dumps({"max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
        return
    iters = (lambda n: 1) if a.quick else (lambda n: 3 if n >= 256 else 5)
    figures = {
        "float_train_64": lambda: median_ips(64, train_step_fn(MobileNetV2(), 64), iters(64)),
        "float_train_256": lambda: median_ips(256, train_step_fn(MobileNetV2(), 256), iters(256)),
        "qat_train_64": lambda: median_ips(64, train_step_fn(qat_model(engine), 64), iters(64)),
        "qat_train_256": lambda: median_ips(256, train_step_fn(qat_model(engine), 256), iters(256)),
        "float_eval_256": lambda: median_ips(256, eval_fn(MobileNetV2().eval(), 256), 2 * iters(64)),
        "int8_eval_256": lambda: median_ips(256, eval_fn(int8_model(engine), 256), 2 * iters(64)),
    }
    only = [s for s in a.only.split(",") if s]
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "engine": engine, "ips": {}}
    for name, fn in figures.items():
        if not only or name in only:
            out["ips"][name] = fn()
            print(f"torch {name}: {out['ips'][name]:.1f} images/s", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
