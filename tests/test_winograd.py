"""Winograd convolution: the 1-D identity and equality with XLA's convolution (values and
gradients). Where the nets use it: test_convolution.py."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganjax.models.winograd import POINTS, TILE, winograd_conv2d, winograd_matrices

DN = ("NHWC", "HWIO", "NHWC")


def _xla_conv(x, kernel):
  return jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=DN)


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
  cotangent = jnp.asarray(rng.standard_normal((2, size, size + 1, c_out)), jnp.float32)
  np.testing.assert_allclose(jax.jit(winograd_conv2d)(x, kernel), _xla_conv(x, kernel),
                             rtol=2e-4, atol=2e-4)

  def grads(conv):
    loss = lambda x, k: jnp.sum(conv(x, k) * cotangent)  # noqa: E731
    return jax.jit(jax.grad(loss, argnums=(0, 1)))(x, kernel)

  for ours, xla in zip(grads(winograd_conv2d), grads(_xla_conv)):
    np.testing.assert_allclose(ours, xla, rtol=2e-4, atol=5e-4)
