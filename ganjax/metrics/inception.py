"""Inception-v3 pool features from a user-supplied weights file (``--inception-weights``).

ganjax never downloads weights. A user who has Inception-v3 weights converts them once to
ganjax's ``.npz`` layout: one array per variable, keyed ``params/<module path>/<name>`` and
``batch_stats/<module path>/<name>``, e.g. ``params/Mixed_5b/branch1x1/conv/kernel`` (HWIO
kernels; each conv has no bias and is followed by batch norm with ``scale``/``bias`` and
``mean``/``var``, eps 1e-3). ``save_weights`` writes that layout; ``expected_shapes`` lists
every key and shape. The network is torchvision's ``inception_v3`` (Szegedy et al. 2016)
up to its 2048-d global average pool; images in [0, 1] are resized bilinearly to 299×299,
grey is repeated to RGB, and values go to [−1, 1]. FIDs on these features match papers
only as far as the converted weights and the preprocessing match theirs.
"""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from ganjax.errors import UserError

FEATURE_DIM = 2048


class ConvBN(nn.Module):
  features: int
  kernel: tuple = (1, 1)
  strides: int = 1
  padding: str = "SAME"

  @nn.compact
  def __call__(self, x):
    x = nn.Conv(self.features, self.kernel, self.strides, self.padding, use_bias=False,
                name="conv")(x)
    return nn.relu(nn.BatchNorm(use_running_average=True, epsilon=1e-3, name="bn")(x))


def _avg_pool(x):
  return nn.avg_pool(x, (3, 3), (1, 1), "SAME", count_include_pad=False)


def _max_pool(x):
  return nn.max_pool(x, (3, 3), (2, 2), "VALID")


class InceptionA(nn.Module):
  pool_features: int

  @nn.compact
  def __call__(self, x):
    b1 = ConvBN(64, name="branch1x1")(x)
    b5 = ConvBN(64, (5, 5), name="branch5x5_2")(ConvBN(48, name="branch5x5_1")(x))
    b3 = ConvBN(96, (3, 3), name="branch3x3dbl_3")(
        ConvBN(96, (3, 3), name="branch3x3dbl_2")(ConvBN(64, name="branch3x3dbl_1")(x)))
    bp = ConvBN(self.pool_features, name="branch_pool")(_avg_pool(x))
    return jnp.concatenate([b1, b5, b3, bp], -1)


