"""TFDS datasets by name, random access through ``tfds.data_source`` (no TensorFlow needed).

Preparing a dataset the first time needs network access and TensorFlow (``pip install
.[tf]``); afterwards ``data_source`` reads the ArrayRecord files offline.
"""

import numpy as np

from ganjax.errors import UserError


class TFDSSource:
  """Random-access images and labels of a prepared TFDS split."""

  def __init__(self, name: str, split: str = "train", data_dir: str | None = None,
               download: bool = False):
    import tensorflow_datasets as tfds
    from absl import logging as absl_logging
    verbosity = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)  # its warnings repeat the error below
    try:
      self._source = tfds.data_source(name, split=split, data_dir=data_dir or None,
                                      download=download)
    except Exception as e:  # TFDS raises many types for "not prepared" and "unknown name"
      raise UserError(
          f"TFDS dataset {name!r} (split {split!r}) is not available offline "
          f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); prepare it on a "
          "machine with internet (pip install '.[tf]', then "
          f"--config.data.source=tfds --config.data.download=true) or point "
          "--config.data.path at prepared TFDS data") from None
    finally:
      absl_logging.set_verbosity(verbosity)
    first = self._source[0]
    self.image_shape = tuple(np.shape(first["image"]))
    self.has_labels = "label" in first

  def __len__(self) -> int:
    return len(self._source)

  def get(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    records = [self._source[int(i)] for i in indices]
    images = np.stack([np.asarray(r["image"], np.uint8) for r in records])
    labels = np.array([r.get("label", -1) for r in records], np.int32)
    return images, labels
