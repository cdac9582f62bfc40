"""``ganjax eval``: every metric of a trained run, measured with the in-project feature net
and, given its weights, the FID Inception network.

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
               inception_size: int = inception.INPUT_SIZE):
    # The weights file is checked first, before minutes of feature-net training.
    self.inception = (InceptionMetrics(inception_weights, inception_size)
                      if inception_weights else None)
    train_split, test_split = data.train_and_test(data_cfg)
    self.extractor = feature_net.load_or_train(data_cfg.name, train_split, test_split,
                                                progress=progress)
    real_images, real_labels = test_split
    self.num_samples, self.num_real = num_samples, min(num_samples, len(real_images))
    self.real01 = features_lib.to_unit_range(real_images[:self.num_real])
    self.real_labels = real_labels[:self.num_real]
    self.real_sharpness = metrics.sharpness(self.real01)
    self.real_features = _cached_reference(self.extractor, self.real01)
    if self.inception is not None:
      self.inception.set_reference(inception.quantize(self.real01))

  def __call__(self, exp, state, seed: int = 0) -> dict:
    fake01 = generated_images01(exp, state, self.num_samples, seed)
    fake_feats, fake_probs = self.extractor(fake01)
    real = self.real_features
    kid_mean, kid_std = metrics.kernel_distance(real, fake_feats)
    precision, recall = metrics.precision_recall(real, fake_feats)
    density, coverage = metrics.density_coverage(real, fake_feats)
    result = dict(
        step=int(state.step), num_fake=int(self.num_samples), num_real=int(self.num_real),
        fid=metrics.frechet_distance_of(real, fake_feats), kid=kid_mean, kid_std=kid_std,
        precision=precision, recall=recall, density=density, coverage=coverage,
        classifier_score=metrics.classifier_score(fake_probs),
        **metrics.mode_coverage(fake_probs, self.real_labels),
        sharpness_fake=metrics.sharpness(fake01), sharpness_real=self.real_sharpness,
        feature_net_test_accuracy=self.extractor.test_accuracy, features="ganjax_feature_net")
    if self.inception is not None:
      result.update(self.inception(inception.quantize(fake01)))
    return result


class InceptionMetrics:
  """FID, FID∞, KID, precision/recall and the Inception Score in the FID Inception's space
  (keys ``inception_*``), with what they were made from: the weights file and its sha256,
  the resize mode, the reference split and its size. Images are uint8, as in papers."""

  RESIZE = "tf1"  # torch-fidelity's, the TensorFlow 1 graph's own

  def __init__(self, path: str, size: int = inception.INPUT_SIZE):
    (self.variables, digest), self.size = inception.load_with_digest(path), size
    self.provenance = dict(inception_weights=os.path.abspath(path), inception_sha256=digest,
                           inception_resize=self.RESIZE, inception_reference="test")
    self.real = None

  def _features(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return inception.features(self.variables, images, self.RESIZE, size=self.size)

  def set_reference(self, real_images: np.ndarray) -> None:
    self.real = self._features(real_images)[0]
    self.provenance["inception_num_real"] = len(real_images)

  def __call__(self, fake_images: np.ndarray) -> dict:
    pool, logits = self._features(fake_images)
    unbiased = logits - np.asarray(self.variables["params"]["fc"]["bias"])
    kid_mean, kid_std = metrics.kernel_distance(self.real, pool)
    precision, recall = metrics.precision_recall(self.real, pool)
    is_mean, is_std = metrics.inception_score(unbiased)
    return dict(inception_fid=metrics.frechet_distance_of(self.real, pool),
                inception_fid_inf=metrics.frechet_distance_infinity(self.real, pool),
                inception_kid=kid_mean, inception_kid_std=kid_std,
                inception_precision=precision, inception_recall=recall,
                inception_is=is_mean, inception_is_std=is_std, **self.provenance)


def evaluate(workdir: str, num_samples: int = 10000, seed: int = 0, progress: bool = True,
             inception_weights: str | None = None) -> dict:
  """All metrics of the latest checkpoint in ``workdir``; also written to ``workdir/eval.json``.

  With ``inception_weights`` (pytorch-fid's ``.pth`` or an ``.npz`` of it, see
  ``ganjax.metrics.inception``) the ``inception_*`` metrics are added (``InceptionMetrics``).
  """
  start_time = time.perf_counter()
  exp, state = load_run(workdir)
  with cpu.fast_paths(exp.config.fast_paths):
    result = Evaluator(exp.config.data, num_samples, progress,
                       inception_weights)(exp, state, seed)
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
