"""Winograd convolution: the 1-D identity, equality with XLA's convolution (values and
gradients), and where the DCGAN generator takes it."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from ganjax import models
from ganjax.errors import UserError
from ganjax.models.winograd import (POINTS, TILE, conv_general_dilated, winograd_conv2d,
                                    winograd_matrices)

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


def _conv_ops(algorithm, x_shape, kernel_shape, strides=(1, 1), dtype=jnp.float32):
  conv = conv_general_dilated(algorithm)
  jaxpr = jax.make_jaxpr(lambda x, k: conv(x, k, strides, "SAME", dimension_numbers=DN))(
      jnp.zeros(x_shape, dtype), jnp.zeros(kernel_shape, dtype))
  return {eqn.primitive.name for eqn in jaxpr.jaxpr.eqns} & {"conv_general_dilated",
                                                              "dot_general"}


def test_dispatch_takes_winograd_only_where_it_pays():
  wide = ((2, 7, 7, 64), (5, 5, 64, 32))
  assert _conv_ops("winograd", *wide) == {"dot_general"}
  assert _conv_ops("auto", *wide) == ({"dot_general"} if jax.default_backend() == "cpu"
                                      else {"conv_general_dilated"})
  assert _conv_ops("xla", *wide) == {"conv_general_dilated"}
  # stride 2, too few channels, a 4×4 kernel, bfloat16: XLA's convolution
  assert _conv_ops("winograd", *wide, strides=(2, 2)) == {"conv_general_dilated"}
  assert _conv_ops("winograd", (2, 7, 7, 64), (3, 3, 64, 4)) == {"conv_general_dilated"}
  assert _conv_ops("winograd", (2, 7, 7, 64), (4, 4, 64, 64)) == {"conv_general_dilated"}
  assert _conv_ops("winograd", *wide, dtype=jnp.bfloat16) == {"conv_general_dilated"}


NETS = {  # (config, image shape), each with convolutions wide enough for Winograd
    "dcgan": (dict(name="dcgan", generator=dict(features=(64, 32, 32)), discriminator={}),
              (28, 28, 1)),
    "resnet": (dict(name="resnet", generator=dict(channels=32),
                    discriminator=dict(channels=32)), (16, 16, 3)),
    "style": (dict(name="style", generator=dict(channels=(64, 32), w_dim=32, mapping_layers=1),
                   discriminator={}), (14, 14, 1)),
}


def _nets(name, conv_algorithm):
  model, image_shape = NETS[name]
  cfg = ml_collections.ConfigDict(model)
  cfg.generator.conv_algorithm = conv_algorithm
  if "channels" in cfg.discriminator:
    cfg.discriminator.conv_algorithm = conv_algorithm
  return models.build(cfg, image_shape, axis_name=None)


@pytest.mark.parametrize("name,net", [("dcgan", 0), ("resnet", 0), ("resnet", 1), ("style", 0)],
                         ids=["dcgan_g", "resnet_g", "resnet_d", "style_g"])
def test_winograd_nets_have_the_same_parameters_and_function(name, net):
  """A net under ``winograd`` against itself under ``xla``, with the same variables."""
  xla, winograd = _nets(name, "xla")[net], _nets(name, "winograd")[net]
  x = (jax.random.normal(jax.random.PRNGKey(0), (4, 100)) if net == 0
       else jnp.tanh(jax.random.normal(jax.random.PRNGKey(0), (4, *NETS[name][1]))))
  variables = jax.jit(lambda x: xla.init(jax.random.PRNGKey(1), x, train=False))(x)
  assert (jax.tree.structure(jax.eval_shape(
      lambda x: winograd.init(jax.random.PRNGKey(1), x, train=False), x))
          == jax.tree.structure(variables))
  apply = lambda m: jax.jit(lambda v, x: m.apply(v, x, train=False))(variables, x)  # noqa: E731
  np.testing.assert_allclose(apply(winograd), apply(xla), rtol=1e-4, atol=1e-4)


def test_unknown_conv_algorithm_is_a_user_error():
  with pytest.raises(UserError, match="conv_algorithm"):
    _nets("dcgan", "fft")
