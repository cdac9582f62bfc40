"""Kernel distance: unbiased MMD² with the cubic polynomial kernel (KID for Inception features).

  k(x, y) = (xᵀy / d + 1)³
  MMD²ᵤ = 1/(m(m−1)) Σ_{i≠j} k(xᵢ, xⱼ) + 1/(m(m−1)) Σ_{i≠j} k(yᵢ, yⱼ) − 2/m² Σ_{i,j} k(xᵢ, yⱼ)

(Bińkowski et al. 2018, "Demystifying MMD GANs"). Unbiased, so it can be slightly negative
when the sets match; reported as mean ± std over random subsets of equal size.
"""

import numpy as np


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
  return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
  """Unbiased MMD² of two equal-size samples with the cubic polynomial kernel."""
  m = x.shape[0]
  k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
  off = m * (m - 1)
  return float((k_xx.sum() - np.trace(k_xx)) / off + (k_yy.sum() - np.trace(k_yy)) / off
               - 2.0 * k_xy.mean())


def kernel_distance(features_a, features_b, num_subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
  """Mean and std of unbiased MMD² over ``num_subsets`` random equal-size subset pairs."""
  a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
  size = min(subset_size, len(a), len(b))
  if size < 2:
    raise ValueError("kernel distance needs at least 2 features in each set")
  rng = np.random.default_rng(seed)
  values = [mmd2_unbiased(a[rng.choice(len(a), size, replace=False)],
                          b[rng.choice(len(b), size, replace=False)])
            for _ in range(num_subsets)]
  return float(np.mean(values)), float(np.std(values))


kernel_inception_distance = kernel_distance
