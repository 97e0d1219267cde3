"""The error table of `vkcnn bench precision` for PyTorch's convolution, on
the same operands: how far PyTorch's fp32 (TF32 off), TF32 (its default for
convolutions on NVIDIA GPUs) and bf16 convolutions lie from float64.

  vkcnn bench precision --inputs model --npz operands.npz
  python3 bench/precision_torch.py operands.npz [--samples 10000] [--seed 1] [--device cuda|cpu]

The archive holds x (the input, NHWC), w (the kernel, HWIO), flat, and
their shape (batch, height, width, input and output channels, kernel
height and width). Over --samples output entries drawn at random (its own
draw, so the max is comparable with vkcnn's, not entry for entry), it prints
a Markdown table of the max and RMS of |C - C64| / (|A|.|B|)ij, where C64 is
the float64 convolution and (|A|.|B|)ij the float64 convolution of |x| and
|w|: the sum of the absolute values of the entry's terms. bf16 is the
operands cast to bfloat16, as autocast does; its output is bfloat16 too.
Needs PyTorch and NumPy; runs on the GPU where PyTorch has CUDA.
"""
import argparse

import numpy as np
import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("npz")
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = p.parse_args()

    z = np.load(a.npz)
    batch, h, w_, cin, cout, kh, kw = (int(v) for v in z["shape"])
    x = torch.from_numpy(z["x"].reshape(batch, h, w_, cin)).permute(0, 3, 1, 2).contiguous().to(a.device)
    w = torch.from_numpy(z["w"].reshape(kh, kw, cin, cout)).permute(3, 2, 0, 1).contiguous().to(a.device)

    def conv(x, w):
        return torch.nn.functional.conv2d(x, w, padding=(kh // 2, kw // 2))

    c64 = conv(x.double(), w.double()).flatten()
    abs64 = conv(x.double().abs(), w.double().abs()).flatten()
    gen = torch.Generator().manual_seed(a.seed)
    at = torch.randint(0, c64.numel(), (a.samples,), generator=gen).to(a.device)
    c64, abs64 = c64[at], abs64[at]

    def errors(c):
        d = (c.flatten()[at].double() - c64).abs()
        rel = torch.where(d == 0, torch.zeros_like(d), d / abs64)
        return rel.max().item(), rel.square().mean().sqrt().item()

    rows = []
    for name, tf32 in (("fp32 (TF32 off)", False), ("tf32 (PyTorch's default)", True)):
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        rows.append((name, *errors(conv(x, w))))
    rows.append(("bf16 (bf16 output)", *errors(conv(x.bfloat16(), w.bfloat16()))))

    print(f"conv {batch * h * w_}x{cout}x{kh * kw * cin} on {a.device}"
          f" ({torch.cuda.get_device_name() if a.device == 'cuda' else 'CPU'}, PyTorch {torch.__version__}):"
          f" |C - C64| / (|A|.|B|)ij over {a.samples} sampled entries")
    print("| precision | max | RMS |")
    print("|---|---:|---:|")
    for name, worst, rms in rows:
        print(f"| {name} | {worst:.3g} | {rms:.3g} |")


if __name__ == "__main__":
    main()
