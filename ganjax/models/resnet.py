"""ResNet generator and discriminator of SNGAN (Miyato et al. 2018, appendix B.4, Table 4),
after the CIFAR-10 ResNets of Gulrajani et al. 2017.

G: z → dense (start²·ch) → ``blocks`` × up-block → BN → ReLU → conv 3×3 → tanh, where an
up-block is BN → ReLU → ×2 nearest → conv 3×3 → BN → ReLU → conv 3×3, plus a shortcut ×2
nearest → conv 1×1. For 32×32: start 4, three blocks, ch 256.

D: an optimised first block (conv 3×3 → ReLU → conv 3×3 → 2×2 average pool, shortcut pool →
conv 1×1), then blocks of ReLU → conv 3×3 → ReLU → conv 3×3 (→ pool), shortcut conv 1×1
(→ pool) where the size or width changes; ReLU, global sum pooling and a linear output. For
32×32: downsampling in the first two blocks, four blocks, ch 128, spectral norm everywhere.
"""

import functools
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from ganjax.models.layers import (Conv, activation, batch_norm, spectrally_normalized,
                                  with_condition_planes)


def _upsample2(x):
  return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def _pool2(x):
  return nn.avg_pool(x, (2, 2), (2, 2))


class _Conv(nn.Module):
  """A SAME convolution, spectrally normalised when asked."""
  features: int
  kernel: int
  spectral_norm: bool

  @nn.compact
  def __call__(self, x, train: bool):
    conv = Conv(self.features, (self.kernel, self.kernel), padding="SAME")
    return spectrally_normalized(conv, self.spectral_norm, train)(x)


class ConditionalBatchNorm(nn.Module):
  """Batch norm whose gain and bias are linear in a condition vector (BigGAN, §3):
  BN(x)·(1 + W_γ c) + W_β c, with no gain or bias of its own. ``c`` None: plain BN."""
  spectral_norm: bool = False
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x, condition, train: bool):
    if condition is None:
      return batch_norm(train, self.axis_name)(x)
    x = nn.BatchNorm(use_running_average=not train, momentum=0.9, axis_name=self.axis_name,
                     use_scale=False, use_bias=False)(x)
    channels = x.shape[-1]
    gain = spectrally_normalized(nn.Dense(channels, use_bias=False, name="gain"),
                                 self.spectral_norm, train)(condition)
    bias = spectrally_normalized(nn.Dense(channels, use_bias=False, name="bias"),
                                 self.spectral_norm, train)(condition)
    return x * (1.0 + gain[:, None, None, :]) + bias[:, None, None, :]


class GeneratorBlock(nn.Module):
  features: int
  spectral_norm: bool = False
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x, condition, train: bool):
    norm = [ConditionalBatchNorm(self.spectral_norm, self.axis_name) for _ in range(2)]
    conv = functools.partial(_Conv, spectral_norm=self.spectral_norm)
    h = nn.relu(norm[0](x, condition, train))
    h = conv(self.features, 3)(_upsample2(h), train)
    h = nn.relu(norm[1](h, condition, train))
    h = conv(self.features, 3)(h, train)
    return h + conv(self.features, 1)(_upsample2(x), train)


class DiscriminatorBlock(nn.Module):
  features: int
  downsample: bool
  first: bool = False
  spectral_norm: bool = True

  @nn.compact
  def __call__(self, x, train: bool):
    conv = functools.partial(_Conv, spectral_norm=self.spectral_norm)
    h = x if self.first else nn.relu(x)  # the first block sees raw pixels
    h = nn.relu(conv(self.features, 3)(h, train))
    h = conv(self.features, 3)(h, train)
    if self.downsample:
      h = _pool2(h)
    shortcut = x
    if self.first:  # pool first, then project (Miyato et al.'s optimised block)
      shortcut = conv(self.features, 1)(_pool2(x), train)
    elif self.downsample or x.shape[-1] != self.features:
      shortcut = conv(self.features, 1)(x, train)
      shortcut = _pool2(shortcut) if self.downsample else shortcut
    return h + shortcut


class ResNetGenerator(nn.Module):
  """SNGAN's generator; with ``num_classes`` > 0 BigGAN-lite's class-conditional one.

  BigGAN-lite (Brock et al. 2019, without hierarchical latents or self-attention): a shared
  class embedding e(y) of ``embed_dim`` is concatenated with z and drives the gain and bias
  of every batch norm in the blocks (``ConditionalBatchNorm``); z also feeds the dense input.
  """
  image_shape: Sequence[int] = (32, 32, 3)
  start_size: int = 4
  channels: int = 256
  output_activation: str = "tanh"
  spectral_norm: bool = False
  num_classes: int = 0
  embed_dim: int = 128
  axis_name: str | None = None

  @property
  def takes_labels(self) -> bool:
    return self.num_classes > 0

  @nn.compact
  def __call__(self, z, train: bool = True, labels=None):
    size, blocks = self.start_size, 0
    while size < self.image_shape[0]:
      size, blocks = size * 2, blocks + 1
    if size != self.image_shape[0]:
      raise ValueError(f"{self.image_shape[0]}×{self.image_shape[0]} images are not "
                       f"{self.start_size}·2^k; set config.model.generator.start_size")
    s, ch = self.start_size, self.channels
    dense = spectrally_normalized(nn.Dense(s * s * ch), self.spectral_norm, train)
    x = dense(z).reshape((z.shape[0], s, s, ch))
    condition = None
    if self.num_classes:
      shared = nn.Embed(self.num_classes, self.embed_dim, name="shared_embedding")(labels)
      condition = jnp.concatenate([shared, z], axis=-1)
    for _ in range(blocks):
      x = GeneratorBlock(ch, self.spectral_norm, self.axis_name)(x, condition, train)
    x = nn.relu(batch_norm(train, self.axis_name)(x))
    x = _Conv(self.image_shape[-1], 3, self.spectral_norm)(x, train)
    return activation(self.output_activation)(x)


class ResNetDiscriminator(nn.Module):
  channels: int = 128
  downsample: Sequence[bool] = (True, True, False, False)
  spectral_norm: bool = True

  @nn.compact
  def __call__(self, x, train: bool = True, condition=None, return_features: bool = False):
    """One logit per image; ``condition`` (B, K) joins the pixels as channels;
    ``return_features`` also returns the pooled features before the output layer."""
    x = with_condition_planes(x, condition)
    for i, down in enumerate(self.downsample):
      x = DiscriminatorBlock(self.channels, down, first=i == 0,
                             spectral_norm=self.spectral_norm)(x, train)
    features = jnp.sum(nn.relu(x), axis=(1, 2))  # global sum pooling
    logit = spectrally_normalized(nn.Dense(1), self.spectral_norm, train)(features)[:, 0]
    return (logit, features) if return_features else logit
