"""Wall-clock timing shared by ``ganjax bench``, its PyTorch references and ``benchmarks/``."""

import statistics
import time


def median_seconds(fn, steps: int, repeats: int) -> float:
  """Median over ``repeats`` blocks of the seconds per call of ``fn`` (which blocks)."""
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    for _ in range(steps):
      fn()
    times.append((time.perf_counter() - start) / steps)
  return statistics.median(times)
