"""``ganjax eval``: every metric of a trained run, measured with the in-project feature net.

Generated images (the EMA generator when there is one, eval-mode batch norm) are compared
with the dataset's test split (its train split when it has none), ``num_samples`` of each.
Reference features of the real images are cached beside the feature network.
"""

import io
import json
import os
import time

import jax
import ml_collections
import numpy as np

from ganjax import cpu, data, feature_net, latents, metrics
from ganjax.experiment import sample_images
from ganjax.metrics import features as features_lib
from ganjax.metrics import inception
from ganjax.saved_run import load_run
from ganjax.workdir import write_atomically

GENERATE_BATCH = 500


def generated_images01(exp, state, num: int, seed: int) -> np.ndarray:
  """``num`` samples in [0, 1] from latents of ``seed`` (independent of the training noise)."""
  lo, hi = exp.value_range
  key = jax.random.fold_in(jax.random.PRNGKey(seed), 0xE7A1)
  out = []
  for i, start in enumerate(range(0, num, GENERATE_BATCH)):
    n = min(GENERATE_BATCH, num - start)
    z = latents.sample(jax.random.fold_in(key, i), (n, exp.config.latent_dim),
                       exp.config.latent_distribution)
    out.append(np.clip((sample_images(exp, state, z) - lo) / (hi - lo), 0.0, 1.0))
  return np.concatenate(out).astype(np.float32)


class Evaluator:
  """Measures generators against one dataset; the feature net and real features load once."""

  def __init__(self, data_cfg: ml_collections.ConfigDict, num_samples: int = 10000,
               progress: bool = True, inception_weights: str | None = None,
               inception_size: int = 299):
    # Distances in Inception's pool space when given; class scores stay the feature net's.
    # The file is checked first, before minutes of feature-net training.
    self.inception = None
    if inception_weights:
      self.inception = (inception.load(inception_weights), inception_size)
    train_split, test_split = data.train_and_test(data_cfg)
    self.extractor = feature_net.load_or_train(data_cfg.name, train_split, test_split,
                                                progress=progress)
    real_images, real_labels = test_split
    self.num_samples, self.num_real = num_samples, min(num_samples, len(real_images))
    self.real01 = features_lib.to_unit_range(real_images[:self.num_real])
    self.real_labels = real_labels[:self.num_real]
    self.real_sharpness = metrics.sharpness(self.real01)
    if self.inception is not None:  # uint8, as the network is fed in papers
      self.real_features = self._inception_pool(inception.quantize(self.real01))
    else:
      self.real_features = _cached_reference(self.extractor, self.real01)

  def __call__(self, exp, state, seed: int = 0) -> dict:
    fake01 = generated_images01(exp, state, self.num_samples, seed)
    fake_feats, fake_probs = self.extractor(fake01)
    if self.inception is not None:
      fake_feats = self._inception_pool(inception.quantize(fake01))
    real = self.real_features
    kid_mean, kid_std = metrics.kernel_distance(real, fake_feats)
    precision, recall = metrics.precision_recall(real, fake_feats)
    density, coverage = metrics.density_coverage(real, fake_feats)
    return dict(
        step=int(state.step), num_fake=int(self.num_samples), num_real=int(self.num_real),
        fid=metrics.frechet_distance_of(real, fake_feats), kid=kid_mean, kid_std=kid_std,
        precision=precision, recall=recall, density=density, coverage=coverage,
        classifier_score=metrics.classifier_score(fake_probs),
        **metrics.mode_coverage(fake_probs, self.real_labels),
        sharpness_fake=metrics.sharpness(fake01), sharpness_real=self.real_sharpness,
        feature_net_test_accuracy=self.extractor.test_accuracy,
        features="fid_inception" if self.inception is not None else "ganjax_feature_net")

  def _inception_pool(self, images: np.ndarray) -> np.ndarray:
    """Pool3 features of uint8 images, with torch-fidelity's TF1 resize."""
    variables, size = self.inception
    return inception.features(variables, images, "tf1", size=size)[0]


def evaluate(workdir: str, num_samples: int = 10000, seed: int = 0, progress: bool = True,
             inception_weights: str | None = None) -> dict:
  """All metrics of the latest checkpoint in ``workdir``; also written to ``workdir/eval.json``.

  With ``inception_weights`` (pytorch-fid's ``.pth`` or an ``.npz`` of it, see
  ``ganjax.metrics.inception``), FID, KID, precision/recall and density/coverage use the FID
  Inception's pool3 features of uint8 images resized as TF1 did (``resize="tf1"``).
  """
  start_time = time.perf_counter()
  exp, state = load_run(workdir)
  with cpu.fast_paths(exp.config.fast_paths):
    result = Evaluator(exp.config.data, num_samples, progress, inception_weights)(exp, state, seed)
  result["seconds"] = time.perf_counter() - start_time
  write_atomically(os.path.join(workdir, "eval.json"), json.dumps(result, indent=2))
  return result


def _cached_reference(extractor, real01: np.ndarray) -> np.ndarray:
  """Feature-net features of the real images, cached with the net (keyed by their count)."""
  path = os.path.join(extractor.directory, f"reference_{len(real01)}.npy")
  if os.path.exists(path):
    return np.load(path)
  feats, _ = extractor(real01)
  buffer = io.BytesIO()
  np.save(buffer, feats)
  write_atomically(path, buffer.getvalue())
  return feats
