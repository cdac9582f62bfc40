"""Benchmark: an experiment's whole train step with ``conv_algorithm`` auto (Winograd and
im2col on the CPU) against XLA's convolutions, alternating runs in one process.

  python benchmarks/conv_algorithms.py [--steps 2] [--repeats 3] [--rounds 2] \
      [experiments/sngan_cifar10.py ...]

Both nets of each experiment get the same ``conv_algorithm``; the image shape is the
dataset's (random images: the data is not read). Prints one JSON line per run and one per
experiment with ``auto_over_xla`` (images/s; > 1: auto is faster), from the best run of
each. On a 2-core CPU the SNGAN step takes ~25 s with ``auto`` and ~110 s with ``xla``:
the default list runs for about 40 minutes (``--rounds 1``: 20).
"""

import argparse
import json

from ganjax import config as config_lib
from ganjax.bench import bench_step, matmul_peak
from ganjax.host_memory import retain_freed_memory

IMAGE_SHAPES = {"fashion_mnist": (28, 28, 1), "mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
DEFAULT = ["experiments/dcgan_fashion_mnist.py", "experiments/sngan_cifar10.py",
           "experiments/stylegan_fashion_mnist.py"]


def main():
  retain_freed_memory()  # as `ganjax train` runs
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("configs", nargs="*", default=DEFAULT)
  p.add_argument("--steps", type=int, default=2, help="steps per timed block")
  p.add_argument("--repeats", type=int, default=3, help="timed blocks (the median is kept)")
  p.add_argument("--rounds", type=int, default=2, help="alternating auto/xla rounds")
  args = p.parse_args()
  peak = matmul_peak()
  for path in args.configs:
    best = {}
    for _ in range(args.rounds):
      for algorithm in ("auto", "xla"):
        config = config_lib.load(path)
        config.data.image_shape = IMAGE_SHAPES[config.data.name]
        config.model.generator.conv_algorithm = algorithm
        config.model.discriminator.conv_algorithm = algorithm
        result = bench_step(path, config, args.steps, args.repeats, peak)
        result["conv_algorithm"] = algorithm
        print(json.dumps(result), flush=True)
        best[algorithm] = max(best.get(algorithm, 0.0), result["images_per_s"])
    print(json.dumps({"name": path, "auto_over_xla": round(best["auto"] / best["xla"], 3),
                      **{f"{a}_images_per_s": v for a, v in best.items()}}), flush=True)


if __name__ == "__main__":
  main()
