"""The CPU fast paths' convolutions: im2col equals XLA's convolution (values and gradients),
the dispatcher sends each convolution where it should under each ``config.fast_paths``
setting, the setting is part of jit's cache key, and nets compute the same function with the
same parameters with the fast paths on and off."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from conftest import assert_conv_equals

import flax.linen as nn

from ganjax import config as config_lib
from ganjax import cpu, models
from ganjax.cpu.convolution import conv_general_dilated
from ganjax.cpu.im2col import im2col_conv2d
from ganjax.errors import UserError
from ganjax.models import layers

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


def _conv_ops(setting, x_shape, kernel_shape, strides=(1, 1), dtype=jnp.float32):
  """The primitives a convolution becomes under ``setting``: a dot (Winograd, im2col) or
  XLA's convolution, and, to tell the two dot paths apart, how many dots."""
  with cpu.fast_paths(setting):
    jaxpr = jax.make_jaxpr(
        lambda x, k: conv_general_dilated(x, k, strides, "SAME", dimension_numbers=DN))(
            jnp.zeros(x_shape, dtype), jnp.zeros(kernel_shape, dtype))
  return _kind(jaxpr)


def _kind(jaxpr) -> str:
  text = str(jaxpr)  # the printed program includes the bodies of nested jits
  if "conv_general_dilated" in text:
    return "xla"
  # Winograd applies its input transform as a matmul before the product; im2col does one dot.
  return "winograd" if text.count("dot_general") > 1 else "im2col"


def test_dispatch_sends_each_convolution_where_it_pays():
  on_cpu = jax.default_backend() == "cpu"
  wide = ((2, 7, 7, 64), (5, 5, 64, 32))
  image = ((2, 28, 28, 1), (5, 5, 1, 64))
  assert _conv_ops("on", *wide) == "winograd"
  assert _conv_ops("auto", *wide) == ("winograd" if on_cpu else "xla")
  assert _conv_ops("off", *wide) == "xla"
  # 5×5 stride 2 (3×3 after space-to-depth) is Winograd; 4×4 stride 2 (2×2), 5×5 stride 3
  # (2×2), too few channels, a 4×4 kernel, bfloat16: not
  assert _conv_ops("on", *wide, strides=(2, 2)) == "winograd"
  assert _conv_ops("on", (2, 8, 8, 64), (4, 4, 64, 64), strides=(2, 2)) == "xla"
  assert _conv_ops("on", *wide, strides=(3, 3)) == "xla"
  assert _conv_ops("on", (2, 7, 7, 64), (3, 3, 64, 4)) == "xla"
  assert _conv_ops("on", (2, 7, 7, 64), (4, 4, 64, 64)) == "xla"
  assert _conv_ops("on", *wide, dtype=jnp.bfloat16) == "xla"
  # an image-reading layer (≤ 4 channels in), any stride and kernel: im2col
  assert _conv_ops("on", *image, strides=(2, 2)) == "im2col"
  assert _conv_ops("auto", *image, strides=(2, 2)) == ("im2col" if on_cpu else "xla")
  assert _conv_ops("auto", (2, 32, 32, 3), (4, 4, 3, 64)) == ("im2col" if on_cpu else "xla")
  assert _conv_ops("off", *image, strides=(2, 2)) == "xla"
  assert _conv_ops("on", (2, 14, 14, 8), (5, 5, 8, 64)) == "xla"
  assert _conv_ops("on", *image, dtype=jnp.bfloat16) == "xla"


def test_the_setting_is_part_of_the_jit_cache_key():
  """One jitted function, called under each setting in turn, is traced once per setting and
  computes by the setting it is called under, never by a stale trace."""
  traces = []

  @jax.jit
  def conv(x, k):
    traces.append(cpu.enabled())
    return conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=DN)

  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal((2, 7, 7, 64)), jnp.float32)
  k = jnp.asarray(rng.standard_normal((5, 5, 64, 32)), jnp.float32)
  with cpu.fast_paths("on"):
    on = conv(x, k)
  with cpu.fast_paths("off"):
    off = conv(x, k)
    assert "convolution" in conv.lower(x, k).as_text()
  with cpu.fast_paths("on"):
    assert "convolution" not in conv.lower(x, k).as_text()
    conv(x, k)
  assert traces == [True, False]  # each setting traced once; the third call reused the first
  np.testing.assert_allclose(on, off, rtol=1e-4, atol=1e-3)
  # bit-level: the two paths round differently, so the results must differ somewhere
  assert not np.array_equal(np.asarray(on), np.asarray(off))


