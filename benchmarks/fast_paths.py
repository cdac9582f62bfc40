"""Benchmark: an experiment's whole train step with the CPU fast paths on (``ganjax.cpu``:
Winograd and im2col convolutions, unrolled Threefry) against off, alternating runs in one
process.

  python benchmarks/fast_paths.py [--steps 2] [--repeats 3] [--rounds 2] \
      [experiments/sngan_cifar10.py ...]

The image shape is the dataset's (random images: the data is not read). Prints one JSON
line per run and one per experiment with ``on_over_off`` (images/s; > 1: the fast paths
are faster), from the best run of each. The SNGAN step is slow with the fast paths off: the
default list takes tens of minutes on a 2-core CPU (``--rounds 1`` halves it).
"""

import argparse
import json

from ganjax import config as config_lib
from ganjax import cpu
from ganjax.bench import bench_step, matmul_peak
from ganjax.cpu.host_memory import retain_freed_memory

IMAGE_SHAPES = {"fashion_mnist": (28, 28, 1), "mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
DEFAULT = ["experiments/dcgan_fashion_mnist.py", "experiments/sngan_cifar10.py",
           "experiments/stylegan_fashion_mnist.py"]


def main():
  retain_freed_memory()  # as `ganjax train` runs
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("configs", nargs="*", default=DEFAULT)
  p.add_argument("--steps", type=int, default=2, help="steps per timed block")
  p.add_argument("--repeats", type=int, default=3, help="timed blocks (the median is kept)")
  p.add_argument("--rounds", type=int, default=2, help="alternating on/off rounds")
  args = p.parse_args()
  peak = matmul_peak()
  for path in args.configs:
    best = {}
    for _ in range(args.rounds):
      for setting in ("on", "off"):
        config = config_lib.load(path)
        config.data.image_shape = IMAGE_SHAPES[config.data.name]
        config.fast_paths = setting
        with cpu.fast_paths(setting):
          result = bench_step(path, config, args.steps, args.repeats, peak)
        result["fast_paths"] = setting
        print(json.dumps(result), flush=True)
        best[setting] = max(best.get(setting, 0.0), result["images_per_s"])
    print(json.dumps({"name": path, "on_over_off": round(best["on"] / best["off"], 3),
                      **{f"{s}_images_per_s": v for s, v in best.items()}}), flush=True)


if __name__ == "__main__":
  main()
