"""A folder of images (PNG, JPEG, ...) as a dataset; sub-folder names become labels."""

import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from ganjax.errors import UserError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def load_folder(directory: str) -> tuple[np.ndarray, np.ndarray]:
  """(images uint8 (N, H, W, C), labels int32 (N,)) from every image under ``directory``.

  Images directly in ``directory`` get label 0; images in sub-folders get the index of their
  sub-folder in sorted order. All images must share one size and mode.
  """
  if not os.path.isdir(directory):
    raise UserError(f"image folder {directory!r} does not exist; set --config.data.path")
  classes = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
  entries = [(directory, 0)] + [(os.path.join(directory, d), i) for i, d in enumerate(classes)]
  images, labels = [], []
  for folder, label in entries:
    for name in sorted(os.listdir(folder)):
      path = os.path.join(folder, name)
      if not name.lower().endswith(EXTENSIONS):
        continue
      try:
        with Image.open(path) as img:
          array = np.asarray(img.convert("L" if img.mode in ("L", "1", "P") else "RGB"))
      except (UnidentifiedImageError, OSError) as e:
        raise UserError(f"cannot read image {path}: {e}; remove or replace it") from None
      array = array[..., None] if array.ndim == 2 else array
      if images and array.shape != images[0].shape:
        raise UserError(f"image {path} is {array.shape}, the others are {images[0].shape}; "
                        "resize the folder to one size and mode")
      images.append(array)
      labels.append(label)
  if not images:
    raise UserError(f"no images ({', '.join(EXTENSIONS)}) found under {directory!r}")
  return np.stack(images).astype(np.uint8), np.asarray(labels, np.int32)
