"""Makes the MobileNetV2 fixture: torchvision 0.14 weights (with trained-looking BN statistics) as
safetensors, a batch of inputs as .npy, and PyTorch's eval-mode logits as .npy.

Run with Debian's python3-torch and python3-torchvision:  python3 make_mobilenet_fixture.py
"""
import json
import struct
from collections import OrderedDict

import numpy as np
import torch
from torchvision.models.mobilenetv2 import MobileNetV2

DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def write_safetensors(path, state):
    header, blobs, offset = OrderedDict(), [], 0
    for name, t in state.items():
        data = t.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


torch.manual_seed(0)
model = MobileNetV2(num_classes=10)
# A few training-mode passes give non-trivial running statistics.
model.train()
with torch.no_grad():
    for _ in range(3):
        model(torch.randn(16, 3, 32, 32))
    # Perturb BN affine parameters so that they are not the init values.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.add_(0.1 * torch.randn_like(m.weight))
            m.bias.add_(0.1 * torch.randn_like(m.bias))
    model.classifier[1].weight.mul_(30)
model.eval()
x = torch.randn(4, 3, 32, 32)
with torch.no_grad():
    y = model(x)
write_safetensors("mobilenet_v2_c10.safetensors", model.state_dict())
np.save("mobilenet_v2_input.npy", x.numpy())
np.save("mobilenet_v2_logits.npy", y.numpy())
print("keys", len(model.state_dict()), "logits", y[0, :4].tolist())
