"""Builds a vkcnn model.json as a PyTorch network and trains it on MNIST the
way vkcnn does (Glorot-uniform kernels, zero biases, Adam with Keras 2.0's
defaults, inputs scaled to [0, 1]), for side-by-side comparisons on the same
machine: on the GPU where PyTorch has CUDA, else on the CPU (Debian's
python3-torch there). No other dependency.

  python3 bench/torch_model.py MODEL.json [--epochs 1] [--steps N] [--batch-size 64]
      [--lr 5e-4] [--threads 2] [--data data/mnist] [--seed 1] [--device cuda|cpu]

Prints one JSON object: images/s of training (after one warm-up step), and
with whole epochs the test loss and accuracy.

  python3 bench/torch_model.py MODEL.json --bench [--batch-size 64] [--steps 200]
      [--warmup 20] [--settings fp32-strict,defaults,amp-bf16,compile]
      [--vkcnn BENCH.json]...

instead times training steps, the data resident on the device, after a
warm-up, in each setting: fp32-strict (TF32 off for cuDNN and matmul),
defaults (PyTorch's: TF32 convolutions), amp-bf16 (autocast to bfloat16)
and compile (torch.compile, PyTorch's defaults), and prints a JSON object a
setting (a setting PyTorch cannot run says why). With --vkcnn, the output
of `vkcnn bench all --json` at the same model and batch (once for each
precision, which the file records), it then prints a table of both step
times, images/s and vkcnn's time over PyTorch's for each setting, beside
the vkcnn precision it pairs with (VKCNN_PRECISION).

  python3 bench/torch_model.py RUN/model.json --weights RUN/weights.safetensors
      --logits LOGITS.npy [--data data/mnist] [--tolerance T]

instead loads a vkcnn run's weights (batch normalization's moving
statistics too) into the PyTorch network and compares its test-set logits
in evaluation mode (strict FP32) with those `vkcnn eval --run RUN --logits
LOGITS.npy` wrote: one JSON object with the largest difference and both
accuracies; with --tolerance, exit status 1 where the largest difference
exceeds T times the largest logit or a prediction differs where vkcnn's two
best logits are not within it.
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


def pair(v):
    """model.json's kernel_size, strides, dilation_rate and pool_size: one
    number for both sides, or [rows, columns]."""
    return (v, v) if isinstance(v, int) else tuple(v)


def zero_padding(v):
    """zeropadding2d's padding: one number, [rows, columns] or [[top, bottom], [left, right]]."""
    if isinstance(v, int):
        return (v, v), (v, v)
    return tuple(x if isinstance(x, list) else (x, x) for x in v)


