"""Summary statistics over seeds: mean and a t-distribution confidence interval.

For n seeds with sample mean x̄ and sample standard deviation s (ddof = 1), the two-sided
interval at confidence c is

    x̄ ± t_{(1+c)/2, n−1} · s / √n,

Student's t with n − 1 degrees of freedom (the seeds are few and σ is unknown). One seed has
no interval: the half-width is NaN, and reports print the mean alone. A metric with a range
(precision in [0, 1], FID ≥ 0) gets the interval clipped to it, printed as its endpoints.
"""

from typing import NamedTuple

import numpy as np
from scipy import stats


class Summary(NamedTuple):
  """Mean ± half-width over the ``n`` finite values; ``dropped`` values were NaN or ±inf;
  ``bounds``, the range the metric can take."""
  mean: float
  half_width: float
  n: int
  dropped: int
  bounds: tuple = (-np.inf, np.inf)

  @property
  def interval(self) -> tuple[float, float]:
    """The t-interval, clipped to ``bounds``."""
    return (max(self.mean - self.half_width, self.bounds[0]),
            min(self.mean + self.half_width, self.bounds[1]))

  def __str__(self) -> str:
    if self.n == 0:
      return "—"
    if np.isnan(self.half_width):
      return f"{self.mean:.4g}"
    low, high = self.interval
    if (low, high) != (self.mean - self.half_width, self.mean + self.half_width):
      return f"{self.mean:.4g} [{low:.2g}, {high:.2g}]"
    return f"{self.mean:.4g} ± {self.half_width:.2g}"


def mean_ci(values, confidence: float = 0.95, bounds=(-np.inf, np.inf)) -> Summary:
  """The mean of the finite ``values`` and the half-width of its ``confidence`` t-interval
  (reported clipped to ``bounds``, the metric's range)."""
  if not 0.0 < confidence < 1.0:
    raise ValueError(f"confidence must be in (0, 1), got {confidence}")
  values = np.asarray(values, np.float64).ravel()
  finite = values[np.isfinite(values)]
  n, dropped = len(finite), len(values) - len(finite)
  if n == 0:
    return Summary(float("nan"), float("nan"), 0, dropped, tuple(bounds))
  mean = float(finite.mean())
  if n == 1:
    return Summary(mean, float("nan"), 1, dropped, tuple(bounds))
  t = stats.t.ppf(0.5 + confidence / 2.0, df=n - 1)
  return Summary(mean, float(t * finite.std(ddof=1) / np.sqrt(n)), n, dropped, tuple(bounds))