class InceptionB(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = ConvBN(384, (3, 3), 2, "VALID", name="branch3x3")(x)
    bd = ConvBN(96, (3, 3), 2, "VALID", name="branch3x3dbl_3")(
        ConvBN(96, (3, 3), name="branch3x3dbl_2")(ConvBN(64, name="branch3x3dbl_1")(x)))
    return jnp.concatenate([b3, bd, _max_pool(x)], -1)


class InceptionC(nn.Module):
  channels_7x7: int

  @nn.compact
  def __call__(self, x):
    c = self.channels_7x7
    b1 = ConvBN(192, name="branch1x1")(x)
    b7 = ConvBN(c, name="branch7x7_1")(x)
    b7 = ConvBN(192, (7, 1), name="branch7x7_3")(ConvBN(c, (1, 7), name="branch7x7_2")(b7))
    bd = ConvBN(c, name="branch7x7dbl_1")(x)
    for i, (k, f) in enumerate([((7, 1), c), ((1, 7), c), ((7, 1), c), ((1, 7), 192)], 2):
      bd = ConvBN(f, k, name=f"branch7x7dbl_{i}")(bd)
    bp = ConvBN(192, name="branch_pool")(_avg_pool(x))
    return jnp.concatenate([b1, b7, bd, bp], -1)


class InceptionD(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = ConvBN(320, (3, 3), 2, "VALID", name="branch3x3_2")(ConvBN(192, name="branch3x3_1")(x))
    b7 = ConvBN(192, name="branch7x7x3_1")(x)
    b7 = ConvBN(192, (7, 1), name="branch7x7x3_3")(ConvBN(192, (1, 7), name="branch7x7x3_2")(b7))
    b7 = ConvBN(192, (3, 3), 2, "VALID", name="branch7x7x3_4")(b7)
    return jnp.concatenate([b3, b7, _max_pool(x)], -1)


class InceptionE(nn.Module):
  @nn.compact
  def __call__(self, x):
    b1 = ConvBN(320, name="branch1x1")(x)
    b3 = ConvBN(384, name="branch3x3_1")(x)
    b3 = jnp.concatenate([ConvBN(384, (1, 3), name="branch3x3_2a")(b3),
                          ConvBN(384, (3, 1), name="branch3x3_2b")(b3)], -1)
    bd = ConvBN(384, (3, 3), name="branch3x3dbl_2")(ConvBN(448, name="branch3x3dbl_1")(x))
    bd = jnp.concatenate([ConvBN(384, (1, 3), name="branch3x3dbl_3a")(bd),
                          ConvBN(384, (3, 1), name="branch3x3dbl_3b")(bd)], -1)
    bp = ConvBN(192, name="branch_pool")(_avg_pool(x))
    return jnp.concatenate([b1, b3, bd, bp], -1)


class InceptionV3Pool(nn.Module):
  """Inception-v3 from RGB images in [−1, 1] to the 2048-d average-pooled features."""

  @nn.compact
  def __call__(self, x):
    x = ConvBN(32, (3, 3), 2, "VALID", name="Conv2d_1a_3x3")(x)
    x = ConvBN(32, (3, 3), padding="VALID", name="Conv2d_2a_3x3")(x)
    x = _max_pool(ConvBN(64, (3, 3), name="Conv2d_2b_3x3")(x))
    x = ConvBN(80, name="Conv2d_3b_1x1")(x)
    x = _max_pool(ConvBN(192, (3, 3), padding="VALID", name="Conv2d_4a_3x3")(x))
    for name, pool in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
      x = InceptionA(pool, name=name)(x)
    x = InceptionB(name="Mixed_6a")(x)
    for name, c in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
      x = InceptionC(c, name=name)(x)
    x = InceptionD(name="Mixed_7a")(x)
    x = InceptionE(name="Mixed_7c")(InceptionE(name="Mixed_7b")(x))
    return x.mean(axis=(1, 2))


def expected_shapes(size: int = 299) -> dict:
  """``{"params/...": shape, "batch_stats/...": shape}`` of every variable the file must hold."""
  variables = jax.eval_shape(InceptionV3Pool().init, jax.random.PRNGKey(0),
                             jnp.zeros((1, size, size, 3)))
  return {k: tuple(v.shape) for k, v in traverse_util.flatten_dict(variables, sep="/").items()}


def save_weights(path: str, variables) -> None:
  """Writes Flax variables of ``InceptionV3Pool`` in the ``.npz`` layout ``load`` reads."""
  flat = traverse_util.flatten_dict(jax.device_get(variables), sep="/")
  np.savez(path, **{k: np.asarray(v) for k, v in flat.items()})


def load(path: str):
  """Variables from an ``.npz`` file, checked against the network; one-line errors."""
  fix = "convert Inception-v3 weights to ganjax's .npz layout (ganjax/metrics/inception.py)"
  try:
    with np.load(path) as f:
      flat = {k: f[k] for k in f.files}
  except (OSError, ValueError) as e:
    raise UserError(f"--inception-weights {path}: cannot read it as .npz ({e}); {fix}") from None
  want = expected_shapes()
  for key in sorted(want):  # the first problem, in a stable order
    if key not in flat:
      missing = sum(k not in flat for k in want)
      raise UserError(f"--inception-weights {path}: {missing} variables missing, e.g. {key!r}; "
                      f"{fix}")
    if tuple(flat[key].shape) != want[key]:
      raise UserError(f"--inception-weights {path}: {key!r} is {tuple(flat[key].shape)}, "
                      f"Inception-v3 needs {want[key]}; {fix}")
  return traverse_util.unflatten_dict({k: jnp.asarray(flat[k], jnp.float32) for k in want},
                                      sep="/")


@functools.partial(jax.jit, static_argnums=2)
def _pool_features(variables, images01, size):
  x = jax.image.resize(images01, (images01.shape[0], size, size, images01.shape[-1]), "bilinear")
  if x.shape[-1] == 1:
    x = jnp.repeat(x, 3, axis=-1)
  return InceptionV3Pool().apply(variables, x * 2.0 - 1.0)


def pool_features(variables, images01: np.ndarray, size: int = 299, batch: int = 100) -> np.ndarray:
  """(N, 2048) features of (N, H, W, 1 or 3) images in [0, 1]."""
  out = [np.asarray(_pool_features(variables, jnp.asarray(images01[i:i + batch], jnp.float32), size))
         for i in range(0, len(images01), batch)]
  return np.concatenate(out)
