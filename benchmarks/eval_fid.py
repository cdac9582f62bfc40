"""Benchmark: ``ganjax eval`` end to end (10,000 generated 28×28 samples) once the feature
net is cached, and the real-data floor of each metric (test split against train split).

  python benchmarks/eval_fid.py --workdir runs/demo [--num-samples 10000]

Prints JSON lines: {"name": "eval_end_to_end", "seconds": ..., "images_per_s": ...} with the
metrics, then {"name": "real_floor", ...}: FID/KID/precision/recall of 10,000 test images
against 10,000 train images, the best a generator could score in this feature space.
"""

import argparse
import json
import time

import numpy as np

from ganjax import data, evaluate, feature_net, metrics
from ganjax.metrics import features as features_lib
from ganjax.saved_run import load_run


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", required=True)
  p.add_argument("--num-samples", type=int, default=10000)
  args = p.parse_args()

  exp, _ = load_run(args.workdir)
  train, test = data.train_and_test(exp.config.data)
  extractor = feature_net.load_or_train(exp.config.data.name, train, test)  # not timed

  start = time.perf_counter()
  result = evaluate.evaluate(args.workdir, args.num_samples, progress=False)
  seconds = time.perf_counter() - start
  result.update(name="eval_end_to_end", seconds=round(seconds, 2),
                images_per_s=round(args.num_samples / seconds, 1))
  print(json.dumps(result))

  n = min(args.num_samples, len(test[0]))
  rng = np.random.default_rng(0)
  real_train = features_lib.to_unit_range(train[0][rng.choice(len(train[0]), n, replace=False)])
  a, _ = extractor(features_lib.to_unit_range(test[0][:n]))
  b, probs = extractor(real_train)
  kid, kid_std = metrics.kernel_distance(a, b)
  precision, recall = metrics.precision_recall(a, b)
  density, coverage = metrics.density_coverage(a, b)
  print(json.dumps(dict(name="real_floor", num=n, fid=metrics.frechet_distance_of(a, b), kid=kid,
                        kid_std=kid_std, precision=precision, recall=recall, density=density,
                        coverage=coverage, classifier_score=metrics.classifier_score(probs),
                        sharpness=metrics.sharpness(real_train))))


if __name__ == "__main__":
  main()
