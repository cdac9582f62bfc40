"""The FID Inception network: the TensorFlow graph behind published FIDs, from local weights.

ganjax never downloads weights. ``load(path)`` reads pytorch-fid's
``pt_inception-2015-12-05-6726825d.pth`` (with torch installed), or an ``.npz`` of that
state dict key for key (``np.savez(path, **{k: v.numpy() for k, v in sd.items()})``).
``features(variables, images, resize)`` maps uint8 images to the 2048-d pool3 features
and the 1008 logits of the network's ``fc`` layer. The body is the TF FID graph as
pytorch-fid and torch-fidelity port it (Szegedy et al. 2016; Heusel et al. 2017): every
average pool excludes padding, and Mixed_7c's pool branch is a max pool. The resize modes
reproduce the peers' preprocessing (``resize_to``).
"""

import functools
import hashlib
import io

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from ganjax.errors import UserError

FEATURE_DIM = 2048
NUM_LOGITS = 1008
INPUT_SIZE = 299
RESIZE_MODES = ("tf1", "pytorch", "clean")
WEIGHTS_HINT = ("pytorch-fid's pt_inception-2015-12-05-6726825d.pth, or an .npz of its state "
                "dict (ganjax/metrics/inception.py)")


class ConvBN(nn.Module):
  """torchvision's BasicConv2d: a convolution without bias, batch norm (eps 1e-3), ReLU."""
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


def _max_pool(x, strides=2, padding="VALID"):
  return nn.max_pool(x, (3, 3), (strides, strides), padding)


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
  """``max_pool``: the pool branch of the graph's last block (Mixed_7c) takes the maximum."""
  max_pool: bool = False

  @nn.compact
  def __call__(self, x):
    b1 = ConvBN(320, name="branch1x1")(x)
    b3 = ConvBN(384, name="branch3x3_1")(x)
    b3 = jnp.concatenate([ConvBN(384, (1, 3), name="branch3x3_2a")(b3),
                          ConvBN(384, (3, 1), name="branch3x3_2b")(b3)], -1)
    bd = ConvBN(384, (3, 3), name="branch3x3dbl_2")(ConvBN(448, name="branch3x3dbl_1")(x))
    bd = jnp.concatenate([ConvBN(384, (1, 3), name="branch3x3dbl_3a")(bd),
                          ConvBN(384, (3, 1), name="branch3x3dbl_3b")(bd)], -1)
    pooled = _max_pool(x, 1, "SAME") if self.max_pool else _avg_pool(x)
    bp = ConvBN(192, name="branch_pool")(pooled)
    return jnp.concatenate([b1, b3, bd, bp], -1)


class FIDInception(nn.Module):
  """Normalised RGB images (N, 299, 299, 3) → (pool3 features (N, 2048), logits (N, 1008))."""

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
    x = InceptionE(max_pool=True, name="Mixed_7c")(InceptionE(name="Mixed_7b")(x))
    pool = x.mean(axis=(1, 2))
    return pool, nn.Dense(NUM_LOGITS, name="fc")(pool)


# torch state-dict suffix → (Flax collection, leaf name, transpose of the torch array)
_TORCH_LEAVES = {"conv.weight": ("params", "kernel", (2, 3, 1, 0)),
                 "bn.weight": ("params", "scale", None), "bn.bias": ("params", "bias", None),
                 "bn.running_mean": ("batch_stats", "mean", None),
                 "bn.running_var": ("batch_stats", "var", None),
                 "fc.weight": ("params", "kernel", (1, 0)), "fc.bias": ("params", "bias", None)}


@functools.cache
def torch_shapes() -> dict:
  """``{torch state-dict key: shape}`` of every array the weights file must hold."""
  variables = jax.eval_shape(FIDInception().init, jax.random.PRNGKey(0),
                             jnp.zeros((1, INPUT_SIZE, INPUT_SIZE, 3)))
  shapes = {}
  for path, leaf in traverse_util.flatten_dict(variables).items():
    collection, *modules, name = path
    for suffix, (coll, flax_name, order) in _TORCH_LEAVES.items():
      if coll == collection and flax_name == name and modules[-1] == suffix.split(".")[0]:
        shape = tuple(leaf.shape)
        shapes[".".join([*modules, suffix.split(".")[1]])] = (
            tuple(shape[i] for i in np.argsort(order)) if order else shape)
  return shapes


def load(path: str):
  """The network's variables from pytorch-fid's ``.pth`` or an ``.npz`` of its state dict;
  a file that is not one (unreadable, keys or shapes wrong) is refused in one line."""
  return load_with_digest(path)[0]


def load_with_digest(path: str) -> tuple[dict, str]:
  """``load(path)`` and the file's sha256, from one read of the file."""
  state, digest = _read_state_dict(path)
  want = torch_shapes()
  for key in sorted(want):  # the first problem, in a stable order
    if key not in state:
      missing = sum(k not in state for k in want)
      raise UserError(f"--inception-weights {path}: {missing} of {len(want)} arrays missing, "
                      f"e.g. {key!r}; expected {WEIGHTS_HINT}")
    if tuple(state[key].shape) != want[key]:
      raise UserError(f"--inception-weights {path}: {key!r} is {tuple(state[key].shape)}, the "
                      f"FID Inception needs {want[key]}; expected {WEIGHTS_HINT}")
  flat = {}
  for key in want:
    *modules, leaf = key.split(".")
    collection, name, order = _TORCH_LEAVES[f"{modules[-1]}.{leaf}"]
    value = np.asarray(state[key], np.float32)
    flat[(collection, *modules, name)] = jnp.asarray(value.transpose(order) if order else value)
  return traverse_util.unflatten_dict(flat), digest


