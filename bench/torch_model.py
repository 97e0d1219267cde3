"""Builds a vkcnn model.json as a PyTorch network and trains it on MNIST the
way vkcnn does (Glorot-uniform kernels, zero biases, Adam with Keras 2.0's
defaults, inputs scaled to [0, 1]), for side-by-side comparisons on the same
machine. Debian's python3-torch; no other dependency.

  python3 bench/torch_model.py MODEL.json [--epochs 1] [--steps N] [--batch-size 64]
      [--lr 5e-4] [--threads 2] [--data data/mnist] [--seed 1]

Prints one JSON object: images/s of training (after one warm-up step), and
with whole epochs the test loss and accuracy.
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data_dir, name):
    for suffix in (".gz", ""):
        path = os.path.join(data_dir, name + suffix)
        if os.path.exists(path):
            return read_idx(path)
    sys.exit(f"no {name} in {data_dir}: run ./build.sh data")


def build(spec):
    h, w, c = spec["input_shape"]
    layers = []
    for layer in spec["layers"]:
        t = layer["type"]
        if t == "conv2d":
            k = layer["kernel_size"]
            conv = nn.Conv2d(c, layer["filters"], k, padding=k // 2)
            layers.append(conv)
            c = layer["filters"]
        elif t == "maxpool2d":
            layers.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
        elif t == "flatten":
            # vkcnn flattens NHWC; the order does not change the cost.
            layers.append(nn.Flatten())
            c, h, w = c * h * w, 1, 1
        elif t == "dense":
            layers.append(nn.Linear(c, layer["units"]))
            c = layer["units"]
        elif t == "dropout":
            layers.append(nn.Dropout(layer.get("rate", 0)))
        elif t == "relu":
            layers.append(nn.ReLU())
        if layer.get("activation") == "relu":
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0, help="stop after N steps (timing only)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(args.model) as f:
        model = build(json.load(f))
    x = torch.from_numpy(load(args.data, "train-images-idx3-ubyte").astype(np.float32) / 255).unsqueeze(1)
    y = torch.from_numpy(load(args.data, "train-labels-idx1-ubyte").astype(np.int64))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    loss_fn = nn.CrossEntropyLoss()
    n, b = len(y), args.batch_size
    steps, images, start = 0, 0, None
    for _ in range(args.epochs):
        model.train()
        perm = torch.randperm(n)
        for i in range(0, n, b):
            idx = perm[i:i + b]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            steps += 1
            if start is None:
                start = time.perf_counter()  # after one warm-up step
            else:
                images += len(idx)
            if args.steps and steps > args.steps:
                break
        if args.steps and steps > args.steps:
            break
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "batch": b,
              "train_images_per_second": images / (time.perf_counter() - start)}
    if not args.steps:
        tx = torch.from_numpy(load(args.data, "t10k-images-idx3-ubyte").astype(np.float32) / 255).unsqueeze(1)
        ty = torch.from_numpy(load(args.data, "t10k-labels-idx1-ubyte").astype(np.int64))
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(tx[i:i + 500]) for i in range(0, len(ty), 500)])
        result["test_loss"] = float(loss_fn(logits, ty))
        result["test_accuracy"] = float((logits.argmax(1) == ty).float().mean())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
