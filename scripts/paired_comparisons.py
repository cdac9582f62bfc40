"""Prints a finished study's paired comparisons (``ganjax.comparisons.paired_markdown``) from
its ``results.csv`` alone, for reports written before the sweep report had them:

  python scripts/paired_comparisons.py experiments/ablations/cg_vs_adam.py \\
      docs/results/cg_vs_adam/results.csv
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ganjax import comparisons, report, sweep  # noqa: E402


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("sweep_config")
  parser.add_argument("results_csv")
  args = parser.parse_args()
  study = sweep.load(args.sweep_config)
  print("\n".join(comparisons.paired_markdown(study, report.read_csv(args.results_csv, study))))


if __name__ == "__main__":
  main()
