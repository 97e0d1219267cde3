"""Training parity with PyTorch: trains a vkcnn model.json in PyTorch from
the initial weights of vkcnn runs, on the first batches of MNIST's
training set in file order (strict FP32 on the CPU), with each recipe's
optimizer and learning-rate schedule, and compares the weights at the end
and the rate of every step with vkcnn's. nn's TestTrainingMatchesPyTorch
writes the recipes file and runs it.

  python3 bench/torch_train.py MODEL.json --recipes RECIPES.json [--data data/mnist]

RECIPES.json: {"batch": B, "steps_per_epoch": S, "recipes": [
  {"name": N, "init": vkcnn's initial weights, "epochs": E, "lr": LR,
  "optimizer": {vkcnn's Optimizer}, "schedule": {vkcnn's Schedule},
  "label_smoothing": E, "weights": vkcnn's weights at the end, "rates",
  "losses", "norms": vkcnn's rate, loss and gradient norm before clipping
  of every step, "metrics": vkcnn's monitored validation figure of every
  epoch (a plateau schedule's)}, ...]}

Prints one JSON object a recipe: its name, the largest absolute difference
of a weight, the largest weight, the largest relative difference of a
step's rate, and the relative differences of the first step's loss and
(where the recipe clips) gradient norm.

adam is Keras 2.0's Adam (vkcnn's): written out here, as torch.optim.Adam
adds epsilon to the bias-corrected sqrt(v) instead. The others are
torch.optim's SGD, AdamW and RMSprop, with weight decay in a group of its
own where biases do not decay, and the schedules torch.optim.lr_scheduler's.
ReduceLROnPlateau steps on vkcnn's validation figures (its mode min for the
loss, max for the accuracy), so that its rates are compared on the same
decisions.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_model  # noqa: E402


class KerasAdam(torch.optim.Optimizer):
    """Keras 2.0's Adam: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t), p -= lr_t
    m / (sqrt(v) + eps), with L2 weight decay added to the gradient."""

    def __init__(self, params, lr, betas, eps, weight_decay):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                g = p.grad
                if group["weight_decay"] != 0:
                    g = g.add(p, alpha=group["weight_decay"])
                state = self.state[p]
                if not state:
                    state["t"], state["m"], state["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                state["t"] += 1
                t = state["t"]
                lr_t = np.float32(group["lr"] * math.sqrt(1 - b2 ** t) / (1 - b1 ** t))
                m = state["m"].mul_(b1).add_(g, alpha=1 - b1)
                v = state["v"].mul_(b2).addcmul_(g, g, value=1 - b2)
                p.sub_(float(lr_t) * m / (v.sqrt() + group["eps"]))


def optimizer(model, lr, o):
    name = o.get("name") or "adam"
    wd = o.get("weight_decay", 0.0)
    if o.get("no_decay_bias_bn"):
        groups = [{"params": [p for p in model.parameters() if p.dim() > 1], "weight_decay": wd},
                  {"params": [p for p in model.parameters() if p.dim() <= 1], "weight_decay": 0.0}]
    else:
        groups = [{"params": list(model.parameters()), "weight_decay": wd}]
    if name == "adam":
        return KerasAdam(groups, lr, (o.get("beta1", 0.9), o.get("beta2", 0.999)), o.get("epsilon", 1e-8), wd)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=o.get("momentum", 0.0), nesterov=o.get("nesterov", False))
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=(o["beta1"], o["beta2"]), eps=o["epsilon"])
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, alpha=o["rho"], eps=o["epsilon"])
    sys.exit(f"unknown optimizer {name}")


def schedulers(opt, lr, s, per_epoch, epochs):
    """The schedulers stepped after every step, and those after every
    epoch (ReduceLROnPlateau's step takes the epoch's metric)."""
    sched = torch.optim.lr_scheduler
    name, total = s.get("name") or "constant", per_epoch * epochs
    if name == "onecycle":
        return [sched.OneCycleLR(opt, max_lr=lr, total_steps=total, cycle_momentum=False)], []
    w = min(math.ceil(s.get("warmup_epochs", 0) * per_epoch), total)
    warmup = [sched.LinearLR(opt, start_factor=1 / (w + 1), total_iters=w)] if w > 0 else []
    if name == "cosine":
        cosine = sched.CosineAnnealingLR(opt, T_max=total - w, eta_min=s.get("min_lr", 0.0))
        if warmup:
            return [sched.SequentialLR(opt, [warmup[0], cosine], milestones=[w])], []
        return [cosine], []
    per_epoch_scheds = {
        "constant": lambda: [],
        "step": lambda: [sched.StepLR(opt, step_size=s["step_epochs"][0], gamma=s["gamma"])],
        "multistep": lambda: [sched.MultiStepLR(opt, milestones=s["step_epochs"], gamma=s["gamma"])],
        "exponential": lambda: [sched.ExponentialLR(opt, gamma=s["gamma"])],
        "plateau": lambda: [sched.ReduceLROnPlateau(
            opt, mode="min" if s["plateau_monitor"] == "val_loss" else "max", factor=s["plateau_factor"],
            patience=s.get("plateau_patience", 0), threshold=1e-4, threshold_mode="rel", min_lr=s.get("min_lr", 0.0),
            eps=1e-8)],
    }[name]()
    return warmup, per_epoch_scheds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--recipes", required=True)
    ap.add_argument("--data", default="data/mnist")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.backends.mkldnn.enabled = False  # PyTorch's plain FP32 convolutions
    with open(args.model) as f:
        spec = json.load(f)
    with open(args.recipes) as f:
        plan = json.load(f)
    batch, per_epoch = plan["batch"], plan["steps_per_epoch"]
    cpu = torch.device("cpu")
    x = torch_model.images(args.data, "train-images-idx3-ubyte", cpu)[:batch * per_epoch]
    y = torch_model.labels(args.data, "train-labels-idx1-ubyte", cpu)[:batch * per_epoch]
    for r in plan["recipes"]:
        epochs = r["epochs"]
        loss_fn = nn.CrossEntropyLoss(label_smoothing=r.get("label_smoothing", 0.0))
        clip = r["optimizer"].get("clip_norm", 0.0)
        model, weighted = torch_model.build(spec)
        torch_model.load_weights(weighted, r["init"])
        opt = optimizer(model, r["lr"], r["optimizer"])
        per_step, per_epoch_scheds = schedulers(opt, r["lr"], r["schedule"], per_epoch, epochs)
        rates, losses, norms = [], [], []
        for e in range(epochs):
            for s in range(per_epoch):
                rates.append(opt.param_groups[0]["lr"])
                xb, yb = x[s * batch:(s + 1) * batch], y[s * batch:(s + 1) * batch]
                opt.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                losses.append(loss.item())
                if clip > 0:
                    norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), clip).item())
                opt.step()
                for sc in per_step:
                    sc.step()
            for sc in per_epoch_scheds:
                if isinstance(sc, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    sc.step(r["metrics"][e])
                else:
                    sc.step()
        vk_model, vk_weighted = torch_model.build(spec)
        torch_model.load_weights(vk_weighted, r["weights"])
        diff = max((a - b).abs().max().item() for a, b in zip(model.parameters(), vk_model.parameters()))
        biggest = max(a.abs().max().item() for a in model.parameters())
        rate_diff = max(abs(a - b) / b for a, b in zip(r["rates"], rates))
        loss_diff = abs(r["losses"][0] - losses[0]) / losses[0]
        norm_diff = abs(r["norms"][0] - norms[0]) / norms[0] if norms else 0.0
        print(json.dumps({"name": r["name"], "max_abs_weight_difference": diff, "max_weight": biggest,
                          "max_rel_rate_difference": rate_diff, "first_loss_rel_difference": loss_diff,
                          "first_norm_rel_difference": norm_diff, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
