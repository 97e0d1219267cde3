"""Builds a vkcnn model.json as a PyTorch network and trains it on MNIST the
way vkcnn does (Glorot-uniform kernels, zero biases, Adam with Keras 2.0's
defaults, inputs scaled to [0, 1]), for side-by-side comparisons on the same
machine. Debian's python3-torch; no other dependency.

  python3 bench/torch_model.py MODEL.json [--epochs 1] [--steps N] [--batch-size 64]
      [--lr 5e-4] [--threads 2] [--data data/mnist] [--seed 1]

Prints one JSON object: images/s of training (after one warm-up step), and
with whole epochs the test loss and accuracy.

  python3 bench/torch_model.py RUN/model.json --weights RUN/weights.safetensors
      --logits LOGITS.npy [--data data/mnist]

instead loads a vkcnn run's weights (batch normalization's moving
statistics too) into the PyTorch network and compares its test-set logits
in evaluation mode with those `vkcnn eval --run RUN --logits LOGITS.npy`
wrote: one JSON object with the largest difference and both accuracies.
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
    """The network, and for each vkcnn layer with weights: its module, its
    name and, on a flattened vector, the vkcnn feature of each of PyTorch's
    features (None: the same)."""
    h, w, c = spec["input_shape"]
    layers, weighted, perm = [], [], None
    for layer in spec["layers"]:
        t = layer["type"]
        name = layer.get("name")
        if t == "conv2d":
            k = layer["kernel_size"]
            conv = nn.Conv2d(c, layer["filters"], k, padding=k // 2)
            layers.append(conv)
            weighted.append((conv, name, None))
            c = layer["filters"]
        elif t in ("maxpool2d", "avgpool2d"):
            layers.append(nn.MaxPool2d(2) if t == "maxpool2d" else nn.AvgPool2d(2))
            h, w = h // 2, w // 2
        elif t == "flatten":
            # vkcnn flattens NHWC, PyTorch NCHW; the order does not change
            # the cost, and load_weights reorders what the vector meets.
            layers.append(nn.Flatten())
            perm = np.arange(h * w * c).reshape(h, w, c).transpose(2, 0, 1).reshape(-1)
            c, h, w = c * h * w, 1, 1
        elif t == "dense":
            dense = nn.Linear(c, layer["units"])
            layers.append(dense)
            weighted.append((dense, name, perm))
            c, perm = layer["units"], None
        elif t == "batchnorm":
            # Keras' epsilon and momentum (PyTorch's momentum weighs the new
            # value); PyTorch's running statistics are neither debiased nor
            # Keras' n / (n - 1 - eps), which only evaluation-time
            # comparisons can ignore.
            bn = (nn.BatchNorm1d if h == w == 1 else nn.BatchNorm2d)(c, eps=1e-3, momentum=0.01)
            layers.append(bn)
            weighted.append((bn, name, perm))
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
    return model, weighted


def read_safetensors(path):
    """A safetensors file's F32 tensors by name, as numpy arrays."""
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + begin:8 + n + end], np.float32).reshape(t["shape"])
    return out


def load_weights(weighted, path):
    """Puts a vkcnn weights file into the network, in PyTorch's layouts."""
    tensors = read_safetensors(path)

    def tensor(name, key, perm=None):
        if name is None:
            sys.exit("the model.json has unnamed layers: use the run folder's")
        v = tensors[f"{name}.{key}"]
        return torch.from_numpy(np.array(v if perm is None else v[perm]))

    with torch.no_grad():
        for module, name, perm in weighted:
            if isinstance(module, nn.Conv2d):
                module.weight.copy_(tensor(name, "kernel").permute(3, 2, 0, 1))  # HWIO to OIHW
                module.bias.copy_(tensor(name, "bias"))
            elif isinstance(module, nn.Linear):
                module.weight.copy_(tensor(name, "kernel", perm).T)  # [in, out] to [out, in]
                module.bias.copy_(tensor(name, "bias"))
            else:
                for attr, key in (("weight", "gamma"), ("bias", "beta"),
                                  ("running_mean", "moving_mean"), ("running_var", "moving_variance")):
                    getattr(module, attr).copy_(tensor(name, key, perm))


def compare(model, weighted, args):
    """Test-set logits of the network with a vkcnn run's weights, in
    evaluation mode, beside vkcnn's."""
    load_weights(weighted, args.weights)
    tx = torch.from_numpy(load(args.data, "t10k-images-idx3-ubyte").astype(np.float32) / 255).unsqueeze(1)
    ty = load(args.data, "t10k-labels-idx1-ubyte").astype(np.int64)
    model.eval()
    with torch.no_grad():
        ours = torch.cat([model(tx[i:i + 500]) for i in range(0, len(ty), 500)]).numpy()
    theirs = np.load(args.logits)
    if theirs.shape != ours.shape:
        sys.exit(f"{args.logits}: shape {theirs.shape}, want {ours.shape}")
    print(json.dumps({"torch": torch.__version__,
                      "max_abs_logit_difference": float(np.abs(ours - theirs).max()),
                      "max_abs_logit": float(np.abs(theirs).max()),
                      "same_predictions": float((ours.argmax(1) == theirs.argmax(1)).mean()),
                      "torch_test_accuracy": float((ours.argmax(1) == ty).mean()),
                      "vkcnn_test_accuracy": float((theirs.argmax(1) == ty).mean())}))


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
    ap.add_argument("--weights", help="a vkcnn run's weights.safetensors: compare instead of training")
    ap.add_argument("--logits", help="with --weights: the logits vkcnn eval --logits wrote")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(args.model) as f:
        model, weighted = build(json.load(f))
    if args.weights:
        if not args.logits:
            sys.exit("--weights needs --logits")
        compare(model, weighted, args)
        return
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
