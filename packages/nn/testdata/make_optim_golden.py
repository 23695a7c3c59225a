#!/usr/bin/python3
"""Writes `optim_golden.json` beside this script from PyTorch 1.13 (`torch.optim`, `torch.nn.init`).

Run with `/usr/bin/python3 make_optim_golden.py`; the output is committed, so this runs only when a case
changes. Sections:

* `optimizers`: for each case, the optimizer and its hyperparameters, the initial float32 parameters
  (`w` of shape [2, 3], `b` of shape [3], `c` of shape [5, 7]: 35 elements, so PyTorch's vectorized
  kernels run on part of it) and, for each of 5 steps, the learning rate set on the group
  before the step (or null to keep the constructor's), the gradients fed to the step (those of the
  quadratic loss `sum(0.5 * a * (p - c)^2)` at the current parameters), the parameters after the step and
  the optimizer's state tensors after the step (`momentum_buffer`, `exp_avg`, `exp_avg_sq`,
  `max_exp_avg_sq`, and `step`).
* `schedules`: for each case, the scheduler and its options, the base learning rate, and the learning
  rate (`get_last_lr()[0]`) at steps 0..n-1, the scheduler stepped once after each optimizer step.
* `init`: `torch.nn.init` gains, fans, and the bound (uniform) or standard deviation (normal) that each
  initializer uses for a given shape and options, from PyTorch's own helpers.
"""
import json
import math
import os
import warnings

import torch
from torch.nn import init
from torch.optim import lr_scheduler

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 5

torch.manual_seed(1234)
SHAPES = {"w": (2, 3), "b": (3,), "c": (5, 7)}
INITIAL = {k: torch.randn(s) for k, s in SHAPES.items()}
CURVATURE = {k: torch.rand(s) * 2 + 0.5 for k, s in SHAPES.items()}
TARGET = {k: torch.randn(s) for k, s in SHAPES.items()}


def as_list(t):
    return t.reshape(-1).tolist()


def tensors_json(d):
    return {k: {"shape": list(v.shape), "data": as_list(v)} for k, v in d.items()}


OPTIMIZERS = [
    ("sgd plain", "sgd", {"lr": 0.1}, None),
    ("sgd momentum", "sgd", {"lr": 0.1, "momentum": 0.9}, None),
    ("sgd momentum dampening weight decay", "sgd",
     {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}, [0.05, 0.04, 0.03, 0.02, 0.01]),
    ("sgd nesterov weight decay", "sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
     None),
    ("sgd weight decay no momentum", "sgd", {"lr": 0.2, "weight_decay": 0.05}, None),
    ("adam default", "adam", {"lr": 0.01}, None),
    ("adam weight decay", "adam", {"lr": 0.05, "betas": [0.8, 0.9], "eps": 1e-6, "weight_decay": 0.1},
     [0.05, 0.1, 0.1, 0.02, 0.01]),
    ("adam amsgrad weight decay", "adam",
     {"lr": 0.3, "betas": [0.9, 0.5], "weight_decay": 0.01, "amsgrad": True}, None),
    ("adamw", "adamw", {"lr": 0.05, "weight_decay": 0.1}, None),
    ("adamw amsgrad", "adamw", {"lr": 0.3, "betas": [0.85, 0.5], "weight_decay": 0.05, "amsgrad": True},
     [0.3, 0.2, 0.2, 0.1, 0.05]),
]

CONSTRUCTORS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def run_optimizer(name, kind, options, lrs):
    params = {k: v.clone().requires_grad_(True) for k, v in INITIAL.items()}
    kwargs = dict(options)
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    opt = CONSTRUCTORS[kind](list(params.values()), **kwargs)
    steps = []
    for i in range(STEPS):
        opt.zero_grad()
        loss = sum((0.5 * CURVATURE[k] * (p - TARGET[k]) ** 2).sum() for k, p in params.items())
        loss.backward()
        grads = {k: p.grad.detach().clone() for k, p in params.items()}
        lr = None if lrs is None else lrs[i]
        if lr is not None:
            opt.param_groups[0]["lr"] = lr
        opt.step()
        state = {}
        step = None
        for k, p in params.items():
            for slot, value in opt.state[p].items():
                if slot == "step":
                    step = float(value)
                elif value is not None:
                    state[f"{slot}.{k}"] = value.detach().clone()
        steps.append({
            "lr": lr,
            "grads": tensors_json(grads),
            "params": tensors_json({k: p.detach() for k, p in params.items()}),
            "state": tensors_json(state),
            "step": step,
        })
    if options.get("amsgrad"):
        last = steps[-1]["state"]
        assert any(a != b for a, b in zip(last["max_exp_avg_sq.w"]["data"], last["exp_avg_sq.w"]["data"])), \
            f"{name}: amsgrad's maximum never differs from exp_avg_sq"
    return {"name": name, "optimizer": kind, "options": options,
            "initial": tensors_json(INITIAL), "steps": steps}