def test_a_new_model_gets_the_fast_paths_by_building_with_layers_conv():
  class Tiny(nn.Module):  # a model someone adds: it never names an algorithm
    @nn.compact
    def __call__(self, x):
      return layers.Conv(32, (3, 3), padding="SAME")(nn.relu(layers.Conv(32, (5, 5))(x)))

  x = jnp.zeros((2, 8, 8, 1))
  variables = Tiny().init(jax.random.PRNGKey(0), x)
  assert sorted(variables["params"]) == ["Conv_0", "Conv_1"]  # nn.Conv's names and parameters
  for setting, kinds in (("on", {"im2col", "winograd"}), ("off", {"xla"})):
    with cpu.fast_paths(setting):
      jaxpr = jax.make_jaxpr(Tiny().apply)(variables, x)
    assert _kind(jaxpr) in kinds


def test_dropout_masks_are_the_same_bits_with_the_fast_paths_on_and_off():
  x = jnp.ones((64, 33))
  masks = {}
  for setting in ("on", "off"):
    with cpu.fast_paths(setting):
      masks[setting] = jax.jit(lambda x: layers.Dropout(0.3).apply(
          {}, x, rngs={"dropout": jax.random.PRNGKey(3)}))(x)
  flax_mask = nn.Dropout(0.3, deterministic=False).apply(
      {}, x, rngs={"dropout": jax.random.PRNGKey(3)})
  np.testing.assert_array_equal(masks["on"], masks["off"])
  np.testing.assert_array_equal(masks["on"], flax_mask)
  assert 0.6 < float(jnp.mean(masks["on"] > 0)) < 0.8


NETS = {  # (config, image shape), each with convolutions wide enough for Winograd
    "dcgan": (dict(name="dcgan", generator=dict(features=(64, 32, 32)), discriminator={}),
              (28, 28, 1)),
    "resnet": (dict(name="resnet", generator=dict(channels=32),
                    discriminator=dict(channels=32)), (16, 16, 3)),
    "style": (dict(name="style", generator=dict(channels=(64, 32), w_dim=32, mapping_layers=1),
                   discriminator={}), (14, 14, 1)),
}


@pytest.mark.parametrize("name,net", [("dcgan", 0), ("dcgan", 1), ("resnet", 0), ("resnet", 1),
                                      ("style", 0)],
                         ids=["dcgan_g", "dcgan_d", "resnet_g", "resnet_d", "style_g"])
def test_nets_have_the_same_parameters_and_function_with_the_fast_paths_on_and_off(name, net):
  model, image_shape = NETS[name]
  module = models.build(ml_collections.ConfigDict(model), image_shape, axis_name=None)[net]
  x = (jax.random.normal(jax.random.PRNGKey(0), (4, 100)) if net == 0
       else jnp.tanh(jax.random.normal(jax.random.PRNGKey(0), (4, *image_shape))))
  init = jax.jit(lambda x: module.init(jax.random.PRNGKey(1), x, train=False))
  apply = jax.jit(lambda v, x: module.apply(v, x, train=False))
  out, xla_convs = {}, {}
  for setting in ("on", "off"):
    with cpu.fast_paths(setting):
      variables = init(x)
      xla_convs[setting] = str(jax.make_jaxpr(apply)(variables, x)).count("conv_general_dilated")
      out[setting] = apply(variables, x)
  assert xla_convs["on"] < xla_convs["off"]  # some convolutions took a fast path
  np.testing.assert_allclose(out["on"], out["off"], rtol=1e-4, atol=1e-4)


def test_an_unknown_setting_is_a_user_error():
  config = config_lib.base_config()
  config.fast_paths = "fast"
  with pytest.raises(UserError, match="config.fast_paths 'fast'; choose from auto, on, off"):
    config_lib.validate(config)


@pytest.mark.parametrize("algorithm,setting", [("xla", "off"), ("auto", "auto"),
                                               ("winograd", "on"), ("im2col", "on")])
def test_a_config_that_chose_a_conv_algorithm_per_net_loads_as_fast_paths(algorithm, setting):
  saved = ml_collections.ConfigDict(dict(model=dict(
      name="dcgan", generator=dict(conv_algorithm=algorithm, features=[64, 32, 32]),
      discriminator=dict(conv_algorithm=algorithm))))
  config = config_lib.with_defaults(saved)
  assert config.fast_paths == setting
  assert "conv_algorithm" not in config.model.generator
  assert "conv_algorithm" not in config.model.discriminator
  models.build(config.model, (28, 28, 1))
