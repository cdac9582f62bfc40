"""Trains the in-project feature network (``ganjax.metrics.features``) once per dataset and
caches it, for evaluation and for the perceptual loss; and the perceptual loss's independent
network (``PerceptualNet``, ``config.loss.perceptual_net="independent"``) the same way.

Adam 1e-3, batch ``BATCH``, ``EPOCHS`` epochs, seeded. The weights are cached (Orbax,
digest-checked) under ``<cache>/features/<dataset>-<H>x<W>x<C>-<fingerprint>-v<VERSION>``;
the fingerprint hashes the training images, so two different datasets with one name never
share a network. Its test accuracy is stored beside it and reported with every evaluation.
"""

import hashlib
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm import tqdm

from ganjax import data
from ganjax.cache import cache_dir
from ganjax.checkpoint import Checkpointer
from ganjax.errors import UserError
from ganjax.metrics.features import NETWORKS, FeatureExtractor, to_unit_range
from ganjax.workdir import write_atomically

EPOCHS = 3
BATCH = 128
VERSION = 1  # bump when the net or its training changes


def fingerprint(images: np.ndarray) -> str:
  """Short hash of a dataset's images (shape, and a strided sample of up to 4096 images)."""
  step = max(1, len(images) // 4096)
  digest = hashlib.sha256(str(images.shape).encode())
  digest.update(np.ascontiguousarray(images[::step]).tobytes())
  return digest.hexdigest()[:12]


def train(train_images, train_labels, test_images, test_labels, num_classes: int, seed: int = 0,
          epochs: int = EPOCHS, progress: bool = True, kind: str = "eval") -> tuple[dict, float]:
  """Trains the ``kind`` network (``NETWORKS``) on uint8 images; returns (params, test
  accuracy)."""
  net = NETWORKS[kind](num_classes)
  tx = optax.adam(1e-3)
  params = net.init(jax.random.PRNGKey(seed), jnp.zeros((1, *train_images.shape[1:])))["params"]
  opt = tx.init(params)

  @jax.jit
  def step(params, opt, x, y):
    def loss_fn(p):
      _, logits = net.apply({"params": p}, x)
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    grads = jax.grad(loss_fn)(params)
    updates, opt = tx.update(grads, opt, params)
    return optax.apply_updates(params, updates), opt

  steps_per_epoch = len(train_images) // BATCH
  rng = np.random.default_rng(seed)
  # disable=None: a bar on a terminal only, never carriage returns into a log file
  with tqdm(total=epochs * steps_per_epoch, disable=None if progress else True, unit="step",
            desc="feature net" if kind == "eval" else f"{kind} perceptual net") as bar:
    for _ in range(epochs):
      order = rng.permutation(len(train_images))
      for i in range(steps_per_epoch):
        idx = order[i * BATCH:(i + 1) * BATCH]
        params, opt = step(params, opt, to_unit_range(train_images[idx]), train_labels[idx])
        bar.update(1)
  _, probs = FeatureExtractor(net, params, 0.0, "")(to_unit_range(test_images))
  return params, float(np.mean(np.argmax(probs, axis=1) == test_labels))


def load_or_train(name: str, train_split, test_split, seed: int = 0,
                  progress: bool = True, kind: str = "eval") -> FeatureExtractor:
  """The cached ``kind`` network for this dataset (``NETWORKS``: the evaluation feature net,
  or the independent perceptual net), trained first if there is none.

  ``train_split`` / ``test_split`` are (uint8 images NHWC, int labels).
  """
  images, labels = train_split
  num_classes = int(np.max(labels)) + 1
  if num_classes < 2:
    raise UserError(f"dataset {name!r} has one class; the feature network needs labelled "
                    "data (a folder of class sub-folders, or an MNIST-format/TFDS dataset)")
  shape = "x".join(str(d) for d in images.shape[1:])
  prefix = "" if kind == "eval" else f"{kind}-"  # the evaluation net keeps its cache key
  key = f"{prefix}{name}-{shape}-{fingerprint(images)}-v{VERSION}-seed{seed}"
  root = cache_dir("features", key)
  if root is None:
    raise UserError("the feature network needs a cache; unset GANJAX_CACHE_DIR=off")
  net = NETWORKS[kind](num_classes)
  abstract = jax.eval_shape(lambda: net.init(jax.random.PRNGKey(0),
                                             jnp.zeros((1, *images.shape[1:])))["params"])
  info_path = os.path.join(root, "info.json")
  ckpt = Checkpointer(os.path.join(root, "checkpoint"), max_to_keep=1, async_save=False)
  try:
    if ckpt.latest_step() is not None and os.path.exists(info_path):
      with open(info_path) as f:
        accuracy = json.load(f)["test_accuracy"]
      return FeatureExtractor(net, ckpt.restore(abstract), accuracy, root)
    start = time.perf_counter()
    params, accuracy = train(images, labels, *test_split, num_classes, seed, progress=progress,
                             kind=kind)
    # Host arrays: across processes Orbax refuses to save arrays local to one device.
    ckpt.save(0, jax.device_get(params))
    ckpt.wait()
    write_atomically(info_path, json.dumps(dict(
        dataset=name, image_shape=list(images.shape[1:]), num_classes=num_classes,
        test_accuracy=accuracy, epochs=EPOCHS, train_seconds=time.perf_counter() - start)))
    return FeatureExtractor(net, params, accuracy, root)
  finally:
    ckpt.close()


def perceptual_features(data_cfg, value_range, progress: bool = True, kind: str = "eval"):
  """``φ(images)``: the features of images in ``value_range`` in the dataset's ``kind``
  network (seed 1 for the independent one, 0 for the evaluation net).

  For a perceptual loss in training (``config.loss.perceptual``); differentiable, with the
  net's weights fixed. The net is trained first if it is not cached.
  """
  extractor = load_or_train(data_cfg.name, *data.train_and_test(data_cfg),
                            seed=0 if kind == "eval" else 1, progress=progress, kind=kind)
  lo, hi = value_range

  def features(images):
    return extractor.net.apply({"params": extractor.params}, (images - lo) / (hi - lo))[0]

  return features
