"""Summary statistics over seeds: a mean with its t-interval, paired differences with a
bootstrap interval, and Holm's correction for a study's several comparisons.

A mean over n seeds gets Student's t-interval with n − 1 degrees of freedom (the seeds are
few and σ unknown); one seed has none, and reports print the mean alone. A metric with a
range (precision in [0, 1], FID ≥ 0) gets its interval clipped to it. Two cells run on the
same seeds share their data order and initial draws, so they are compared seed by seed
(``paired_difference``), and a study's comparisons together (``holm``).
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
  """The mean x̄ of the finite ``values`` and the half-width of its ``confidence`` t-interval,
  x̄ ± t_{(1+c)/2, n−1} · s / √n with s the sample standard deviation (ddof = 1), reported
  clipped to ``bounds``, the metric's range."""
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


class PairedDifference(NamedTuple):
  """The mean of ``n`` paired differences, its bootstrap interval [low, high] and the paired
  t-test's two-sided p (NaN below two pairs or when every difference is the same)."""
  mean: float
  low: float
  high: float
  p: float
  n: int


def paired_difference(a, b, confidence: float = 0.95, resamples: int = 9999,
                      seed: int = 0) -> PairedDifference:
  """dᵢ = bᵢ − aᵢ pair by pair: their mean, the percentile-bootstrap ``confidence`` interval of
  the mean (Efron & Tibshirani 1993, ch. 13; ``resamples`` draws seeded with ``seed``, so a
  report is reproducible) and the paired t-test's p. With few pairs the bootstrap interval
  is too narrow: three pairs have only ten distinct resamples."""
  a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
  if a.shape != b.shape:
    raise ValueError(f"paired values differ in number: {a.shape[0]} and {b.shape[0]}")
  keep = np.isfinite(a) & np.isfinite(b)
  d = b[keep] - a[keep]
  n = len(d)
  if n == 0:
    return PairedDifference(float("nan"), float("nan"), float("nan"), float("nan"), 0)
  mean = float(d.mean())
  if n == 1 or np.all(d == d[0]):
    return PairedDifference(mean, mean, mean, float("nan"), n)
  interval = stats.bootstrap((d,), np.mean, confidence_level=confidence, n_resamples=resamples,
                             method="percentile",
                             random_state=np.random.default_rng(seed)).confidence_interval
  return PairedDifference(mean, float(interval.low), float(interval.high),
                          float(stats.ttest_rel(b[keep], a[keep]).pvalue), n)


def holm(pvalues) -> np.ndarray:
  """Holm's (1979) step-down adjusted p-values, in the order given: with the m p's sorted
  p₍₁₎ ≤ … ≤ p₍ₘ₎, p̃₍ᵢ₎ = max_{j ≤ i} min(1, (m − j + 1) · p₍ⱼ₎), which keeps the chance of any
  false positive among the m at most α. NaNs stay NaN and do not count among the m."""
  p = np.asarray(pvalues, np.float64).ravel()
  adjusted = np.full_like(p, np.nan)
  tested = np.flatnonzero(np.isfinite(p))
  order = tested[np.argsort(p[tested], kind="stable")]
  m = len(order)
  running = 0.0
  for rank, index in enumerate(order):
    running = max(running, min(1.0, (m - rank) * p[index]))
    adjusted[index] = running
  return adjusted
