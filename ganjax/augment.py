"""Differentiable augmentation of D's inputs (DiffAugment; Zhao et al. 2020).

With ``config.model.augment = "color,translation,cutout"`` every image D sees in training,
real or generated, in D's update and in G's, is D(T(x)) with T drawn afresh per image: G's
gradient flows through T, so D cannot memorise a small real set and G is not taught to draw
the augmentations. Images are in G's range (−1 … 1 or 0 … 1); each op follows the paper's
code: ``color`` shifts brightness by U(−½, ½), scales saturation by U(0, 2) and contrast by
U(½, 1½); ``translation`` moves by whole pixels up to ⅛ of the size, filling with 0;
``cutout`` zeroes a square of half the size at a random position.
"""

import jax
import jax.numpy as jnp

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO, CUTOUT_RATIO = 0.125, 0.5


def parse(policy: str) -> tuple[str, ...]:
  """``"color,translation"`` → ("color", "translation"); "" → () (off)."""
  return tuple(p.strip() for p in policy.split(",") if p.strip())


def color(x, brightness, saturation, contrast):
  """x + b, then (x − mean over channels)·s + that mean, then (x − mean over the image)·c +
  that mean; ``brightness``, ``saturation``, ``contrast``: one value per image."""
  per_image = (-1, 1, 1, 1)
  x = x + brightness.reshape(per_image)
  mean = x.mean(axis=3, keepdims=True)
  x = (x - mean) * saturation.reshape(per_image) + mean
  mean = x.mean(axis=(1, 2, 3), keepdims=True)
  return (x - mean) * contrast.reshape(per_image) + mean


def translate(x, dy, dx):
  """Each image moved by (dy, dx) whole pixels (one pair per image), the uncovered border 0."""
  n, h, w, _ = x.shape
  rows = jnp.arange(h)[None, :] - dy[:, None]  # source row of each target row
  cols = jnp.arange(w)[None, :] - dx[:, None]
  inside = (((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :])
  gathered = x[jnp.arange(n)[:, None, None], jnp.clip(rows, 0, h - 1)[:, :, None],
               jnp.clip(cols, 0, w - 1)[:, None, :]]
  return gathered * inside[..., None]


def cutout(x, top, left, size: int):
  """Each image with the ``size`` × ``size`` square at (top, left) zeroed (clipped to it)."""
  _, h, w, _ = x.shape
  rows = jnp.arange(h)[None, :] - top[:, None]
  cols = jnp.arange(w)[None, :] - left[:, None]
  square = (((rows >= 0) & (rows < size))[:, :, None] & ((cols >= 0) & (cols < size))[:, None, :])
  return x * (1.0 - square[..., None].astype(x.dtype))


def diff_augment(x, key, policy: tuple[str, ...]):
  """T(x) for the ops of ``policy``, with every parameter drawn per image from ``key``."""
  n, h, w, _ = x.shape
  keys = iter(jax.random.split(key, 8))
  if "color" in policy:
    u = jax.random.uniform(next(keys), (3, n), x.dtype)
    x = color(x, u[0] - 0.5, u[1] * 2.0, u[2] + 0.5)
  if "translation" in policy:
    sy, sx = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
    x = translate(x, jax.random.randint(next(keys), (n,), -sy, sy + 1),
                  jax.random.randint(next(keys), (n,), -sx, sx + 1))
  if "cutout" in policy:
    size = int(h * CUTOUT_RATIO + 0.5)
    # the square's centre anywhere in the image, as the paper's code draws it
    top = jax.random.randint(next(keys), (n,), 0, h + (1 - size % 2)) - size // 2
    left = jax.random.randint(next(keys), (n,), 0, w + (1 - size % 2)) - size // 2
    x = cutout(x, top, left, size)
  return x
