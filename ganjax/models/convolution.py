"""Which algorithm computes a model's convolutions: XLA's own, Winograd's minimal filtering
(``models.winograd``) or a patch matrix product (``models.im2col``).

Each net takes ``conv_algorithm``:
  auto      on the CPU, Winograd for wide 3×3 and 5×5 convolutions (stride 1, and 5×5
            stride 2 by space-to-depth) and im2col for convolutions that read few channels
            (an image); XLA's elsewhere and on GPU/TPU, whose convolutions are fast
            already. The default.
  xla       XLA's convolution everywhere (the numbers of runs made before the other two).
  winograd  Winograd wherever it applies, on any backend; XLA's elsewhere.
  im2col    im2col wherever it applies, on any backend; XLA's elsewhere.
The three compute the same function up to float32 rounding, with the same parameters, so a
checkpoint loads under any of them.
"""

import functools

import jax
import jax.numpy as jnp

from ganjax.models.im2col import im2col_conv2d
from ganjax.models.winograd import (POINTS, strided_taps, strided_winograd_conv2d,
                                    winograd_conv2d)

CONV_ALGORITHMS = ("auto", "xla", "winograd", "im2col")
# Winograd: below this many input or output channels the transforms cost more than they save.
MIN_CHANNELS = 32
# im2col: at most this many input channels (the patch copy is kh·kw times the input).
IM2COL_MAX_CHANNELS = 4
_NHWC = ("NHWC", "HWIO", "NHWC")


def _is_plain_nhwc(lhs, rhs, lhs_dilation, rhs_dilation, dimension_numbers,
                   feature_group_count, kw) -> bool:
  """A float32 2-D NHWC/HWIO convolution without dilation, groups or other options."""
  return (lhs.ndim == 4 and not kw and feature_group_count == 1
          and set(lhs_dilation or (1,)) == {1} and set(rhs_dilation or (1,)) == {1}
          and (jax.lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
               == jax.lax.conv_dimension_numbers(lhs.shape, rhs.shape, _NHWC))
          and lhs.dtype == rhs.dtype == jnp.float32)


def _winograd_applies(rhs, window_strides, padding) -> bool:
  """'SAME', a square kernel and stride whose stride-1 form (``strided_winograd_conv2d``)
  has a 3×3 or 5×5 kernel, enough channels."""
  s = window_strides[0]
  return (padding == "SAME" and tuple(window_strides) == (s, s)
          and rhs.shape[0] == rhs.shape[1] and strided_taps(rhs.shape[0], s) in POINTS
          and min(rhs.shape[2:]) >= MIN_CHANNELS)


def _im2col_applies(rhs) -> bool:
  return rhs.shape[2] <= IM2COL_MAX_CHANNELS


@functools.cache
def conv_general_dilated(algorithm: str):
  """A drop-in for ``lax.conv_general_dilated`` (Flax's ``nn.Conv(conv_general_dilated=)``)
  that computes each convolution by ``algorithm`` (see the module docstring) where it
  applies, and by XLA's convolution elsewhere."""
  if algorithm not in CONV_ALGORITHMS:
    raise ValueError(f"unknown convolution algorithm {algorithm!r}; choose from "
                     f"{CONV_ALGORITHMS}")

  def conv(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
           dimension_numbers=None, feature_group_count=1, precision=None, **kw):
    on_cpu = algorithm == "auto" and jax.default_backend() == "cpu"
    if _is_plain_nhwc(lhs, rhs, lhs_dilation, rhs_dilation, dimension_numbers,
                      feature_group_count, kw):
      if (on_cpu or algorithm == "winograd") and _winograd_applies(rhs, window_strides,
                                                                   padding):
        s = window_strides[0]
        return (winograd_conv2d(lhs, rhs) if s == 1
                else strided_winograd_conv2d(lhs, rhs, s))
      if (on_cpu or algorithm == "im2col") and _im2col_applies(rhs):
        return im2col_conv2d(lhs, rhs, tuple(window_strides), padding)
    return jax.lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation,
                                        rhs_dilation, dimension_numbers, feature_group_count,
                                        precision=precision, **kw)

  return conv
