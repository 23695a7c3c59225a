"""Writes rand_augment_golden.json: torchvision 0.14's RandAugment ops on small uint8 images.

Run with Debian bookworm's python3-torch (1.13) and python3-torchvision (0.14.1):
    /usr/bin/python3 make_rand_augment_golden.py > rand_augment_golden.json
"""
import base64
import json
import random

import torch
import torchvision
from torchvision.transforms import InterpolationMode, autoaugment


def b64(t):
    return base64.b64encode(t.contiguous().numpy().tobytes()).decode("ascii")


def images():
    g = torch.Generator().manual_seed(20240611)
    a = torch.randint(0, 256, (3, 16, 16), generator=g, dtype=torch.uint8)
    b = torch.randint(40, 201, (3, 8, 10), generator=g, dtype=torch.uint8)
    c = torch.randint(0, 256, (1, 7, 9), generator=g, dtype=torch.uint8)
    d = torch.randint(0, 256, (3, 32, 32), generator=g, dtype=torch.uint8)
    return {"A": a, "B": b, "C": c, "D": d}


GEOMETRIC = ["ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"]
OPS = GEOMETRIC + ["Brightness", "Color", "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize"]


def random_cases():
    """Arbitrary magnitudes on small images of random size, channels and value range."""
    rnd = random.Random(1)
    g = torch.Generator().manual_seed(7)
    cases = []
    for k in range(6 * len(OPS)):
        op = OPS[k % len(OPS)]
        c, h, w = rnd.choice([1, 3]), rnd.randint(3, 12), rnd.randint(3, 12)
        lo = rnd.randint(0, 200)
        img = torch.randint(lo, rnd.randint(lo + 1, 256), (c, h, w), generator=g, dtype=torch.uint8)
        m = {
            "ShearX": rnd.uniform(-0.35, 0.35), "ShearY": rnd.uniform(-0.35, 0.35),
            "TranslateX": rnd.uniform(-8, 8), "TranslateY": rnd.uniform(-8, 8), "Rotate": rnd.uniform(-40, 40),
            "Posterize": float(rnd.randint(1, 8)), "Solarize": rnd.uniform(0, 255),
            "AutoContrast": 0.0, "Equalize": 0.0,
        }.get(op, rnd.uniform(-0.95, 0.95))
        out = autoaugment._apply_op(img, op, m, interpolation=InterpolationMode.NEAREST, fill=None)
        cases.append({"op": op, "shape": list(img.shape), "magnitude": m, "input": b64(img), "output": b64(out)})
    return cases


def main():
    ra = autoaugment.RandAugment()
    imgs = images()
    cases = []
    for name, img in imgs.items():
        _, h, w = img.shape
        space = ra._augmentation_space(31, (h, w))
        for op, (mags, signed) in space.items():
            if name == "D" and op not in GEOMETRIC:
                continue
            bins = ([9] if name == "D" else [1, 9, 30]) if mags.ndim > 0 else [None]
            for b in bins:
                for sign in ([1, -1] if signed else [1]):
                    m = float(mags[b].item()) if b is not None else 0.0
                    if sign < 0:
                        m *= -1.0
                    out = autoaugment._apply_op(img, op, m, interpolation=InterpolationMode.NEAREST, fill=None)
                    cases.append({"image": name, "op": op, "bin": b, "sign": sign, "magnitude": m, "output": b64(out)})
    print(json.dumps({
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "images": {k: {"shape": list(v.shape), "data": b64(v)} for k, v in imgs.items()},
        "cases": cases,
        "random": random_cases(),
    }, indent=0))


main()