class Pool(nn.Module):
    """vkcnn's pooling options: pool_size windows at strides, "valid" or
    TensorFlow's "same" (the larger half below and right, which PyTorch's
    symmetric padding cannot say: padded explicitly, with -inf for max;
    an average of the real pixels alone, Keras' and
    count_include_pad=False's, as the padded sum over the padded count)."""

    def __init__(self, kind, h, w, layer):
        super().__init__()
        self.max, self.k = kind == "maxpool2d", pair(layer.get("pool_size", 2))
        self.s = pair(layer.get("strides") or self.k)
        (kh, kw), (sh, sw) = self.k, self.s
        if layer.get("padding", "valid") == "same":
            oh, ow = -(-h // sh), -(-w // sw)
            ph, pw = max((oh - 1) * sh + kh - h, 0), max((ow - 1) * sw + kw - w, 0)
            self.pads = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
        else:
            oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
            self.pads = (0, 0, 0, 0)
        self.out = (oh, ow)

    def forward(self, x):
        if self.max:
            return nn.functional.max_pool2d(nn.functional.pad(x, self.pads, value=float("-inf")), self.k, self.s)
        ones = torch.ones_like(x[:1, :1])
        pooled = nn.functional.avg_pool2d(nn.functional.pad(x, self.pads), self.k, self.s)
        return pooled / nn.functional.avg_pool2d(nn.functional.pad(ones, self.pads), self.k, self.s)


class Join(nn.Module):
    """vkcnn's add (a sum, in the order its inputs are named) or concatenate
    (along the channel axis: NCHW's 1, a vector's features)."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def forward(self, *xs):
        if self.kind == "concatenate":
            return torch.cat(xs, dim=1)
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Graph(nn.Module):
    """vkcnn's layers in order, each reading the tensors it names: 0 the
    input, i + 1 layer i's output; the last layer's is the network's."""

    def __init__(self, layers, inputs):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.inputs = inputs

    def forward(self, x):
        values = [x]
        for layer, inputs in zip(self.layers, self.inputs):
            values.append(layer(*[values[t] for t in inputs]))
        return values[-1]


class HardSigmoidKeras2(nn.Module):
    """Keras 2's hard_sigmoid, clip(0.2 x + 0.5, 0, 1) (PyTorch's Hardsigmoid
    is Keras 3's, relu6(x + 3) / 6)."""

    def forward(self, x):
        return torch.clamp(0.2 * x + 0.5, 0, 1)


def activation(name, alpha):
    """A model.json activation (docs/models.md) as a PyTorch module; alpha is
    leaky_relu's slope (no default) and elu's scale (default 1)."""
    return {
        "relu": nn.ReLU,
        "relu6": nn.ReLU6,
        "leaky_relu": lambda: nn.LeakyReLU(alpha),
        "elu": lambda: nn.ELU(1.0 if alpha is None else alpha),
        "selu": nn.SELU,
        "sigmoid": nn.Sigmoid,
        "hard_sigmoid": HardSigmoidKeras2,
        "hard_sigmoid_keras3": nn.Hardsigmoid,
        "tanh": nn.Tanh,
        "softplus": nn.Softplus,
        "softsign": nn.Softsign,
        "swish": nn.SiLU,
        "silu": nn.SiLU,
        "gelu": nn.GELU,
        "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
    }[name]()


def build(spec):
    """The network, and for each vkcnn layer with weights: its module, its
    name and, on a flattened vector, the vkcnn feature of each of PyTorch's
    features (None: the same)."""
    shapes = [tuple(spec["input_shape"])]  # each tensor's (h, w, c)
    perms = [None]  # each tensor's feature order
    named = {"input": 0}
    layers, inputs, weighted = [], [], []
    for i, layer in enumerate(spec["layers"]):
        t = layer["type"]
        name = layer.get("name")
        reads = [i]
        if "inputs" in layer:
            missing = [n for n in layer["inputs"] if n not in named]
            if missing:
                sys.exit(f"layer {i + 1} reads {missing}, no earlier layer's name: name every layer a graph's "
                         "inputs name (a run folder's model.json names them all)")
            reads = [named[n] for n in layer["inputs"]]
        if name is not None:
            named[name] = i + 1
        (h, w, c), perm = shapes[reads[0]], perms[reads[0]]
        mods = []
        if t in ("conv2d", "depthwiseconv2d", "separableconv2d"):
            # A depthwise convolution is PyTorch's grouped one, groups=c
            # (output channel c*m + j: input channel c's j-th kernel); a
            # separable one, that without a bias, then a 1x1 convolution.
            kh, kw = pair(layer["kernel_size"])
            sh, sw = pair(layer.get("strides", 1))
            dh, dw = pair(layer.get("dilation_rate", 1))
            padding = layer.get("padding", "same")
            bias = layer.get("use_bias", True)
            depthwise = t != "conv2d"
            out, groups = (c * layer.get("depth_multiplier", 1), c) if depthwise else (layer["filters"], layer.get("groups", 1))
            # The windows' extent: (k - 1) * d + 1.
            ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
            ph = pw = 0
            if padding == "same":
                oh, ow = -(-h // sh), -(-w // sw)
                ph, pw = max((oh - 1) * sh + ekh - h, 0), max((ow - 1) * sw + ekw - w, 0)
                if ph % 2 or pw % 2:
                    # TensorFlow's "same" pads the larger half below and
                    # right, which PyTorch's padding="same" (refused with
                    # strides) and its symmetric padding do not: padded
                    # explicitly.
                    mods.append(nn.ZeroPad2d((pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)))
                    ph = pw = 0
            else:
                oh, ow = (h - ekh) // sh + 1, (w - ekw) // sw + 1
            conv = nn.Conv2d(c, out, (kh, kw), stride=(sh, sw), padding=(ph // 2, pw // 2), dilation=(dh, dw),
                             groups=groups, bias=bias and t != "separableconv2d")
            h, w = oh, ow
            conv.vkcnn_kernel = "depthwise_kernel" if depthwise else "kernel"
            mods.append(conv)
            weighted.append((conv, name, None))
            c = out
            if t == "separableconv2d":
                pointwise = nn.Conv2d(c, layer["filters"], 1, bias=bias)
                pointwise.vkcnn_kernel = "pointwise_kernel"
                mods.append(pointwise)
                weighted.append((pointwise, name, None))
                c = layer["filters"]
        elif t == "globalavgpool2d":
            mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            h, w = 1, 1
        elif t == "globalmaxpool2d":
            mods += [nn.AdaptiveMaxPool2d(1), nn.Flatten()]
            h, w = 1, 1
        elif t == "zeropadding2d":
            (top, bottom), (left, right) = zero_padding(layer["padding"])
            mods.append(nn.ZeroPad2d((left, right, top, bottom)))
            h, w = h + top + bottom, w + left + right
        elif t in ("maxpool2d", "avgpool2d") and ("pool_size" in layer or "strides" in layer or "padding" in layer):
            pool = Pool(t, h, w, layer)
            mods.append(pool)
            h, w = pool.out
        elif t in ("maxpool2d", "avgpool2d"):
            mods.append(nn.MaxPool2d(2) if t == "maxpool2d" else nn.AvgPool2d(2))
            h, w = h // 2, w // 2
        elif t == "flatten":
            # vkcnn flattens NHWC, PyTorch NCHW; the order does not change
            # the cost, and load_weights reorders what the vector meets.
            mods.append(nn.Flatten())
            perm = np.arange(h * w * c).reshape(h, w, c).transpose(2, 0, 1).reshape(-1)
            c, h, w = c * h * w, 1, 1
        elif t == "dense":
            dense = nn.Linear(c, layer["units"])
            mods.append(dense)
            weighted.append((dense, name, perm))
            c, perm = layer["units"], None
        elif t == "batchnorm":
            # The layer's (else Keras' default) epsilon and momentum
            # (PyTorch's momentum weighs the new value: one minus Keras');
            # PyTorch's running statistics are neither debiased nor
            # Keras' n / (n - 1 - eps), which only evaluation-time
            # comparisons can ignore.
            bn = (nn.BatchNorm1d if h == w == 1 else nn.BatchNorm2d)(
                c, eps=layer.get("epsilon", 1e-3), momentum=1 - layer.get("momentum", 0.99))
            mods.append(bn)
            weighted.append((bn, name, perm))
        elif t == "dropout":
            mods.append(nn.Dropout(layer.get("rate", 0)))
        elif t == "relu":
            mods.append(nn.ReLU())
        elif t == "leaky_relu":
            mods.append(nn.LeakyReLU(layer["alpha"]))
        elif t == "add":
            mods.append(Join(t))
        elif t == "concatenate":
            # A vector's features follow each input's order in turn.
            parts = [(shapes[r], perms[r]) for r in reads]
            c = sum(shape[2] for shape, _ in parts)
            if any(p is not None for _, p in parts):
                offsets = np.cumsum([0] + [shape[0] * shape[1] * shape[2] for shape, _ in parts])
                perm = np.concatenate([(np.arange(offsets[k + 1] - offsets[k]) if p is None else p) + offsets[k]
                                       for k, (_, p) in enumerate(parts)])
            mods.append(Join(t))
        # conv2d's, dense's and the activation layer's; the last layer's
        # softmax is the loss's.
        if layer.get("activation", "linear") not in ("linear", "softmax"):
            mods.append(activation(layer["activation"], layer.get("alpha")))
        layers.append(nn.Identity() if not mods else mods[0] if len(mods) == 1 else nn.Sequential(*mods))
        inputs.append(reads)
        shapes.append((h, w, c))
        perms.append(perm)
    model = Graph(layers, inputs)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    # A frozen layer ("trainable": false) keeps its parameters; a frozen
    # batch normalization still updates its running statistics, as vkcnn's
    # does. (A layer's "initializers" are not drawn here: PyTorch starts
    # from Keras' defaults, or from --weights.)
    for module, layer in zip(layers, spec["layers"]):
        if layer.get("trainable", True) is False:
            module.requires_grad_(False)
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
                # HWIO to OIHW; a depthwise kernel, HWCM, as HW1(C*M).
                kernel = tensor(name, module.vkcnn_kernel)
                module.weight.copy_(kernel.reshape(*kernel.shape[:2], -1, module.out_channels).permute(3, 2, 0, 1))
                if module.bias is not None:
                    module.bias.copy_(tensor(name, "bias"))
            elif isinstance(module, nn.Linear):
                module.weight.copy_(tensor(name, "kernel", perm).T)  # [in, out] to [out, in]
                module.bias.copy_(tensor(name, "bias"))
            else:
                for attr, key in (("weight", "gamma"), ("bias", "beta"),
                                  ("running_mean", "moving_mean"), ("running_var", "moving_variance")):
                    getattr(module, attr).copy_(tensor(name, key, perm))


# The vkcnn precision (`vkcnn bench precision --list`) each PyTorch setting
# sits beside: strict FP32 beside fp32; TF32 (defaults, and compile, which
# keeps them) beside bf16x3, the nearest in arithmetic (about 16
# significant bits to TF32's 11); AMP's bf16 beside bf16.
VKCNN_PRECISION = {"fp32-strict": "fp32", "defaults": "bf16x3", "amp-bf16": "bf16", "compile": "bf16x3"}


def precision(setting):
    """Sets PyTorch's TF32 switches as the setting has them (its defaults:
    TF32 in cuDNN's convolutions, not in matmul) and returns the autocast
    type, None for none."""
    torch.backends.cudnn.allow_tf32 = setting != "fp32-strict"
    torch.backends.cuda.matmul.allow_tf32 = False
    return torch.bfloat16 if setting == "amp-bf16" else None


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU, {torch.get_num_threads()} threads"


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def images(data, name, device):
    """An IDX image file as a float tensor N x 1 x 28 x 28 in [0, 1] on the
    device."""
    return torch.from_numpy(load(data, name).astype(np.float32) / 255).unsqueeze(1).to(device)


def labels(data, name, device):
    return torch.from_numpy(load(data, name).astype(np.int64)).to(device)


def adam(model, lr):
    return torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)


def train_step(model, opt, loss_fn, autocast, device):
    """One training step on a batch, in autocast's type where it has one."""
    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=autocast, enabled=autocast is not None):
            loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    return step


def bench(spec, args, device):
    """Times training steps in each setting, the data on the device: one
    JSON object a setting."""
    x, y = images(args.data, "train-images-idx3-ubyte", device), labels(args.data, "train-labels-idx1-ubyte", device)
    b = args.batch_size
    rows = []
    for setting in args.settings.split(","):
        if setting not in VKCNN_PRECISION:
            sys.exit(f"--settings: unknown setting {setting!r} ({', '.join(VKCNN_PRECISION)})")
        row = {"setting": setting, "device": device_name(device), "torch": torch.__version__, "batch": b}
        try:
            torch.manual_seed(args.seed)
            model, _ = build(spec)
            model.to(device).train()
            opt = adam(model, args.lr)
            if setting == "compile":
                if not hasattr(torch, "compile"):
                    raise RuntimeError(f"torch.compile needs PyTorch 2, this is {torch.__version__}")
                model = torch.compile(model)
            step = train_step(model, opt, nn.CrossEntropyLoss(), precision(setting), device)
            perm = torch.randperm(len(y), device=device)

            def run(steps):
                for i in range(steps):
                    j = i * b % (len(y) - b)
                    step(x[perm[j:j + b]], y[perm[j:j + b]])
                sync(device)

            run(args.warmup)  # compiles, tunes and warms the clocks
            start = time.perf_counter()
            run(args.steps)
            secs = (time.perf_counter() - start) / args.steps
            row.update(step_seconds=secs, images_per_second=b / secs)
        except Exception as e:  # a setting PyTorch cannot run here is a row that says so
            row["error"] = f"{type(e).__name__}: {e}".splitlines()[0][:200]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def table(rows, vkcnn_files):
    """Prints PyTorch's settings beside vkcnn's bench all figures."""
    vk = {}
    for path in vkcnn_files:
        with open(path) as f:
            figures = json.load(f)
        vk[figures["precision"]] = figures
    first = next(iter(vk.values()))
    print(f"\nvkcnn on {first['device']} ({first['driver']}), PyTorch {torch.__version__} on {rows[0]['device']}, "
          f"model {first['model']}, batch {rows[0]['batch']}; a step's wall-clock time.\n")
    print("| PyTorch setting | PyTorch step | images/s | vkcnn | vkcnn step | images/s | vkcnn / PyTorch |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for r in rows:
        prec = VKCNN_PRECISION[r["setting"]]
        v = vk.get(prec)
        ours = f"{prec} | {1e3 * v['wall_step_seconds']:.2f} ms | {v['train_images_per_second']:,.0f}" if v else f"{prec} | — | —"
        if "error" in r:
            print(f"| {r['setting']} | {r['error']} | | {ours} | |")
            continue
        ratio = f"{v['wall_step_seconds'] / r['step_seconds']:.2f}" if v else "—"
        print(f"| {r['setting']} | {1e3 * r['step_seconds']:.2f} ms | {r['images_per_second']:,.0f} | {ours} | {ratio} |")


def compare(model, weighted, args, device):
    """Test-set logits of the network with a vkcnn run's weights, in
    evaluation mode and strict FP32, beside vkcnn's."""
    load_weights(weighted, args.weights)
    model.to(device).eval()
    precision("fp32-strict")
    tx = images(args.data, "t10k-images-idx3-ubyte", device)
    ty = load(args.data, "t10k-labels-idx1-ubyte").astype(np.int64)
    with torch.no_grad():
        ours = torch.cat([model(tx[i:i + 500]) for i in range(0, len(ty), 500)]).cpu().numpy()
    theirs = np.load(args.logits)
    if theirs.shape != ours.shape:
        sys.exit(f"{args.logits}: shape {theirs.shape}, want {ours.shape}")
    diff = float(np.abs(ours - theirs).max())
    top2 = np.sort(theirs, axis=1)[:, -2:]
    # A prediction may differ only where vkcnn's two best logits are closer
    # than the logits differ.
    flipped = (ours.argmax(1) != theirs.argmax(1)) & (top2[:, 1] - top2[:, 0] > 2 * diff)
    result = {"torch": torch.__version__, "device": device_name(device),
              "max_abs_logit_difference": diff,
              "max_abs_logit": float(np.abs(theirs).max()),
              "same_predictions": float((ours.argmax(1) == theirs.argmax(1)).mean()),
              "torch_test_accuracy": float((ours.argmax(1) == ty).mean()),
              "vkcnn_test_accuracy": float((theirs.argmax(1) == ty).mean())}
    print(json.dumps(result))
    if args.tolerance is not None and (diff > args.tolerance * result["max_abs_logit"] or flipped.any()):
        sys.exit(f"the logits differ by up to {diff:.3g} (tolerance {args.tolerance:g} of the largest, {result['max_abs_logit']:.3g}), "
                 f"and {int(flipped.sum())} predictions differ without a near tie")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0, help="stop after N steps (timing only); with --bench, timed steps (200)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", help="cuda or cpu (default: cuda where PyTorch has it)")
    ap.add_argument("--weights", help="a vkcnn run's weights.safetensors: compare instead of training")
    ap.add_argument("--logits", help="with --weights: the logits vkcnn eval --logits wrote")
    ap.add_argument("--tolerance", type=float, help="with --weights: fail over this share of the largest logit")
    ap.add_argument("--bench", action="store_true", help="time training steps in each of --settings")
    ap.add_argument("--settings", default=",".join(VKCNN_PRECISION), help="with --bench: comma-separated")
    ap.add_argument("--warmup", type=int, default=20, help="with --bench: steps before the timed ones")
    ap.add_argument("--vkcnn", action="append", default=[], metavar="BENCH.json",
                    help="with --bench: vkcnn bench all --json's output at a precision, to print beside PyTorch's")
    args = ap.parse_args()
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(args.model) as f:
        spec = json.load(f)
    if args.bench:
        args.steps = args.steps or 200
        rows = bench(spec, args, device)
        if args.vkcnn:
            table(rows, args.vkcnn)
        return
    model, weighted = build(spec)
    if args.weights:
        if not args.logits:
            sys.exit("--weights needs --logits")
        compare(model, weighted, args, device)
        return
    model.to(device)
    x, y = images(args.data, "train-images-idx3-ubyte", device), labels(args.data, "train-labels-idx1-ubyte", device)
    opt = adam(model, args.lr)
    loss_fn = nn.CrossEntropyLoss()
    step = train_step(model, opt, loss_fn, precision("fp32-strict"), device)
    n, b = len(y), args.batch_size
    steps, seen, start = 0, 0, None
    for _ in range(args.epochs):
        model.train()
        perm = torch.randperm(n, device=device)
        for i in range(0, n, b):
            idx = perm[i:i + b]
            step(x[idx], y[idx])
            steps += 1
            if start is None:
                sync(device)
                start = time.perf_counter()  # after one warm-up step
            else:
                seen += len(idx)
            if args.steps and steps > args.steps:
                break
        if args.steps and steps > args.steps:
            break
    sync(device)
    result = {"torch": torch.__version__, "device": device_name(device), "threads": torch.get_num_threads(), "batch": b,
              "train_images_per_second": seen / (time.perf_counter() - start)}
    if not args.steps:
        tx, ty = images(args.data, "t10k-images-idx3-ubyte", device), labels(args.data, "t10k-labels-idx1-ubyte", device)
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(tx[i:i + 500]) for i in range(0, len(ty), 500)])
        result["test_loss"] = float(loss_fn(logits, ty))
        result["test_accuracy"] = float((logits.argmax(1) == ty).float().mean())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
