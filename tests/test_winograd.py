"""Winograd convolution: the 1-D identity and equality with XLA's convolution (values and
gradients). Where the nets use it: test_convolution.py."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_conv_equals

from ganjax.cpu.winograd import (POINTS, TILE, strided_winograd_conv2d, winograd_conv2d,
                                    winograd_matrices)

DN = ("NHWC", "HWIO", "NHWC")


def _xla_conv(x, kernel, stride=1, padding="SAME"):
  return jax.lax.conv_general_dilated(x, kernel, (stride, stride), padding,
                                      dimension_numbers=DN)


@pytest.mark.parametrize("r", sorted(POINTS))
def test_matrices_compute_the_1d_correlation_exactly(r):
  a_t, g, b_t = winograd_matrices(TILE, r, POINTS[r])
  rng = np.random.default_rng(r)
  for _ in range(5):
    taps, data = rng.standard_normal(r), rng.standard_normal(TILE + r - 1)
    expected = np.correlate(data, taps, mode="valid")  # y_k = Σ_j g_j d_{k+j}
    np.testing.assert_allclose(a_t @ ((g @ taps) * (b_t @ data)), expected,
                               rtol=1e-12, atol=1e-12)


def test_coincident_points_are_rejected():
  with pytest.raises(ValueError, match="distinct"):
    winograd_matrices(2, 3, (0, 0))


@pytest.mark.parametrize("r,size,c_in,c_out", [(5, 7, 6, 5), (3, 7, 4, 8), (5, 9, 3, 2),
                                               (3, 5, 2, 3), (3, 14, 3, 4)])
def test_convolution_and_its_gradients_equal_xla(r, size, c_in, c_out):
  rng = np.random.default_rng(size + r)
  x = jnp.asarray(rng.standard_normal((2, size, size + 1, c_in)), jnp.float32)
  kernel = jnp.asarray(rng.standard_normal((r, r, c_in, c_out)) / r, jnp.float32)
  assert_conv_equals(winograd_conv2d, _xla_conv, x, kernel, rtol=2e-4, atol=2e-4,
                     grad_atol=5e-4)


@pytest.mark.parametrize("k,stride,size,c_in,c_out", [(5, 2, 14, 3, 4), (5, 2, 13, 2, 3),
                                                      (5, 2, 7, 4, 2), (6, 2, 10, 2, 3),
                                                      (3, 1, 6, 2, 2), (9, 3, 11, 2, 2)])
def test_strided_convolution_and_its_gradients_equal_xla(k, stride, size, c_in, c_out):
  """Space-to-depth, then Winograd: equal to XLA's strided 'SAME' convolution, including
  odd sizes (asymmetric padding) and kernels that are not a multiple of the stride."""
  rng = np.random.default_rng(k * size)
  x = jnp.asarray(rng.standard_normal((2, size, size + 1, c_in)), jnp.float32)
  kernel = jnp.asarray(rng.standard_normal((k, k, c_in, c_out)) / k, jnp.float32)
  assert_conv_equals(lambda x, w: strided_winograd_conv2d(x, w, stride),
                     lambda x, w: _xla_conv(x, w, stride), x, kernel, rtol=2e-4, atol=2e-4,
                     grad_atol=5e-4)


def test_explicit_padding_equals_xla():
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal((2, 9, 8, 3)), jnp.float32)
  kernel = jnp.asarray(rng.standard_normal((3, 3, 3, 2)), jnp.float32)
  for padding in [((0, 0), (0, 0)), ((2, 1), (0, 3))]:
    np.testing.assert_allclose(winograd_conv2d(x, kernel, padding),
                               _xla_conv(x, kernel, padding=padding), rtol=2e-4, atol=2e-4)