def _read_state_dict(path: str) -> tuple[dict, str]:
  """The file's state dict and sha256."""
  try:
    with open(path, "rb") as f:
      data = f.read()
    digest = hashlib.sha256(data).hexdigest()
    if path.endswith(".pth"):
      import torch  # only to read pytorch-fid's own file
      state = torch.load(io.BytesIO(data), map_location="cpu")
      return {k: v.numpy() for k, v in state.items()}, digest
    with np.load(io.BytesIO(data)) as f:
      return {k: f[k] for k in f.files}, digest
  except ImportError:
    raise UserError(f"--inception-weights {path}: reading a .pth needs torch (pip install "
                    "torch), or convert it once to .npz") from None
  except Exception as e:  # noqa: BLE001 (numpy, zipfile and torch raise many types)
    raise UserError(f"--inception-weights {path}: cannot read it ({type(e).__name__}: "
                    f"{str(e).splitlines()[0] if str(e) else ''}); expected {WEIGHTS_HINT}") from None


def resize_to(images: np.ndarray, resize: str, size: int = INPUT_SIZE) -> jax.Array:
  """uint8 (N, H, W, C) images → the network's float32 input (N, size, size, 3), as each
  peer prepares it:

    tf1      torch-fidelity: 0..255, TF1's bilinear resize (no half-pixel offset:
             source = output · in/out), then (x − 128)/128.
    pytorch  pytorch-fid: x/255, bilinear with half-pixel centres (``align_corners=False``,
             source = (output + ½) · in/out − ½, clamped at 0), then 2x − 1.
    clean    clean-fid: PIL's bicubic resize of each channel as float, clipped to 0..255,
             then (x − 128)/128 (computed on the host).
  Grey images are repeated to RGB first.
  """
  if resize not in RESIZE_MODES:
    raise UserError(f"unknown Inception resize mode {resize!r}; choose from "
                    f"{', '.join(RESIZE_MODES)}")
  images = np.asarray(images)
  if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
    raise ValueError(f"expected uint8 images (N, H, W, 1 or 3), got {images.dtype} "
                     f"{images.shape}")
  if images.shape[-1] == 1:
    images = np.repeat(images, 3, axis=-1)
  if resize == "clean":
    return jnp.asarray((_pil_bicubic(images, size) - 128.0) / 128.0, jnp.float32)
  return _bilinear(jnp.asarray(images), size, resize == "pytorch")


@functools.partial(jax.jit, static_argnums=(1, 2))
def _bilinear(images, size: int, half_pixel: bool):
  x = images.astype(jnp.float32)
  x = _lerp_axis(_lerp_axis(x, 2, size, half_pixel), 1, size, half_pixel)
  return 2.0 * (x / 255.0) - 1.0 if half_pixel else (x - 128.0) / 128.0


def _lerp_axis(x, axis: int, size: int, half_pixel: bool):
  """Linear interpolation of ``x`` along ``axis`` to ``size`` samples."""
  n = x.shape[axis]
  scale = jnp.float32(n / size)
  out = jnp.arange(size, dtype=jnp.float32)
  source = jnp.maximum((out + 0.5) * scale - 0.5, 0.0) if half_pixel else out * scale
  lo = jnp.floor(source).astype(jnp.int32)
  hi = jnp.minimum(lo + 1, n - 1)
  shape = [1] * x.ndim
  shape[axis] = size
  frac = (source - lo).reshape(shape)
  a, b = jnp.take(x, lo, axis=axis), jnp.take(x, hi, axis=axis)
  return a + (b - a) * frac


def _pil_bicubic(images: np.ndarray, size: int) -> np.ndarray:
  from PIL import Image
  out = np.empty((len(images), size, size, 3), np.float32)
  for i, image in enumerate(images):
    for c in range(3):
      channel = Image.fromarray(image[..., c].astype(np.float32), mode="F")
      out[i, ..., c] = np.asarray(channel.resize((size, size), Image.BICUBIC))
  return np.clip(out, 0.0, 255.0)


@jax.jit
def _apply(variables, x):
  return FIDInception().apply(variables, x)


def features(variables, images: np.ndarray, resize: str = "tf1", batch: int = 50,
             size: int = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray]:
  """(pool3 features (N, 2048), logits (N, 1008)) of uint8 images (N, H, W, 1 or 3) by the
  network with ``variables`` (``load``), each preprocessed as ``resize`` says
  (``resize_to``). ``size`` is 299 for the published network; smaller only in tests."""
  pools, logits = [], []
  for start in range(0, len(images), batch):
    pool, logit = _apply(variables, resize_to(images[start:start + batch], resize, size))
    pools.append(np.asarray(pool))
    logits.append(np.asarray(logit))
  return np.concatenate(pools), np.concatenate(logits)


def quantize(images01: np.ndarray) -> np.ndarray:
  """Images in [0, 1] → uint8, rounded, as StyleGAN2's metrics and clean-fid store generated
  images before any feature network sees them."""
  return np.clip(np.rint(np.asarray(images01) * 255.0), 0, 255).astype(np.uint8)