def make_scheduler(opt, kind, options):
    if kind == "stepLR":
        return lr_scheduler.StepLR(opt, step_size=options["stepSize"], gamma=options["gamma"])
    if kind == "multiStepLR":
        return lr_scheduler.MultiStepLR(opt, milestones=options["milestones"], gamma=options["gamma"])
    if kind == "cosineAnnealing":
        return lr_scheduler.CosineAnnealingLR(opt, T_max=options["tMax"], eta_min=options["etaMin"])
    if kind == "linearWarmup":
        return lr_scheduler.LinearLR(opt, start_factor=options["startFactor"], end_factor=1.0,
                                     total_iters=options["warmupSteps"])
    if kind == "warmupCosine":
        warm = options["warmupSteps"]
        first = lr_scheduler.LinearLR(opt, start_factor=options["startFactor"], end_factor=1.0, total_iters=warm)
        second = lr_scheduler.CosineAnnealingLR(opt, T_max=options["totalSteps"] - warm, eta_min=options["etaMin"])
        return lr_scheduler.SequentialLR(opt, [first, second], milestones=[warm])
    raise ValueError(kind)


SCHEDULES = [
    ("stepLR", {"stepSize": 3, "gamma": 0.1}, 0.1, 12),
    ("multiStepLR", {"milestones": [2, 5, 9], "gamma": 0.5}, 0.4, 12),
    ("cosineAnnealing", {"tMax": 10, "etaMin": 0.0}, 0.1, 11),
    ("cosineAnnealing", {"tMax": 7, "etaMin": 1e-3}, 0.05, 8),
    ("linearWarmup", {"warmupSteps": 5, "startFactor": 0.1}, 0.2, 9),
    ("warmupCosine", {"warmupSteps": 3, "startFactor": 0.01, "totalSteps": 13, "etaMin": 1e-4}, 0.1, 14),
]


def run_schedule(kind, options, base_lr, n):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make_scheduler(opt, kind, options)
    lrs = []
    for _ in range(n):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return {"schedule": kind, "options": options, "baseLr": base_lr, "lrs": lrs}


INIT_CASES = [
    ("kaimingUniform", [16, 3, 3, 3], {"mode": "fan_in", "nonlinearity": "leaky_relu", "a": 0.0}),
    ("kaimingUniform", [32, 8, 3, 3], {"mode": "fan_out", "nonlinearity": "relu", "a": 0.0}),
    ("kaimingUniform", [64, 16], {"mode": "fan_in", "nonlinearity": "leaky_relu", "a": math.sqrt(5)}),
    ("kaimingNormal", [32, 8, 3, 3], {"mode": "fan_out", "nonlinearity": "relu", "a": 0.0}),
    ("kaimingNormal", [50, 40], {"mode": "fan_in", "nonlinearity": "tanh", "a": 0.0}),
    ("kaimingNormal", [24, 6, 5, 5], {"mode": "fan_in", "nonlinearity": "leaky_relu", "a": 0.2}),
    ("xavierUniform", [30, 20], {"gain": 1.0}),
    ("xavierUniform", [16, 4, 3, 3], {"gain": math.sqrt(2)}),
    ("xavierNormal", [30, 20], {"gain": 1.0}),
    ("xavierNormal", [8, 6, 2, 2], {"gain": 0.5}),
]

GAIN_CASES = [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
              ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]


def run_init(kind, shape, options):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(torch.empty(shape))
    if kind.startswith("kaiming"):
        fan = init._calculate_correct_fan(torch.empty(shape), options["mode"])
        std = init.calculate_gain(options["nonlinearity"], options["a"]) / math.sqrt(fan)
    else:
        std = options["gain"] * math.sqrt(2.0 / float(fan_in + fan_out))
    out = {"init": kind, "shape": shape, "options": options, "fanIn": fan_in, "fanOut": fan_out}
    if kind.endswith("Uniform"):
        out["bound"] = math.sqrt(3.0) * std
    else:
        out["std"] = std
    return out


def default_layer_bounds(shape):
    weight = torch.empty(shape)
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
    gain = init.calculate_gain("leaky_relu", math.sqrt(5))
    return {"shape": shape, "weightBound": math.sqrt(3.0) * gain / math.sqrt(fan_in),
            "biasBound": 1 / math.sqrt(fan_in)}


def main():
    warnings.simplefilter("ignore")
    out = {
        "torch": torch.__version__,
        "optimizers": [run_optimizer(*c) for c in OPTIMIZERS],
        "schedules": [run_schedule(*c) for c in SCHEDULES],
        "init": {
            "gains": [{"nonlinearity": n, "param": p, "gain": init.calculate_gain(n, p)} for n, p in GAIN_CASES],
            "cases": [run_init(*c) for c in INIT_CASES],
            "defaultLayers": [default_layer_bounds(s) for s in ([16, 3, 3, 3], [10, 64], [8, 1, 3, 3])],
        },
    }
    with open(os.path.join(HERE, "optim_golden.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
