"""The baseline: what a notebook does to classify a folder of X-rays, one image at a time.

Standalone on purpose (torch, numpy and Pillow only, nothing from pneumo_desktop): the same
four-block CNN (conv3x3-BN-ReLU-maxpool x4, global average pool, linear; widths 32-64-128-128),
then for every file: Pillow open, convert("L"), resize to 150x150, to a tensor, run the model on
that image alone (batch 1) under ``torch.no_grad()``. Torch defaults throughout: no thread
pinning (unless ``--threads`` is given), no inference_mode, no channels_last, no batching.

Weights are random (timing does not depend on them); ``--weights FILE.pneumo`` loads the first
ensemble member of one of our model files instead, if its widths are 32-64-128-128.

    python bench/plain_loop.py DATA_DIR [--threads N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

START = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402

IMPORTED = time.perf_counter()
SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


class Block(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(cout)
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(self.act(self.norm(self.conv(x))))


class PlainCNN(nn.Module):
    def __init__(self, widths=(32, 64, 128, 128), n_classes=2):
        super().__init__()
        chans = [1, *widths]
        self.blocks = nn.ModuleList(Block(chans[i], chans[i + 1]) for i in range(4))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(widths[-1], n_classes)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.head(self.dropout(torch.flatten(self.pool(x), 1)))


def load_weights(model: PlainCNN, path: str) -> str:
    try:
        from safetensors.torch import load_file

        tensors = load_file(path)
        state = {k[len("member0."):]: v for k, v in tensors.items() if k.startswith("member0.")}
        model.load_state_dict(state, strict=True)
        return f"member 0 of {path}"
    except Exception as exc:  # noqa: BLE001 - timing does not depend on the weights
        return f"random (could not load {path}: {type(exc).__name__})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir")
    parser.add_argument("--threads", type=int, default=None, help="default: torch's own default")
    parser.add_argument("--weights", help="a .pneumo model file whose member 0 has widths 32-64-128-128")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(args.data_dir) for f in fs
                   if os.path.splitext(f)[1].lower() in SUFFIXES)
    torch.manual_seed(0)
    model = PlainCNN()
    weights = load_weights(model, args.weights) if args.weights else "random"
    model.eval()

    loop_start = time.perf_counter()
    predictions = []
    with torch.no_grad():
        for path in files:
            img = Image.open(path).convert("L").resize((150, 150))
            x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)[None, None]
            logits = model(x)
            predictions.append(int(logits.argmax(1)))
    end = time.perf_counter()

    loop_s = end - loop_start
    result = {
        "images": len(files), "loop_s": loop_s, "images_per_s": len(files) / loop_s if loop_s else 0.0,
        "import_s": IMPORTED - START, "since_script_start_s": end - START,
        "threads": torch.get_num_threads(), "weights": weights,
        "n_predicted_abnormal": sum(predictions),
    }
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    print(f"== plain loop (batch 1, torch defaults) ==\nmachine: {cpu}, {os.cpu_count()} logical cores; "
          f"Python {platform.python_version()}, torch {torch.__version__}, {torch.get_num_threads()} torch threads; "
          f"weights {weights}")
    print(f"{'images':<8}{'loop s':>10}{'images/s':>10}{'import torch s':>16}{'script s':>10}")
    print(f"{len(files):<8}{loop_s:>10.2f}{result['images_per_s']:>10.1f}{result['import_s']:>16.2f}"
          f"{result['since_script_start_s']:>10.2f}")
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
