"""Metric math against closed forms, scipy and brute force."""

import numpy as np
import pytest
import scipy.linalg
from scipy.ndimage import gaussian_filter

from ganjax import metrics


def test_frechet_distance_of_gaussians_is_the_closed_form():
  # Commuting (diagonal) covariances: d² = ‖Δμ‖² + Σ (√a − √b)².
  mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
  a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
  expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
  assert metrics.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)


def test_frechet_distance_of_a_set_with_itself_is_zero():
  x = np.random.default_rng(0).normal(size=(500, 32))
  assert abs(metrics.frechet_distance_of(x, x)) < 1e-9


def test_frechet_distance_matches_scipy_sqrtm_in_64_dimensions():
  rng = np.random.default_rng(1)
  a = rng.normal(size=(400, 64)) @ rng.normal(size=(64, 64)) * 0.3
  b = rng.normal(size=(300, 64)) @ rng.normal(size=(64, 64)) * 0.2 + 0.5
  mu1, s1 = metrics.feature_statistics(a)
  mu2, s2 = metrics.feature_statistics(b)
  reference = (np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2)
               - 2.0 * np.trace(scipy.linalg.sqrtm(s1 @ s2)).real)
  assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-4)


def test_unbiased_mmd_matches_a_brute_force_double_loop():
  rng = np.random.default_rng(2)
  x, y = rng.normal(size=(12, 5)), rng.normal(0.3, 1.2, size=(12, 5))
  k = lambda u, v: (u @ v / 5 + 1.0) ** 3  # noqa: E731
  m = len(x)
  xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
  yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
  xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m ** 2
  assert metrics.mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-10)


def test_kernel_distance_separates_distributions():
  rng = np.random.default_rng(3)
  same = metrics.kernel_inception_distance(rng.normal(size=(600, 16)), rng.normal(size=(600, 16)),
                                           num_subsets=20, subset_size=200)
  shifted = metrics.kernel_distance(rng.normal(size=(600, 16)), rng.normal(0.5, 1, (600, 16)),
                                    num_subsets=20, subset_size=200)
  assert abs(same[0]) < 3 * same[1] + 1e-3
  assert shifted[0] > 10 * max(same[1], 1e-3)


def test_precision_recall_density_coverage_on_identical_and_disjoint_sets():
  rng = np.random.default_rng(4)
  real = rng.normal(size=(300, 8))
  assert metrics.precision_recall(real, real.copy()) == (1.0, 1.0)
  assert metrics.density_coverage(real, real.copy())[1] == 1.0
  far = real + 100.0
  assert metrics.precision_recall(real, far) == (0.0, 0.0)
  assert metrics.density_coverage(real, far) == (0.0, 0.0)
  # Half the fake set is off the manifold: precision ≈ 0.5, recall stays high.
  half = np.concatenate([rng.normal(size=(150, 8)), rng.normal(size=(150, 8)) + 100.0])
  precision, recall = metrics.precision_recall(real, half)
  assert 0.4 < precision < 0.6 and recall > 0.8


def test_density_of_a_fresh_sample_from_the_same_distribution_is_about_one():
  rng = np.random.default_rng(5)
  density, coverage = metrics.density_coverage(rng.normal(size=(2000, 4)), rng.normal(size=(2000, 4)))
  assert 0.85 < density < 1.15 and coverage > 0.9


def test_sharpness_falls_monotonically_with_blur():
  images = np.random.default_rng(6).uniform(0, 1, (16, 28, 28))
  values = [metrics.sharpness(gaussian_filter(images, sigma=(0, s, s)) if s else images)
            for s in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)]
  assert all(a > b for a, b in zip(values, values[1:])), values


def test_laplacian_is_zero_on_linear_ramps():
  ramp = np.add.outer(np.arange(10.0), 2 * np.arange(10.0))[None]
  np.testing.assert_allclose(metrics.laplacian(ramp), 0.0, atol=1e-12)


def test_classifier_score_and_mode_coverage():
  k = 10
  confident_balanced = np.eye(k)[np.arange(1000) % k]
  assert metrics.classifier_score(confident_balanced) == pytest.approx(k, rel=1e-6)
  assert metrics.classifier_score(np.eye(k)[np.zeros(1000, int)]) == pytest.approx(1.0)
  assert metrics.classifier_score(np.full((50, k), 1.0 / k)) == pytest.approx(1.0)
  real_labels = np.arange(1000) % k
  one_mode = metrics.mode_coverage(np.eye(k)[np.zeros(500, int)], real_labels)
  assert one_mode["classes_generated"] == 1
  assert one_mode["class_kl"] == pytest.approx(np.log(k), rel=1e-6)
  balanced = metrics.mode_coverage(confident_balanced, real_labels)
  assert balanced["classes_generated"] == k and balanced["class_kl"] == pytest.approx(0.0, abs=1e-9)


def test_inception_score_over_splits():
  """Salimans et al.'s estimator: the classifier score of each of 10 consecutive parts."""
  k = 10
  confident = 30.0 * np.eye(k)[np.arange(1000) % k]  # every part: all classes, confidently
  mean, std = metrics.inception_score(confident)
  assert mean == pytest.approx(k, rel=1e-6) and std == pytest.approx(0.0, abs=1e-6)
  # Sorted labels: each part holds one class, so each part scores 1, whatever the whole does.
  mean, std = metrics.inception_score(30.0 * np.eye(k)[np.arange(1000) // 100])
  assert mean == pytest.approx(1.0, rel=1e-6)
  logits = np.random.default_rng(0).normal(size=(500, 7)) * 3
  probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
  assert metrics.inception_score(logits, splits=1)[0] == pytest.approx(
      metrics.classifier_score(probs), rel=1e-12)
  parts = [metrics.classifier_score(probs[i * 50:(i + 1) * 50]) for i in range(10)]
  assert metrics.inception_score(logits) == pytest.approx((np.mean(parts), np.std(parts)))


def test_fid_infinity_removes_the_small_sample_bias():
  """Real N(0, I) and fake N(μ, I) in 64 dimensions: the true FID is ‖μ‖² = 1. FID of 1000
  fake samples is biased upwards by about 1.1 (the covariance estimate's error grows with
  d²/N); the extrapolation to N → ∞ is not."""
  d, mu = 64, np.full(64, 0.125)
  real = np.random.default_rng(0).standard_normal((100_000, d))
  fake = np.random.default_rng(1).standard_normal((1000, d)) + mu
  biased = metrics.frechet_distance_of(real, fake)
  unbiased = metrics.frechet_distance_infinity(real, fake, smallest=200)
  assert biased - 1.0 > 0.8, biased  # the bias this test is about
  assert abs(unbiased - 1.0) < 0.25, unbiased
