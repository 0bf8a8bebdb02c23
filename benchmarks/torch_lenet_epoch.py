"""PyTorch eager: one epoch of the seed LeNet on real MNIST, the whole process timed by the caller.

The yardstick for `handwritten train --preset fast` (time to 99%): start, read MNIST, train one
epoch (seed recipe: Nesterov lr 0.01, momentum 0.9, weight decay 5e-4, batch 64), evaluate on
the 10,000 test images. The model is ../shared/bench/torch_lenet_reference.py's. Not a project
dependency: run it with a separate interpreter that has torch (benchmarks/README.md).

usage: python torch_lenet_epoch.py [--data DIR] [--batch-size 64] [--epochs 1]
prints one JSON line: {"framework": "torch-eager", "test_accuracy": ..., "seconds": ...}
("seconds" counts from this script's first line to the end of the evaluation).
"""

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

MEAN, STD = 0.1307, 0.3081


def read_idx(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def split(directory: Path, prefix: str) -> tuple[torch.Tensor, torch.Tensor]:
    images = read_idx(directory / f"{prefix}-images-idx3-ubyte")
    labels = read_idx(directory / f"{prefix}-labels-idx1-ubyte")
    x = (torch.from_numpy(images.astype(np.float32) / 255.0) - MEAN) / STD
    return x.unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def seed_lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.MaxPool2d(2),
        nn.Conv2d(20, 50, 5), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10),
    )  # fmt: skip


def main() -> None:
    default_data = os.environ.get("HANDWRITTEN_DATA_DIR", "~/.cache/handwritten/mnist")
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path(default_data).expanduser())
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    train_x, train_y = split(args.data, "train")
    test_x, test_y = split(args.data, "t10k")
    model = seed_lenet()
    opt = torch.optim.SGD(
        model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4
    )
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(args.epochs):
        order = torch.randperm(len(train_x))
        for start in range(0, len(train_x) - args.batch_size + 1, args.batch_size):
            ids = order[start : start + args.batch_size]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(train_x[ids]), train_y[ids]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        correct = sum(
            int((model(test_x[i : i + 1000]).argmax(1) == test_y[i : i + 1000]).sum())
            for i in range(0, len(test_x), 1000)
        )
    print(
        json.dumps(
            {
                "framework": "torch-eager",
                "arch": "lenet",
                "torch_version": torch.__version__,
                "threads": torch.get_num_threads(),
                "batch_size": args.batch_size,
                "epochs": args.epochs,
                "test_accuracy": correct / len(test_x),
                "seconds": round(time.perf_counter() - STARTED, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
