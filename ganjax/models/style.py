"""A style-based generator (Karras et al. 2019, StyleGAN; 2020, StyleGAN2), without
progressive growing, style mixing or path-length regularisation.

* Mapping network: z → pixel norm → ``mapping_layers`` × (dense ``w_dim`` + LeakyReLU) → w.
* Synthesis: a learned constant; at each resolution modulated 3×3 convolutions, per-pixel
  noise with a learned strength, a bias and LeakyReLU; ×2 nearest upsampling between
  resolutions; "skip" outputs summed over resolutions (StyleGAN2, Fig. 7b).
* Modulated convolution with demodulation (StyleGAN2, eq. 1–3), computed as conv(x·s, w)·d
  with dⱼ = 1/√(Σᵢ sᵢ²·Σₖ wᵢⱼₖ²): one shared kernel for the batch (``ModulatedConv``).

Noise is drawn from the ``noise`` RNG stream in training; in eval mode every noise input
uses one fixed draw, so samples from fixed latents are deterministic.
"""

import zlib
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax.models.layers import Conv, activation


# He initialisation (gain √2, as StyleGAN's leaky-ReLU layers): keeps the variance of w
# through the mapping network, which LeCun's default would shrink ~2× per layer, leaving
# styles close to 1 whatever z is.
HE_INIT = nn.initializers.variance_scaling(2.0, "fan_in", "normal")


def _upsample2(x):
  return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


class MappingNetwork(nn.Module):
  w_dim: int = 128
  layers: int = 4

  @nn.compact
  def __call__(self, z):
    x = z * jax.lax.rsqrt(jnp.mean(z ** 2, axis=-1, keepdims=True) + 1e-8)  # pixel norm
    for _ in range(self.layers):
      x = nn.leaky_relu(nn.Dense(self.w_dim, kernel_init=HE_INIT)(x), 0.2)
    return x


class ModulatedConv(nn.Module):
  """conv(x, w'' ) for a per-sample style from w; see the module docstring."""
  features: int
  kernel_size: int = 3
  demodulate: bool = True

  @nn.compact
  def __call__(self, x, w):
    style = nn.Dense(x.shape[-1], bias_init=nn.initializers.ones, name="style")(w)  # (B, in)
    k = self.kernel_size
    conv = Conv(self.features, (k, k), padding="SAME", use_bias=False)
    y = conv(x * style[:, None, None, :])
    if self.demodulate:
      kernel = conv.variables["params"]["kernel"]  # (k, k, in, out)
      d = jax.lax.rsqrt(style ** 2 @ jnp.sum(kernel ** 2, axis=(0, 1)) + 1e-8)  # (B, out)
      y = y * d[:, None, None, :]
    return y


class NoiseInput(nn.Module):
  """x + strength · N(0, 1) per pixel, one map shared by all channels."""

  @nn.compact
  def __call__(self, x, train: bool):
    strength = self.param("strength", nn.initializers.zeros, ())
    if train:
      key = self.make_rng("noise")
    else:
      key = jax.random.PRNGKey(zlib.crc32("/".join(self.scope.path).encode()))
    return x + strength * jax.random.normal(key, (*x.shape[:3], 1), x.dtype)


class StyleLayer(nn.Module):
  features: int

  @nn.compact
  def __call__(self, x, w, train: bool):
    conv = ModulatedConv(self.features)
    x = NoiseInput()(conv(x, w), train)
    x = x + self.param("bias", nn.initializers.zeros, (self.features,))
    return nn.leaky_relu(x, 0.2)


class StyleGenerator(nn.Module):
  """Mapping network + skip synthesis network; ``channels[i]`` at resolution start·2ⁱ."""
  image_shape: Sequence[int] = (28, 28, 1)
  start_size: int = 7
  channels: Sequence[int] = (128, 64, 32)
  w_dim: int = 128
  mapping_layers: int = 4
  output_activation: str = "tanh"

  @nn.compact
  def __call__(self, z, train: bool = True):
    final = self.start_size * 2 ** (len(self.channels) - 1)
    if final != self.image_shape[0]:
      raise ValueError(f"start_size {self.start_size} with {len(self.channels)} resolutions "
                       f"makes {final}×{final} images, not {self.image_shape[0]}; set "
                       "config.model.generator.start_size/channels")
    w = MappingNetwork(self.w_dim, self.mapping_layers)(z)
    const = self.param("const", nn.initializers.normal(1.0),
                       (1, self.start_size, self.start_size, self.channels[0]))
    x = StyleLayer(self.channels[0])(jnp.broadcast_to(const, (z.shape[0], *const.shape[1:])), w,
                                train)
    out_channels = self.image_shape[-1]
    image = ModulatedConv(out_channels, 1, demodulate=False)(x, w)
    for features in self.channels[1:]:
      x = _upsample2(x)
      x = StyleLayer(features)(x, w, train)
      x = StyleLayer(features)(x, w, train)
      image = _upsample2(image) + ModulatedConv(out_channels, 1, demodulate=False)(x, w)
    return activation(self.output_activation)(image)
