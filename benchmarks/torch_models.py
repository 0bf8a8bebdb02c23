"""PyTorch eager equivalents of the project's models, for throughput comparisons only.

usage: python torch_models.py --arch {lenet,cnn} [--batch-size 128] [--steps 200]
prints one JSON line like ../shared/bench/torch_lenet_reference.py. Not a project dependency.
"""

import argparse
import json
import os
import time

import torch
from torch import nn


def lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 20, 5),
        nn.MaxPool2d(2),
        nn.Conv2d(20, 50, 5),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(800, 500),
        nn.ReLU(),
        nn.Linear(500, 10),
    )


def cnn() -> nn.Module:
    """handwritten's `cnn`: 3x3 conv/BN/ReLU 32-pool-64-64-pool, dense 256 BN ReLU, dropout."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(7 * 7 * 64, 256, bias=False),
        nn.BatchNorm1d(256),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(256, 10),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", choices=("lenet", "cnn"), default="lenet")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    model = lenet() if args.arch == "lenet" else cnn()
    if args.arch == "lenet":
        opt = torch.optim.SGD(
            model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4
        )
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05 if args.arch == "cnn" else 0.0)
    images = torch.rand(args.batch_size * 8, 1, 28, 28)
    labels = torch.randint(0, 10, (args.batch_size * 8,))

    def step(i: int) -> None:
        j = (i % 8) * args.batch_size
        opt.zero_grad(set_to_none=True)
        loss_fn(model(images[j : j + args.batch_size]), labels[j : j + args.batch_size]).backward()
        opt.step()

    for i in range(args.warmup):
        step(i)
    start = time.perf_counter()
    for i in range(args.steps):
        step(i)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "framework": "torch-eager",
                "arch": args.arch,
                "torch_version": torch.__version__,
                "threads": torch.get_num_threads(),
                "batch_size": args.batch_size,
                "steps": args.steps,
                "images_per_second": round(args.batch_size * args.steps / seconds, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
