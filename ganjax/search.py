"""Random hyperparameter search for sweeps, and the expected best score of a budget.

Comparing methods at one hand-set setting each favours whichever was tuned best; Lucic et
al. (2018, "Are GANs Created Equal?") give every method k settings drawn from declared ranges
and report its scores and its best score against the budget. In a sweep config::

  cells = product(choice("optimizer", {"adam": {}}), random_search(8, seed=0,
                  lr=log_uniform(1e-5, 1e-2, "optimizer.g.learning_rate",
                                 "optimizer.d.learning_rate")))
  Sweep(..., cells=cells, search="setting")

Each cell is ``setting=i``; its values are in ``Cell.drawn`` (results.csv columns), rounded
to 3 significant digits, and depend only on ``seed`` and the space, so a rerun continues
with the same settings.
"""

from math import comb
from typing import NamedTuple

import numpy as np

from ganjax.sweep import Cell


class Draw(NamedTuple):
  """A distribution over one value, and the config keys that value sets."""
  kind: str
  args: tuple
  keys: tuple

  def sample(self, rng: np.random.Generator):
    if self.kind == "log_uniform":
      low, high = self.args
      return _round(float(np.exp(rng.uniform(np.log(low), np.log(high)))))
    if self.kind == "uniform":
      return _round(float(rng.uniform(*self.args)))
    if self.kind == "integers":
      low, high = self.args
      return int(rng.integers(low, high + 1))
    values = self.args[0]
    return values[int(rng.integers(len(values)))]


def _round(value: float) -> float:
  return float(f"{value:.3g}")


def _draw(kind: str, args: tuple, keys: tuple) -> Draw:
  if not keys:
    raise ValueError(f"a {kind} draw sets no config key")
  return Draw(kind, args, keys)


def log_uniform(low: float, high: float, *keys: str) -> Draw:
  """exp(U(log low, log high)): learning rates, penalty weights."""
  if not 0 < low < high:
    raise ValueError(f"log_uniform needs 0 < low < high, got {low}, {high}")
  return _draw("log_uniform", (low, high), keys)


def uniform(low: float, high: float, *keys: str) -> Draw:
  """U(low, high): β₁, dropout rates."""
  if not low < high:
    raise ValueError(f"uniform needs low < high, got {low}, {high}")
  return _draw("uniform", (low, high), keys)


def integers(low: int, high: int, *keys: str) -> Draw:
  """An integer in [low, high], both included: n_critic, widths."""
  if not low <= high:
    raise ValueError(f"integers needs low <= high, got {low}, {high}")
  return _draw("integers", (low, high), keys)


def one_of(values, *keys: str) -> Draw:
  """One of ``values``, each as likely."""
  if not values:
    raise ValueError("one_of needs at least one value")
  return _draw("one_of", (tuple(values),), keys)


def random_search(k: int, seed: int = 0, name: str = "setting", **space: Draw) -> list[Cell]:
  """``k`` cells ``name=0 … k−1``, each setting the keys of every draw of ``space`` to a value
  drawn from it (``label=Draw``, the label naming the value in results.csv)."""
  if k < 1:
    raise ValueError(f"random_search needs k >= 1 settings, got {k}")
  if not space:
    raise ValueError("random_search has nothing to draw")
  rng = np.random.default_rng(seed)
  cells = []
  for i in range(k):
    drawn = {label: draw.sample(rng) for label, draw in space.items()}
    overrides = {key: drawn[label] for label, draw in space.items() for key in draw.keys}
    cells.append(Cell({name: i}, overrides, drawn))
  return cells


def expected_best(scores, budget: int, lower_is_better: bool = True) -> float:
  """The expected best of ``budget`` settings drawn without replacement from those that scored
  ``scores``, exactly: with s₍₁₎ ≤ … ≤ s₍ₖ₎ (lower is better),
  E[min of b] = Σᵢ s₍ᵢ₎ · C(k − i, b − 1) / C(k, b), the chance that the i-th best is drawn
  and no better one is."""
  scores = np.sort(np.asarray(scores, np.float64))
  if not lower_is_better:
    scores = scores[::-1]
  k = len(scores)
  if not 1 <= budget <= k:
    raise ValueError(f"budget must be in [1, {k}], got {budget}")
  weights = np.array([comb(k - 1 - i, budget - 1) for i in range(k)], np.float64) / comb(k, budget)
  return float(weights @ scores)
