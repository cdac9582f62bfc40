"""Building blocks shared by the generators and discriminators."""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ganjax import cpu
from ganjax.cpu import convolution, threefry

UPSAMPLE_MODES = ("conv_transpose", "subpixel", "resize_conv")

ACTIVATIONS = {
    "relu": nn.relu,
    "leaky_relu": functools.partial(nn.leaky_relu, negative_slope=0.2),
    "tanh": jnp.tanh,
    "sigmoid": nn.sigmoid,
    "softplus": nn.softplus,
    "identity": lambda x: x,
}


def activation(name: str):
  """Looks up an activation function by config name."""
  return ACTIVATIONS[name]


def Conv(*args, **kwargs) -> nn.Conv:  # noqa: N802 (a module factory, named as the module)
  """``nn.Conv`` computed by ``ganjax.cpu.convolution``: Winograd or im2col where the CPU fast
  paths are on (``config.fast_paths``), XLA's convolution elsewhere. Same parameters and
  module name as ``nn.Conv``; every model builds its convolutions with it."""
  return nn.Conv(*args, conv_general_dilated=convolution.conv_general_dilated, **kwargs)


def depth_to_space(x: jax.Array, block: int) -> jax.Array:
  """Rearranges (N, H, W, C·b²) into (N, H·b, W·b, C), the pixel shuffle of Shi et al. 2016.

  Channel index ``(i·b + j)·C + c`` of input pixel (h, w) goes to output pixel
  (h·b + i, w·b + j), channel c.
  """
  n, h, w, c = x.shape
  out = c // (block * block)
  x = x.reshape(n, h, w, block, block, out)
  x = x.transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(n, h * block, w * block, out)


