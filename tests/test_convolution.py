"""The convolution algorithms: im2col equals XLA's convolution (values and gradients), the
dispatcher sends each convolution where it should, and nets compute the same function with
the same parameters under every algorithm."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from conftest import assert_conv_equals

from ganjax import models
from ganjax.errors import UserError
from ganjax.models.convolution import conv_general_dilated
from ganjax.models.im2col import im2col_conv2d

DN = ("NHWC", "HWIO", "NHWC")


@pytest.mark.parametrize("shape,kernel,strides,padding", [
    ((2, 28, 28, 1), (5, 5, 1, 8), (2, 2), "SAME"),
    ((2, 14, 13, 3), (3, 3, 3, 5), (1, 1), "SAME"),
    ((2, 9, 9, 4), (4, 4, 4, 6), (2, 2), "VALID"),
    ((2, 10, 11, 2), (3, 2, 2, 3), (3, 1), ((1, 0), (2, 1))),
    ((2, 7, 7, 5), (4, 4, 5, 4), (2, 2), "SAME"),
])
def test_im2col_and_its_gradients_equal_xla(shape, kernel, strides, padding):
  rng = np.random.default_rng(sum(shape))
  x = jnp.asarray(rng.standard_normal(shape), jnp.float32)
  w = jnp.asarray(rng.standard_normal(kernel), jnp.float32)
  xla = lambda x, w: jax.lax.conv_general_dilated(x, w, strides, padding,  # noqa: E731
                                                 dimension_numbers=DN)
  assert_conv_equals(lambda x, w: im2col_conv2d(x, w, strides, padding), xla, x, w,
                     rtol=1e-5, atol=1e-5, grad_atol=1e-4)


def _conv_ops(algorithm, x_shape, kernel_shape, strides=(1, 1), dtype=jnp.float32):
  """The primitives a convolution becomes: a dot (Winograd, im2col) or XLA's convolution,
  and, to tell the two dot paths apart, whether the input is stacked into patches."""
  conv = conv_general_dilated(algorithm)
  jaxpr = jax.make_jaxpr(lambda x, k: conv(x, k, strides, "SAME", dimension_numbers=DN))(
      jnp.zeros(x_shape, dtype), jnp.zeros(kernel_shape, dtype))
  names = {eqn.primitive.name for eqn in jaxpr.jaxpr.eqns}
  if "conv_general_dilated" in names:
    return "xla"
  # Winograd applies its input transform as a matmul before the product; im2col does one dot.
  return "winograd" if sum(e.primitive.name == "dot_general" for e in jaxpr.jaxpr.eqns) > 1 \
      else "im2col"


def test_dispatch_sends_each_convolution_where_it_pays():
  on_cpu = jax.default_backend() == "cpu"
  wide = ((2, 7, 7, 64), (5, 5, 64, 32))
  image = ((2, 28, 28, 1), (5, 5, 1, 64))
  assert _conv_ops("winograd", *wide) == "winograd"
  assert _conv_ops("auto", *wide) == ("winograd" if on_cpu else "xla")
  assert _conv_ops("xla", *wide) == "xla"
  assert _conv_ops("im2col", *wide) == "xla"
  # 5×5 stride 2 (3×3 after space-to-depth) is Winograd; 4×4 stride 2 (2×2), 5×5 stride 3
  # (2×2), too few channels, a 4×4 kernel, bfloat16: not
  assert _conv_ops("winograd", *wide, strides=(2, 2)) == "winograd"
  assert _conv_ops("winograd", (2, 8, 8, 64), (4, 4, 64, 64), strides=(2, 2)) == "xla"
  assert _conv_ops("winograd", *wide, strides=(3, 3)) == "xla"
  assert _conv_ops("winograd", (2, 7, 7, 64), (3, 3, 64, 4)) == "xla"
  assert _conv_ops("winograd", (2, 7, 7, 64), (4, 4, 64, 64)) == "xla"
  assert _conv_ops("winograd", *wide, dtype=jnp.bfloat16) == "xla"
  # an image-reading layer (≤ 4 channels in), any stride and kernel: im2col
  assert _conv_ops("im2col", *image, strides=(2, 2)) == "im2col"
  assert _conv_ops("auto", *image, strides=(2, 2)) == ("im2col" if on_cpu else "xla")
  assert _conv_ops("auto", (2, 32, 32, 3), (4, 4, 3, 64)) == ("im2col" if on_cpu else "xla")
  assert _conv_ops("winograd", *image) == "xla"
  assert _conv_ops("im2col", (2, 14, 14, 8), (5, 5, 8, 64)) == "xla"
  assert _conv_ops("im2col", *image, dtype=jnp.bfloat16) == "xla"


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
  if name != "style":
    cfg.discriminator.conv_algorithm = conv_algorithm
  return models.build(cfg, image_shape, axis_name=None)


@pytest.mark.parametrize("name,net,algorithm", [
    ("dcgan", 0, "winograd"), ("dcgan", 1, "im2col"), ("dcgan", 1, "winograd"),
    ("resnet", 0, "winograd"),
    ("resnet", 1, "winograd"), ("resnet", 1, "im2col"), ("style", 0, "winograd")],
    ids=["dcgan_g", "dcgan_d_im2col", "dcgan_d_winograd", "resnet_g", "resnet_d", "resnet_d_im2col", "style_g"])
def test_nets_have_the_same_parameters_and_function_under_each_algorithm(name, net, algorithm):
  """A net under ``algorithm`` against itself under ``xla``, with the same variables."""
  xla, other = _nets(name, "xla")[net], _nets(name, algorithm)[net]
  x = (jax.random.normal(jax.random.PRNGKey(0), (4, 100)) if net == 0
       else jnp.tanh(jax.random.normal(jax.random.PRNGKey(0), (4, *NETS[name][1]))))
  variables = jax.jit(lambda x: xla.init(jax.random.PRNGKey(1), x, train=False))(x)
  assert (jax.tree.structure(jax.eval_shape(
      lambda x: other.init(jax.random.PRNGKey(1), x, train=False), x))
          == jax.tree.structure(variables))
  apply = lambda m: jax.jit(lambda v, x: m.apply(v, x, train=False))(variables, x)  # noqa: E731
  np.testing.assert_allclose(apply(other), apply(xla), rtol=1e-4, atol=1e-4)


def test_unknown_conv_algorithm_is_a_user_error():
  with pytest.raises(UserError, match="conv_algorithm"):
    _nets("dcgan", "fft")
