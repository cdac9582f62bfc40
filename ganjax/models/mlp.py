"""The fully connected GAN of the classic MNIST tutorials (Goodfellow et al. 2014)."""

import math
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from ganjax.models.layers import (Dropout, GaussianNoise, activation, batch_norm,
                                  spectrally_normalized, weight_normalized)


class MLPGenerator(nn.Module):
  """z → hidden layers → prod(image_shape), reshaped to an NHWC image.

  Defaults give 100 → 128 → 128 → 100 → 784 with a sigmoid output (images in [0, 1]).
  ``batch_norm`` normalises every hidden layer before its activation, as Salimans et al.
  2016's semi-supervised MNIST generator does (batch norm, softplus). ``output_weight_norm``
  reparametrises the output layer as g · v/‖v‖ with g learned from 1, as theirs does (their
  ``l2normalize``): a pre-activation then grows only as fast as g and the hidden layer's norm,
  which keeps a sigmoid output from saturating to a binary image with no gradient.
  """
  image_shape: Sequence[int] = (28, 28, 1)
  hidden: Sequence[int] = (128, 128, 100)
  hidden_activation: str = "relu"
  output_activation: str = "sigmoid"
  dropout: float = 0.0
  batch_norm: bool = False
  output_weight_norm: bool = False
  dtype: str = "float32"  # computation dtype (bfloat16: mixed precision); params stay float32
  axis_name: str | None = None

  @nn.compact
  def __call__(self, z, train: bool = True):
    x = z
    for width in self.hidden:
      x = nn.Dense(width, use_bias=not self.batch_norm, dtype=self.dtype)(x)
      if self.batch_norm:
        x = batch_norm(train, self.axis_name, dtype=self.dtype)(x)
      x = activation(self.hidden_activation)(x)
      if self.dropout:
        x = Dropout(self.dropout, deterministic=not train)(x)
    output = nn.Dense(math.prod(self.image_shape), dtype=self.dtype)
    x = weight_normalized(output, self.output_weight_norm)(x)
    x = activation(self.output_activation)(x).astype(jnp.float32)
    return x.reshape((z.shape[0], *self.image_shape))


class MLPDiscriminator(nn.Module):
  """Flattened image → hidden layers → one logit (784 → 128 → 128 → 1 by default).

  ``spectral_norm`` normalises every layer (Miyato et al. 2018), ``weight_norm`` reparametrises
  every layer as g · v/‖v‖ (Salimans & Kingma 2016); they exclude each other;
  ``weight_norm_learn_scale=False`` keeps g of the hidden layers fixed (Salimans et al. 2016's
  semi-supervised D, whose g the data-dependent initialisation sets). In training,
  ``input_noise_std`` adds Gaussian noise to the image and ``noise_std`` to the output of
  every hidden layer: Salimans et al. 2016's semi-supervised MNIST D has σ 0.3 and 0.5.
  """
  hidden: Sequence[int] = (128, 128)
  hidden_activation: str = "leaky_relu"
  dropout: float = 0.0
  spectral_norm: bool = False
  weight_norm: bool = False
  weight_norm_learn_scale: bool = True
  input_noise_std: float = 0.0
  noise_std: float = 0.0
  dtype: str = "float32"  # computation dtype; the logit and features are returned as float32

  @nn.compact
  def __call__(self, x, train: bool = True, condition=None, return_features: bool = False):
    """One logit per image; ``condition`` (B, K) is appended to the flattened image;
    ``return_features`` also returns the output layer's input (the last hidden layer)."""
    if self.spectral_norm and self.weight_norm:
      raise ValueError("spectral_norm and weight_norm exclude each other; choose one")

    def dense(width, learn_scale=True):
      layer = weight_normalized(nn.Dense(width, dtype=self.dtype), self.weight_norm, learn_scale)
      return spectrally_normalized(layer, self.spectral_norm, train)

    x = GaussianNoise(self.input_noise_std)(x.reshape((x.shape[0], -1)), train)
    if condition is not None:
      x = jnp.concatenate([x, condition.astype(x.dtype)], axis=-1)
    for width in self.hidden:
      x = activation(self.hidden_activation)(dense(width, self.weight_norm_learn_scale)(x))
      x = GaussianNoise(self.noise_std)(x, train)
      if self.dropout:
        x = Dropout(self.dropout, deterministic=not train)(x)
    logit, x = dense(1)(x)[:, 0].astype(jnp.float32), x.astype(jnp.float32)
    return (logit, x) if return_features else logit
