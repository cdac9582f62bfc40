"""DCGAN (Radford et al. 2016) for 28×28 (TensorFlow's MNIST tutorial shape), 32×32 and 64×64."""

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from ganjax.models.layers import (Conv, Dropout, GaussianNoise, Upsample, activation,
                                  batch_norm, spectrally_normalized, with_condition_planes)


class DCGANGenerator(nn.Module):
  """Dense → (start_size² · features[0]) → upsampling stages → image.

  Stage i produces ``features[i+1]`` channels (the last stage ``image_shape[-1]``) at stride
  ``strides[i]``; every stage but the last is followed by batch norm and ``activation``; the
  last by ``output_activation``. 28×28 default: 7·7·256 → 128 (s1) → 64 (s2) → 1 (s2), tanh.
  """
  image_shape: Sequence[int] = (28, 28, 1)
  start_size: int = 7
  features: Sequence[int] = (256, 128, 64)
  strides: Sequence[int] = (1, 2, 2)
  kernel_size: int = 5
  upsample: str = "subpixel"
  activation: str = "leaky_relu"
  output_activation: str = "tanh"
  batch_norm: bool = True
  dropout: float = 0.0
  dtype: str = "float32"  # computation dtype (bfloat16: mixed precision); params stay float32
  axis_name: str | None = None

  @nn.compact
  def __call__(self, z, train: bool = True):
    act = activation(self.activation)

    def norm_act(x):
      if self.batch_norm:
        x = batch_norm(train, self.axis_name, dtype=self.dtype)(x)
      x = act(x)
      if self.dropout:
        x = Dropout(self.dropout, deterministic=not train)(x)
      return x

    s, f0 = self.start_size, self.features[0]
    x = nn.Dense(s * s * f0, use_bias=not self.batch_norm, dtype=self.dtype)(z)
    x = norm_act(x).reshape((z.shape[0], s, s, f0))
    out_features = (*self.features[1:], self.image_shape[-1])
    for i, (feat, stride) in enumerate(zip(out_features, self.strides)):
      last = i == len(out_features) - 1
      x = Upsample(feat, self.kernel_size, stride, self.upsample,
                   use_bias=last or not self.batch_norm, dtype=self.dtype)(x)
      x = activation(self.output_activation)(x) if last else norm_act(x)
    return x.astype(jnp.float32)


class DCGANDiscriminator(nn.Module):
  """Strided convolutions → flatten → one logit.

  28×28 default (TensorFlow tutorial): conv 64 s2 → conv 128 s2, LeakyReLU(0.2), dropout 0.3,
  no batch norm. With ``batch_norm`` every conv but the first is batch-normalised (Radford);
  ``spectral_norm`` normalises every conv and the output layer (Miyato et al. 2018).
  """
  features: Sequence[int] = (64, 128)
  kernel_size: int = 5
  activation: str = "leaky_relu"
  batch_norm: bool = False
  spectral_norm: bool = False
  dropout: float = 0.3
  input_noise_std: float = 0.0
  noise_std: float = 0.0
  dtype: str = "float32"  # computation dtype; the logit and features are returned as float32
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x, train: bool = True, condition=None, return_features: bool = False):
    """One logit per image; ``condition`` (B, K) is appended to every pixel as channels;
    ``return_features`` also returns the flattened activations before the output layer.
    In training ``input_noise_std`` adds Gaussian noise to the image and ``noise_std`` to
    the output of every conv block (Salimans et al. 2016)."""
    act = activation(self.activation)
    k = self.kernel_size
    x = with_condition_planes(GaussianNoise(self.input_noise_std)(x, train), condition)
    for i, feat in enumerate(self.features):
      normed = self.batch_norm and i > 0  # batch norm cancels a bias, so none is made
      conv = Conv(feat, (k, k), strides=(2, 2), padding="SAME", use_bias=not normed,
                  dtype=self.dtype)
      x = spectrally_normalized(conv, self.spectral_norm, train)(x)
      if normed:
        x = batch_norm(train, self.axis_name, dtype=self.dtype)(x)
      x = GaussianNoise(self.noise_std)(act(x), train)
      if self.dropout:
        x = Dropout(self.dropout, deterministic=not train)(x)
    x = x.reshape((x.shape[0], -1))
    logit = spectrally_normalized(nn.Dense(1, dtype=self.dtype), self.spectral_norm,
                                  train)(x)[:, 0]
    logit, x = logit.astype(jnp.float32), x.astype(jnp.float32)
    return (logit, x) if return_features else logit


def radford_generator_kwargs(image_size: int, width: int = 64) -> dict:
  """Radford et al.'s generator widths: 4×4 start, ×2 per stage, 4×4 kernels, ReLU."""
  stages = {32: 3, 64: 4}[image_size]
  features = tuple(width * 2 ** i for i in reversed(range(stages)))
  return dict(start_size=4, features=features, strides=(2,) * stages, kernel_size=4,
              activation="relu")


def radford_discriminator_kwargs(image_size: int, width: int = 64) -> dict:
  """Radford et al.'s discriminator: 4×4 stride-2 convs doubling width, batch norm, no dropout."""
  stages = {32: 3, 64: 4}[image_size]
  return dict(features=tuple(width * 2 ** i for i in range(stages)), kernel_size=4,
              batch_norm=True, dropout=0.0)
