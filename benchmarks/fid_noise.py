"""FID and precision/recall of real images as Gaussian noise is added (a sanity check of the
feature space on real data; ``tests/test_eval.py`` checks the same on the tiny synthetic set).

  python benchmarks/fid_noise.py [--dataset fashion_mnist] [--num 10000]

Prints one JSON line per noise level σ (pixels in [0, 1], clipped): FID, precision and
recall of noisy train images against clean test images, in the dataset's feature-net space.
"""

import argparse
import json

import numpy as np
from ml_collections import ConfigDict

from ganjax import data, feature_net, metrics
from ganjax.metrics import features as features_lib


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--dataset", default="fashion_mnist")
  p.add_argument("--num", type=int, default=10000)
  args = p.parse_args()
  cfg = ConfigDict(dict(name=args.dataset, source="auto", path="", split="train",
                        download=False))
  train, test = data.train_and_test(cfg)
  extractor = feature_net.load_or_train(args.dataset, train, test)
  reference, _ = extractor(features_lib.to_unit_range(test[0][:args.num]))
  clean = features_lib.to_unit_range(train[0][:args.num])
  rng = np.random.default_rng(0)
  for sigma in (0.0, 0.05, 0.1, 0.2, 0.4):
    noisy = np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 1).astype(np.float32)
    feats, _ = extractor(noisy)
    precision, recall = metrics.precision_recall(reference, feats)
    print(json.dumps(dict(name="fid_vs_noise", dataset=args.dataset, sigma=sigma,
                          fid=round(float(metrics.frechet_distance_of(reference, feats)), 3),
                          precision=round(precision, 3), recall=round(recall, 3))))


if __name__ == "__main__":
  main()