def icnr(init=nn.initializers.lecun_normal(), block: int = 2):
  """ICNR initialiser (Aitken et al. 2017, "Checkerboard artifact free sub-pixel convolution").

  The s² sub-pixel phases of a (k, k, in, C·s²) kernel start identical, so conv then
  depth-to-space starts as a conv followed by nearest-neighbour upsampling: no checkerboard
  at initialisation.
  """
  def init_fn(key, shape, dtype=jnp.float32):
    *spatial, fan_in, channels = shape
    base = init(key, (*spatial, fan_in, channels // (block * block)), dtype)
    return jnp.tile(base, (1,) * len(spatial) + (1, block * block))
  return init_fn


def subpixel_kernel_size(kernel_size: int, stride: int) -> int:
  """Low-resolution kernel that covers a stride-``stride`` transposed conv of ``kernel_size``.

  Each output phase of a transposed convolution sees ceil(k/s) input pixels per axis; we
  round up to an odd size so that SAME padding stays centred.
  """
  size = -(-kernel_size // stride)
  return size if size % 2 else size + 1


def _same_transpose_padding(kernel_size: int, stride: int) -> int:
  """Leading padding of ``lax.conv_transpose(..., padding="SAME")`` on the dilated input."""
  pad = kernel_size + stride - 2
  return kernel_size - 1 if stride > kernel_size - 1 else -(-pad // 2)


def transposed_to_subpixel_kernel(kernel, stride: int) -> np.ndarray:
  """The sub-pixel kernel computing exactly what a SAME stride-``stride`` transposed conv does.

  ``kernel``: (k, k, in, C) of ``nn.ConvTranspose`` (not flipped). Returns the
  (ks, ks, in, C·s²) kernel of ``Upsample(mode="subpixel")``'s low-resolution conv, ks =
  ``subpixel_kernel_size(k, s)``. The transposed conv dilates x by s, pads it by p in front
  and correlates with K, so output pixel s·q + r (phase r) is Σ_m x[q + m]·K[s·m − r + p]: a
  low-resolution correlation whose tap j = m + (ks − 1)/2 for phase r is K[s·m − r + p] (0
  where that falls outside K). The bias is the transposed conv's, tiled s² times.
  """
  kernel = np.asarray(kernel)
  k, _, cin, cout = kernel.shape
  ks, pad = subpixel_kernel_size(k, stride), _same_transpose_padding(k, stride)
  centre = (ks - 1) // 2
  taps = np.zeros((ks, stride), np.int64) - 1  # taps[j, r]: index into K, -1 for none
  for j in range(ks):
    for r in range(stride):
      t = stride * (j - centre) - r + pad
      taps[j, r] = t if 0 <= t < k else -1
  covered = {int(t) for t in taps.ravel() if t >= 0}
  if covered != set(range(k)):
    raise ValueError(f"a {ks}x{ks} sub-pixel kernel cannot hold a {k}x{k} stride-{stride} one")
  out = np.zeros((ks, ks, cin, stride, stride, cout), kernel.dtype)
  for jh in range(ks):
    for jw in range(ks):
      for rh in range(stride):
        for rw in range(stride):
          th, tw = taps[jh, rh], taps[jw, rw]
          if th >= 0 and tw >= 0:
            out[jh, jw, :, rh, rw, :] = kernel[th, tw]
  return out.reshape(ks, ks, cin, stride * stride * cout)


class Upsample(nn.Module):
  """A learned ×``stride`` upsampling to ``features`` channels.

  Modes (same function class, different cost):
    conv_transpose: ``nn.ConvTranspose`` with stride ``stride`` (Radford et al. 2016).
    subpixel: a convolution at the low resolution to ``features·stride²`` channels, then
      depth-to-space (Shi et al. 2016), ICNR-initialised. Avoids XLA:CPU's slow
      transposed-conv weight gradient.
    resize_conv: nearest-neighbour resize, then a convolution (Odena et al. 2016,
      "Deconvolution and checkerboard artifacts").
  """
  features: int
  kernel_size: int = 5
  stride: int = 2
  mode: str = "subpixel"
  use_bias: bool = True
  dtype: str = "float32"  # computation dtype; parameters stay float32

  @nn.compact
  def __call__(self, x):
    k, s = self.kernel_size, self.stride
    dt = self.dtype
    conv = functools.partial(Conv, padding="SAME", use_bias=self.use_bias, dtype=dt)
    if self.mode == "conv_transpose":
      return nn.ConvTranspose(self.features, (k, k), strides=(s, s), padding="SAME",
                              use_bias=self.use_bias, dtype=dt)(x)
    if self.mode == "subpixel":
      if s == 1:
        return conv(self.features, (k, k))(x)
      ks = subpixel_kernel_size(k, s)
      x = conv(self.features * s * s, (ks, ks), kernel_init=icnr(block=s))(x)
      return depth_to_space(x, s)
    if self.mode == "resize_conv":
      if s > 1:
        n, h, w, c = x.shape
        x = jax.image.resize(x, (n, h * s, w * s, c), method="nearest")
      return conv(self.features, (k, k))(x)
    raise ValueError(f"unknown upsampling mode {self.mode!r}; choose from {UPSAMPLE_MODES}")


class Dropout(nn.Module):
  """Flax's ``nn.Dropout``, the same masks bit for bit (same module name, same ``dropout`` RNG
  stream), drawn by ``threefry.bernoulli`` where the CPU fast paths are on.
  Zeroes each entry with probability ``rate`` in training and scales the rest by
  1 / (1 − rate) (Srivastava et al. 2014); the identity when ``deterministic``."""
  rate: float
  deterministic: bool = False

  @nn.compact
  def __call__(self, x):
    if self.deterministic or self.rate == 0.0:
      return x
    if self.rate == 1.0:
      return jnp.zeros_like(x)
    keep = 1.0 - self.rate
    bernoulli = threefry.bernoulli if cpu.enabled() else jax.random.bernoulli
    mask = bernoulli(self.make_rng("dropout"), keep, x.shape)
    return jax.lax.select(mask, x / keep, jnp.zeros_like(x))


class GaussianNoise(nn.Module):
  """x + N(0, std²) in training, x in evaluation: the discriminator regulariser of Salimans et
  al. 2016 (their MNIST D adds σ = 0.3 to the input and 0.5 before every hidden layer),
  after the ladder networks of Rasmus et al. 2015. Draws from the ``noise`` RNG stream
  (``threefry.normal``, ``jax.random.normal``'s values, where the CPU fast paths are on)."""
  std: float

  @nn.compact
  def __call__(self, x, train: bool):
    if not train or self.std == 0:
      return x
    normal = threefry.normal if cpu.enabled() else jax.random.normal
    return x + self.std * normal(self.make_rng("noise"), x.shape, x.dtype)


def spectrally_normalized(layer: nn.Module, enabled: bool, train: bool):
  """``layer``, or ``layer`` with its kernel divided by its largest singular value.

  Spectral normalisation (Miyato et al. 2018) via Flax's ``nn.SpectralNorm``: one power
  iteration per call, its vector ``u`` (and the estimate σ) kept in the ``batch_stats``
  collection — so in the GAN state — and updated only in training. Conv kernels are treated
  as (k·k·in, out) matrices, as in the paper.
  """
  if not enabled:
    return layer
  wrapped = nn.SpectralNorm(layer)
  return lambda x: wrapped(x, update_stats=train)


class FixedScaleWeightNorm(nn.WeightNorm):
  """``nn.WeightNorm`` whose length g is a constant of training: no gradient reaches it.

  Salimans et al. 2016's semi-supervised discriminators fix g in every hidden layer (their
  ``train_scale=False``) at the value the data-dependent initialisation gives it, so each
  unit's weight vector keeps a fixed norm and the net cannot outgrow the Gaussian noise added
  after every layer; only the output layer learns its g.
  """

  def param(self, name, init_fn, *args, **kwargs):
    return jax.lax.stop_gradient(super().param(name, init_fn, *args, **kwargs))


def weight_normalized(layer: nn.Module, enabled: bool, learn_scale: bool = True):
  """``layer``, or ``layer`` with its kernel reparametrised as w = g · v / ‖v‖ per output unit.

  Weight normalisation (Salimans & Kingma 2016) via Flax's ``nn.WeightNorm``: the direction v
  and the length g (initialised to 1) are learned separately; Salimans et al. 2016 use it in
  every layer of their semi-supervised discriminators. ``learn_scale=False`` keeps g at its
  initial value (:class:`FixedScaleWeightNorm`).
  """
  if not enabled:
    return layer
  return nn.WeightNorm(layer) if learn_scale else FixedScaleWeightNorm(layer)


def with_condition_planes(x: jax.Array, condition) -> jax.Array:
  """NHWC images with a (B, K) condition appended to every pixel as K channels."""
  if condition is None:
    return x
  planes = jnp.broadcast_to(condition[:, None, None, :], (*x.shape[:3], condition.shape[-1]))
  return jnp.concatenate([x, planes.astype(x.dtype)], axis=-1)


def batch_norm(train: bool, axis_name: str | None, momentum: float = 0.9,
               dtype=jnp.float32) -> nn.BatchNorm:
  """Batch norm whose statistics are averaged over ``axis_name`` (all devices) in training;
  ``dtype`` is its output's (statistics and parameters stay float32)."""
  return nn.BatchNorm(use_running_average=not train, momentum=momentum, axis_name=axis_name,
                      dtype=dtype)
