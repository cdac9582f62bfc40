"""Fréchet distance between Gaussians fitted to features (FID when the features are Inception's).

  d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½

(Dowson & Landau 1982; Heusel et al. 2017, "GANs trained by a two time-scale update rule
converge to a local Nash equilibrium"). tr (Σ₁Σ₂)^½ equals tr (Σ₁^½ Σ₂ Σ₁^½)^½, whose argument
is symmetric positive semi-definite, so both square roots come from symmetric
eigendecompositions: no iterations, no complex parts, and tiny negative eigenvalues from
round-off are clipped to zero. Everything runs in float64.
"""

import numpy as np


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Mean and (unbiased) covariance of (N, D) features, in float64."""
  features = np.asarray(features, np.float64)
  if features.ndim != 2 or features.shape[0] < 2:
    raise ValueError(f"need (N >= 2, D) features, got shape {features.shape}")
  return features.mean(axis=0), np.cov(features, rowvar=False)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
  values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
  return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
  """Squared Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
  root1 = _sqrt_psd(sigma1)
  cross = np.linalg.eigvalsh(root1 @ sigma2 @ root1)
  trace_sqrt = np.sum(np.sqrt(np.clip(cross, 0.0, None)))
  diff = mu1 - mu2
  return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)


def frechet_distance_of(features_a, features_b) -> float:
  """Fréchet distance between the Gaussians fitted to two feature sets."""
  return frechet_distance(*feature_statistics(features_a), *feature_statistics(features_b))


def frechet_distance_infinity(real_features, fake_features, num_points: int = 15,
                              smallest: int | None = None, seed: int = 0) -> float:
  """FID∞ (Chong & Forsyth 2020, "Effectively unbiased FID and Inception Score and where to
  find them"): FID of the real features against ``num_points`` random subsets of the fake
  features, of sizes N evenly spaced from ``smallest`` (default: a fifth of them, at most
  5000) to all; FID_N is linear in 1/N, and the fit's value at 1/N = 0 is the estimate for
  infinitely many samples, free of FID's bias towards small N."""
  fake = np.asarray(fake_features, np.float64)
  smallest = smallest or max(2, min(5000, len(fake) // 5))
  sizes = np.linspace(smallest, len(fake), num_points).astype(int)
  mu, sigma = feature_statistics(real_features)
  rng = np.random.default_rng(seed)
  fids = [frechet_distance(mu, sigma, *feature_statistics(fake[rng.permutation(len(fake))[:n]]))
          for n in sizes]
  _, intercept = np.polyfit(1.0 / sizes, fids, 1)
  return float(intercept)
