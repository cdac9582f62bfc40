"""The in-project feature network: a small CNN classifier of the dataset's own images.

Inception weights cannot be downloaded here, and Inception features of 28×28 grey images
say little anyway. Following TF-GAN's MNIST Fréchet distance, ganjax uses a classifier
trained on the dataset's train split (``ganjax.feature_net`` trains and caches it): its
penultimate layer (``FEATURE_DIM`` units) is the feature space for FID/KID/precision–recall,
its softmax feeds the classifier score and mode coverage.

Net: conv 32 3×3 → max-pool → conv 64 3×3 → max-pool → dense 128 (features) → dense K,
ReLU. Images enter in [0, 1] and are mapped to [−1, 1].
"""

import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

FEATURE_DIM = 128


class FeatureNet(nn.Module):
  num_classes: int

  @nn.compact
  def __call__(self, images01):
    x = images01 * 2.0 - 1.0
    x = nn.max_pool(nn.relu(nn.Conv(32, (3, 3))(x)), (2, 2), (2, 2))
    x = nn.max_pool(nn.relu(nn.Conv(64, (3, 3))(x)), (2, 2), (2, 2))
    features = nn.relu(nn.Dense(FEATURE_DIM)(x.reshape(x.shape[0], -1)))
    return features, nn.Dense(self.num_classes)(features)


class PerceptualNet(nn.Module):
  """A perceptual-loss network independent of the evaluation one: another architecture and
  seed, and features that keep each scale's texture rather than one pooled vector.

  conv 24 → avg-pool → conv 48 → avg-pool → conv 96, 3×3, GELU; the features are each
  layer's per-channel spatial mean and standard deviation (2 · 168 = 336 values, the
  statistics that blur lowers), and a dense K head trains it as a classifier.
  """
  num_classes: int

  @nn.compact
  def __call__(self, images01):
    x, statistics = images01 * 2.0 - 1.0, []
    for i, width in enumerate((24, 48, 96)):
      if i:
        x = nn.avg_pool(x, (2, 2), (2, 2))
      x = nn.gelu(nn.Conv(width, (3, 3))(x))
      # √(var + ε): a channel that is constant over the image (std 0) has a finite gradient
      statistics += [x.mean(axis=(1, 2)), jnp.sqrt(x.var(axis=(1, 2)) + 1e-6)]
    features = jnp.concatenate(statistics, axis=-1)
    return features, nn.Dense(self.num_classes)(features)


NETWORKS = {"eval": FeatureNet, "independent": PerceptualNet}


@dataclasses.dataclass
class FeatureExtractor:
  """Penultimate features and class probabilities of images in [0, 1]."""
  net: FeatureNet
  params: dict
  test_accuracy: float
  directory: str

  def __call__(self, images01: np.ndarray, batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    feats, probs = [], []
    for start in range(0, len(images01), batch):
      f, p = _apply(self.net, self.params, jnp.asarray(images01[start:start + batch], jnp.float32))
      feats.append(np.asarray(f))
      probs.append(np.asarray(p))
    return np.concatenate(feats), np.concatenate(probs)


@functools.partial(jax.jit, static_argnums=0)
def _apply(net, params, images):
  features, logits = net.apply({"params": params}, images)
  return features, jax.nn.softmax(logits)


def to_unit_range(images: np.ndarray) -> np.ndarray:
  """uint8 pixels → float32 in [0, 1]."""
  return np.asarray(images, np.float32) / 255.0
