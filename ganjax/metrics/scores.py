"""Scores from a classifier's softmax on generated images, and the blur measure.

- Classifier score, the Inception Score of Salimans et al. 2016 with another classifier:
  exp(E_x KL(p(y|x) ‖ p(y))), between 1 and the number of classes; high when each sample
  is confidently one class and the classes are balanced. ``inception_score``: over 10 splits.
- Mode coverage: how many classes the generated samples' predicted labels reach, and
  KL(generated class histogram ‖ data class histogram) (0 when the proportions match).
- Sharpness: the mean over images of the variance of their 3×3 Laplacian
  [[0, 1, 0], [1, −4, 1], [0, 1, 0]] (Pech-Pacheco et al. 2000's focus measure); blur
  lowers it. Compare generated against real images of the same data.
"""

import numpy as np

EPS = 1e-12


def classifier_score(probs) -> float:
  """exp(mean KL(p(y|x) ‖ p(y))) of an (N, K) array of class probabilities."""
  p = np.asarray(probs, np.float64)
  marginal = p.mean(axis=0, keepdims=True)
  kl = np.sum(p * (np.log(p + EPS) - np.log(marginal + EPS)), axis=1)
  return float(np.exp(kl.mean()))


def inception_score(logits, splits: int = 10) -> tuple[float, float]:
  """The Inception Score (Salimans et al. 2016) of (N, K) logits as papers report it: the
  classifier score of their softmax on each of ``splits`` equal consecutive parts, mean and
  standard deviation over the parts. With the FID Inception the logits are its 1008 ``fc``
  outputs without the bias, as in the original TensorFlow code."""
  z = np.asarray(logits, np.float64)
  z = np.exp(z - z.max(axis=1, keepdims=True))
  probs = z / z.sum(axis=1, keepdims=True)
  n = len(probs)
  scores = [classifier_score(probs[i * n // splits:(i + 1) * n // splits]) for i in range(splits)]
  return float(np.mean(scores)), float(np.std(scores))


def mode_coverage(fake_probs, real_labels, num_classes: int | None = None) -> dict:
  """Classes reached by the generated samples' argmax, and the KL of their histogram to data's."""
  predicted = np.argmax(np.asarray(fake_probs), axis=1)
  real_labels = np.asarray(real_labels)
  k = num_classes or int(max(predicted.max(), real_labels.max()) + 1)
  fake_hist = np.bincount(predicted, minlength=k) / len(predicted)
  real_hist = np.bincount(real_labels, minlength=k) / len(real_labels)
  kl = np.sum(np.where(fake_hist > 0, fake_hist * np.log((fake_hist + EPS) / (real_hist + EPS)), 0))
  return {"classes_generated": int(np.count_nonzero(fake_hist)), "num_classes": k,
          "class_kl": float(kl)}


def laplacian(images) -> np.ndarray:
  """3×3 Laplacian of (N, H, W[, C]) images over their interior (valid) pixels."""
  x = np.asarray(images, np.float64)
  if x.ndim == 4:
    x = x.mean(axis=-1)
  return (x[:, :-2, 1:-1] + x[:, 2:, 1:-1] + x[:, 1:-1, :-2] + x[:, 1:-1, 2:]
          - 4.0 * x[:, 1:-1, 1:-1])


def sharpness(images) -> float:
  """Mean per-image variance of the Laplacian (images in any fixed value range)."""
  lap = laplacian(images)
  return float(lap.reshape(len(lap), -1).var(axis=1).mean())
