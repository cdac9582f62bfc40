"""Which algorithm computes a convolution when the fast paths are on (``ganjax.cpu.switch``).

Winograd (``winograd``) for wide 3×3 and 5×5 'SAME' convolutions (stride 1, and 5×5 stride
2 by space-to-depth); im2col (``im2col``) for convolutions that read few channels (an
image); XLA's convolution for everything else, and for everything when the fast paths are
off. All three compute the same function up to float32 rounding, with the same parameters.
"""

import jax
import jax.numpy as jnp

from ganjax.cpu.im2col import im2col_conv2d
from ganjax.cpu.switch import enabled
from ganjax.cpu.winograd import POINTS, strided_taps, strided_winograd_conv2d, winograd_conv2d

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


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None,
                         rhs_dilation=None, dimension_numbers=None, feature_group_count=1,
                         precision=None, **kw):
  """A drop-in for ``lax.conv_general_dilated`` (Flax's ``nn.Conv(conv_general_dilated=)``):
  Winograd or im2col where they apply and the fast paths are on, XLA's convolution
  elsewhere."""
  if enabled() and _is_plain_nhwc(lhs, rhs, lhs_dilation, rhs_dilation, dimension_numbers,
                                  feature_group_count, kw):
    if _winograd_applies(rhs, window_strides, padding):
      s = window_strides[0]
      return winograd_conv2d(lhs, rhs) if s == 1 else strided_winograd_conv2d(lhs, rhs, s)
    if _im2col_applies(rhs):
      return im2col_conv2d(lhs, rhs, tuple(window_strides), padding)
  return jax.lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation,
                                      rhs_dilation, dimension_numbers, feature_group_count,
                                      precision=precision, **kw)
