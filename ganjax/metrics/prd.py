"""k-NN manifold metrics: precision/recall and density/coverage of generated features.

Each real (or fake) feature gets a ball whose radius is the distance to its k-th nearest
neighbour in its own set.
- Precision: the share of fake features inside some real ball; recall: the share of real
  features inside some fake ball (Kynkäänniemi et al. 2019, "Improved precision and recall
  metric for assessing generative models", k = 3).
- Density: how many real balls hold each fake feature, over k, averaged; coverage: the share
  of real balls holding at least one fake feature (Naeem et al. 2020, "Reliable fidelity and
  diversity metrics for generative models", k = 5).
Distances are Euclidean, computed in row blocks so 10,000 × 10,000 sets fit in memory.
"""

import numpy as np

BLOCK = 1024


def _distances(a: np.ndarray, b: np.ndarray):
  """Yields (row offset, block of ‖aᵢ − bⱼ‖) for row blocks of ``a``."""
  b_sq = np.sum(b * b, axis=1)
  for start in range(0, len(a), BLOCK):
    rows = a[start:start + BLOCK]
    sq = np.sum(rows * rows, axis=1)[:, None] + b_sq[None, :] - 2.0 * rows @ b.T
    yield start, np.sqrt(np.clip(sq, 0.0, None))


def knn_radii(features: np.ndarray, k: int) -> np.ndarray:
  """Distance from each feature to its k-th nearest other feature of the same set."""
  if len(features) <= k:
    raise ValueError(f"need more than k={k} features, got {len(features)}")
  radii = np.empty(len(features))
  for start, d in _distances(features, features):
    # Column 0 of the partition is the point itself (distance 0).
    radii[start:start + len(d)] = np.partition(d, k, axis=1)[:, k]
  return radii


def _inside_counts(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
  """For each point, how many balls (centres, radii) contain it."""
  counts = np.empty(len(points), np.int64)
  for start, d in _distances(points, centres):
    counts[start:start + len(d)] = np.sum(d <= radii[None, :], axis=1)
  return counts


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
  real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
  precision = np.mean(_inside_counts(fake, real, knn_radii(real, k)) > 0)
  recall = np.mean(_inside_counts(real, fake, knn_radii(fake, k)) > 0)
  return float(precision), float(recall)


def density_coverage(real, fake, k: int = 5) -> tuple[float, float]:
  real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
  radii = knn_radii(real, k)
  density = _inside_counts(fake, real, radii).sum() / (k * len(fake))
  nearest_fake = np.empty(len(real))
  for start, d in _distances(real, fake):
    nearest_fake[start:start + len(d)] = d.min(axis=1)
  coverage = np.mean(nearest_fake <= radii)
  return float(density), float(coverage)
