"""Benchmark: each convolution of the benchmarked DCGAN step (forward + gradients with
respect to input and kernel), XLA:CPU against PyTorch eager in the same process.

  python benchmarks/conv_layers.py [--batch 128] [--repeats 5]

The generator's stride-2 layers run as ganjax computes them (sub-pixel: a 3×3 convolution
to 4× the channels) and as PyTorch does (5×5 transposed convolution); the discriminator's
see real and fake images in one batch of 2 × batch. Each layer runs through
``ganjax.cpu.convolution.conv_general_dilated`` with the fast paths on, as the DCGAN nets do
on the CPU (Winograd or im2col where it pays), and off: XLA's convolution alone (``xla_ms``). Prints one JSON
line per layer with the times and ``torch_over_jax`` (> 1: ganjax is faster), then the sums. Needs torch
(``pip install '.[bench]'``); run it on a quiet machine.
"""

import argparse
import json
import os

import jax
import jax.numpy as jnp
import numpy as np

from ganjax.timing import median_seconds
from ganjax import cpu
from ganjax.cpu.convolution import conv_general_dilated
from ganjax.cpu.host_memory import retain_freed_memory

# (name, input size, in channels, (XLA out channels, kernel, stride), (torch out channels,
#  kernel, stride, transposed), batch multiple)
LAYERS = [
    ("g_conv_256_128_5x5_at_7", 7, 256, (128, 5, 1), (128, 5, 1, True), 1),
    ("g_up_128_64_at_7", 7, 128, (256, 3, 1), (64, 5, 2, True), 1),
    ("g_up_64_1_at_14", 14, 64, (4, 3, 1), (1, 5, 2, True), 1),
    ("d_conv_1_64_5x5_s2_at_28", 28, 1, (64, 5, 2), (64, 5, 2, False), 2),
    ("d_conv_64_128_5x5_s2_at_14", 14, 64, (128, 5, 2), (128, 5, 2, False), 2),
]


def jax_seconds(fast_paths, batch, size, cin, cout, kernel, stride, repeats) -> float:
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal((batch, size, size, cin)), jnp.float32)
  w = jnp.asarray(0.05 * rng.standard_normal((kernel, kernel, cin, cout)), jnp.float32)

  def loss(x, w):
    y = conv_general_dilated(x, w, (stride, stride), "SAME",
                             dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return jnp.sum(y * y)

  grads = jax.jit(jax.grad(loss, argnums=(0, 1)))
  with cpu.fast_paths(fast_paths):
    fn = lambda: jax.block_until_ready(grads(x, w))  # noqa: E731
    fn()
    return median_seconds(fn, 10, repeats)


def torch_seconds(torch, batch, size, cin, cout, kernel, stride, transposed, repeats) -> float:
  x = torch.randn(batch, cin, size, size, requires_grad=True)
  pad = kernel // 2
  layer = (torch.nn.ConvTranspose2d(cin, cout, kernel, stride, pad, output_padding=stride - 1,
                                    bias=False) if transposed
           else torch.nn.Conv2d(cin, cout, kernel, stride, pad, bias=False))

  def fn():
    y = layer(x)
    (y * y).sum().backward()

  fn()
  return median_seconds(fn, 10, repeats)


def main():
  retain_freed_memory()  # as `ganjax train` runs
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--batch", type=int, default=128)
  p.add_argument("--repeats", type=int, default=5)
  args = p.parse_args()
  import torch
  torch.set_num_threads(os.cpu_count())
  total = {"jax": 0.0, "xla": 0.0, "torch": 0.0}
  for name, size, cin, ours, ref, multiple in LAYERS:
    batch = args.batch * multiple
    times = {"jax": jax_seconds("on", batch, size, cin, *ours, args.repeats),
             "xla": jax_seconds("off", batch, size, cin, *ours, args.repeats),
             "torch": torch_seconds(torch, batch, size, cin, *ref, args.repeats)}
    for k, t in times.items():
      total[k] += t
    print(json.dumps({"name": name, "batch": batch,
                      **{f"{k}_ms": round(1e3 * t, 2) for k, t in times.items()},
                      "torch_over_jax": round(times["torch"] / times["jax"], 3)}), flush=True)
  print(json.dumps({"name": "all_conv_layers",
                    **{f"{k}_ms": round(1e3 * t, 2) for k, t in total.items()},
                    "torch_over_jax": round(total["torch"] / total["jax"], 3)}))


if __name__ == "__main__":
  main()
