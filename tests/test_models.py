"""Model output shapes, upsampling modes and the pixel shuffle."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from ganjax import models
from ganjax.config import model_keys
from ganjax.models.mlp import MLPDiscriminator
from ganjax.models.layers import (GaussianNoise, Upsample, depth_to_space,
                                  transposed_to_subpixel_kernel)


def _model(keys: dict) -> ml_collections.ConfigDict:
  """A ``config.model`` with the schema's model keys and empty net groups, then ``keys``."""
  return ml_collections.ConfigDict({**model_keys(), "generator": {}, "discriminator": {}, **keys})


def _init_apply(module, x):
  variables = module.init({"params": jax.random.PRNGKey(0), "dropout": jax.random.PRNGKey(1)},
                          x, train=False)
  return module.apply(variables, x, train=False)


@pytest.mark.parametrize("upsample", ["conv_transpose", "subpixel", "resize_conv"])
@pytest.mark.parametrize("image_shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_dcgan_shapes(upsample, image_shape):
  cfg = _model(dict(name="dcgan", generator=dict(upsample=upsample),
                                       discriminator={}))
  g, d = models.build(cfg, image_shape, axis_name=None)
  images = _init_apply(g, jnp.zeros((3, 100)))
  assert images.shape == (3, *image_shape)
  assert float(jnp.abs(images).max()) <= 1.0  # tanh output
  assert _init_apply(d, images).shape == (3,)


def test_mlp_default_widths():
  cfg = _model(dict(name="mlp", generator={}, discriminator={}))
  g, d = models.build(cfg, (28, 28, 1))
  variables = g.init(jax.random.PRNGKey(0), jnp.zeros((2, 100)))
  widths = [variables["params"][f"Dense_{i}"]["kernel"].shape for i in range(4)]
  assert widths == [(100, 128), (128, 128), (128, 100), (100, 784)]
  images = g.apply(variables, jnp.ones((2, 100)))
  assert images.shape == (2, 28, 28, 1) and float(images.min()) >= 0.0  # sigmoid output
  d_vars = d.init(jax.random.PRNGKey(0), images)
  assert [d_vars["params"][f"Dense_{i}"]["kernel"].shape for i in range(3)] == [
      (784, 128), (128, 128), (128, 1)]


def test_batch_normalised_mlp_generator_matches_numpy():
  # Salimans et al. 2016's semi-supervised MNIST G: dense (no bias) → batch norm → softplus
  # per hidden layer. Training normalises with the batch's statistics, evaluation with the
  # running ones (updated with momentum 0.9 from 0 mean, 1 variance).
  config = ml_collections.ConfigDict(dict(
      name="mlp", discriminator={},
      generator=dict(hidden=(6, 5), batch_norm=True, hidden_activation="softplus")))
  g, _ = models.build(config, (2, 2, 1), axis_name=None)
  z = np.asarray(jax.random.normal(jax.random.PRNGKey(0), (9, 4)))
  variables = g.init(jax.random.PRNGKey(1), jnp.asarray(z), train=False)
  params = variables["params"]
  assert "bias" not in params["Dense_0"] and "bias" in params["Dense_2"]
  # Scales and offsets away from their initial 1 and 0, so an unused one shows.
  for i, width in enumerate((6, 5)):
    params[f"BatchNorm_{i}"] = {"scale": np.linspace(0.5, 1.5, width),
                                "bias": np.linspace(-0.3, 0.3, width)}
  images, updates = g.apply({"params": params, "batch_stats": variables["batch_stats"]},
                            jnp.asarray(z), train=True, mutable=["batch_stats"])

  h = z
  for i in range(2):
    h = h @ np.asarray(params[f"Dense_{i}"]["kernel"])
    mean, var = h.mean(0), h.var(0)
    bn = params[f"BatchNorm_{i}"]
    h = np.logaddexp(0.0, (h - mean) / np.sqrt(var + 1e-5) * bn["scale"] + bn["bias"])
    stats = updates["batch_stats"][f"BatchNorm_{i}"]
    np.testing.assert_allclose(stats["mean"], 0.1 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats["var"], 0.9 + 0.1 * var, rtol=1e-5, atol=1e-6)
  out = h @ np.asarray(params["Dense_2"]["kernel"]) + np.asarray(params["Dense_2"]["bias"])
  np.testing.assert_allclose(images.reshape(9, -1), 1 / (1 + np.exp(-out)), rtol=1e-5,
                             atol=1e-6)


def test_depth_to_space_places_channels_on_the_pixel_grid():
  x = np.arange(1 * 2 * 2 * 4 * 3).reshape(1, 2, 2, 4 * 3)
  y = np.asarray(depth_to_space(jnp.asarray(x), 2))
  assert y.shape == (1, 4, 4, 3)
  for h in range(2):
    for w in range(2):
      for i in range(2):
        for j in range(2):
          np.testing.assert_array_equal(y[0, 2 * h + i, 2 * w + j], x[0, h, w, (i * 2 + j) * 3:(i * 2 + j + 1) * 3])


def test_subpixel_upsampling_starts_as_nearest_neighbour_without_checkerboard():
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 7, 7, 5))
  up = Upsample(features=3, kernel_size=5, stride=2, mode="subpixel")
  y = up.apply(up.init(jax.random.PRNGKey(1), x), x)
  assert y.shape == (2, 14, 14, 3)
  # Every 2×2 block holds one value per channel (ICNR), and that value varies with position.
  np.testing.assert_allclose(y, jnp.repeat(jnp.repeat(y[:, ::2, ::2], 2, axis=1), 2, axis=2),
                             atol=1e-6)
  assert float(jnp.std(y[:, ::2, ::2])) > 0.1


@pytest.mark.parametrize("kernel_size,stride", [(5, 2), (4, 2), (3, 2), (5, 3), (2, 2)])
def test_subpixel_conv_computes_any_transposed_conv(kernel_size, stride):
  """The default upsampling holds every stride-s transposed conv: converted weights give
  the same output (Shi et al. 2016, "Is the deconvolution layer the same as a convolutional
  layer?")."""
  rng = np.random.default_rng(kernel_size * 10 + stride)
  kernel = rng.normal(size=(kernel_size, kernel_size, 3, 4)).astype(np.float32)
  bias = rng.normal(size=(4,)).astype(np.float32)
  x = jnp.asarray(rng.normal(size=(2, 7, 6, 3)), jnp.float32)
  transposed = Upsample(4, kernel_size, stride, "conv_transpose").apply(
      {"params": {"ConvTranspose_0": {"kernel": kernel, "bias": bias}}}, x)
  subpixel = Upsample(4, kernel_size, stride, "subpixel").apply(
      {"params": {"Conv_0": {"kernel": transposed_to_subpixel_kernel(kernel, stride),
                             "bias": np.tile(bias, stride * stride)}}}, x)
  assert transposed.shape == subpixel.shape == (2, 7 * stride, 6 * stride, 4)
  np.testing.assert_allclose(subpixel, transposed, rtol=1e-5, atol=1e-5)


def test_unknown_model_and_upsampling_are_user_errors():
  from ganjax.errors import UserError
  with pytest.raises(UserError, match="dcgan"):
    models.build(_model(dict(name="vae")), (28, 28, 1))
  with pytest.raises(UserError, match="subpixel"):
    models.build(_model(dict(name="dcgan", generator=dict(upsample="bilinear"))),
                 (28, 28, 1))


def test_sngan_resnets_have_the_papers_size():
  # Miyato et al. 2018's CIFAR-10 ResNets: G ≈ 4.3 M, D ≈ 1.1 M parameters (README, config).
  from ganjax.models.resnet import ResNetDiscriminator, ResNetGenerator

  def count(model, x):
    shapes = jax.eval_shape(lambda: model.init({"params": jax.random.PRNGKey(0)}, x,
                                               train=False)["params"])
    return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(shapes))

  assert count(ResNetGenerator(), jnp.zeros((1, 128))) == 4_276_739
  assert count(ResNetDiscriminator(), jnp.zeros((1, 32, 32, 3))) == 1_053_825


@pytest.mark.parametrize("name", ["dcgan", "mlp"])
@pytest.mark.parametrize("key", ["input_noise_std", "noise_std"])
def test_discriminator_noise_is_gaussian_in_training_and_off_in_evaluation(name, key):
  config = ml_collections.ConfigDict(dict(
      name=name, generator={}, discriminator={key: 0.5, "dropout": 0.0}))
  _, d = models.build(config, (28, 28, 1))
  x = jnp.zeros((64, 28, 28, 1))
  params = d.init(jax.random.PRNGKey(0), x, train=False)
  evaluated = d.apply(params, x, train=False)
  clean = d.clone(**{key: 0.0}).apply(params, x, train=False)
  np.testing.assert_array_equal(evaluated, clean)
  noisy = [d.apply(params, x, train=True, rngs={"noise": jax.random.PRNGKey(k)}) for k in (1, 2)]
  assert not np.allclose(noisy[0], noisy[1]) and not np.allclose(noisy[0], clean)
  samples = GaussianNoise(0.5).apply({}, jnp.zeros((200_000,)), True,
                                     rngs={"noise": jax.random.PRNGKey(3)})
  assert abs(float(samples.std()) - 0.5) < 0.005 and abs(float(samples.mean())) < 0.005


def test_weight_normalised_mlp_discriminator_matches_numpy():
  # Salimans & Kingma 2016: every layer computes x · (g ⊙ v/‖v‖) + b, the norm over the
  # inputs; with a semi-supervised head the class layer is weight-normalised too.
  config = ml_collections.ConfigDict(dict(
      name="mlp", generator={}, semi_supervised_classes=3,
      discriminator=dict(hidden=(5, 4), weight_norm=True, hidden_activation="relu")))
  _, d = models.build(config, (2, 3, 1))
  x = jax.random.normal(jax.random.PRNGKey(0), (7, 2, 3, 1))
  params = d.init(jax.random.PRNGKey(1), x, train=False)["params"]
  # Lengths g away from their initial 1, so a kernel left unnormalised or a g unused shows.
  g = {name: np.linspace(0.5, 2.0, width)
       for name, width in [("Dense_0", 5), ("Dense_1", 4), ("Dense_2", 1), ("class_head", 3)]}
  params["WeightNorm_0"] = {"class_head/kernel/scale": g["class_head"]}
  for i in range(3):
    params["base"][f"WeightNorm_{i}"] = {f"Dense_{i}/kernel/scale": g[f"Dense_{i}"]}
  _, logits = d.apply({"params": params}, x, train=False)

  def dense(tree, name, h):
    v = np.asarray(tree[name]["kernel"])
    return h @ (g[name] * v / np.linalg.norm(v, axis=0)) + np.asarray(tree[name]["bias"])

  h = np.asarray(x).reshape(7, -1)
  for i in range(2):
    h = np.maximum(dense(params["base"], f"Dense_{i}", h), 0.0)
  np.testing.assert_allclose(logits, dense(params, "class_head", h), rtol=1e-5, atol=1e-6)


def test_generator_output_weight_norm_matches_numpy():
  # Salimans et al. 2016's MNIST G: only the output layer is x · (g ⊙ v/‖v‖) + b, then sigmoid.
  config = ml_collections.ConfigDict(dict(
      name="mlp", discriminator={},
      generator=dict(hidden=(6,), output_weight_norm=True)))
  g_net, _ = models.build(config, (2, 2, 1))
  z = jax.random.normal(jax.random.PRNGKey(0), (5, 3))
  params = g_net.init(jax.random.PRNGKey(1), z)["params"]
  assert np.all(np.asarray(params["WeightNorm_0"]["Dense_1/kernel/scale"]) == 1.0)  # g from 1
  length = np.linspace(0.5, 3.0, 4)
  params["WeightNorm_0"] = {"Dense_1/kernel/scale": length}
  images = g_net.apply({"params": params}, z)

  h = np.maximum(np.asarray(z) @ np.asarray(params["Dense_0"]["kernel"])
                 + np.asarray(params["Dense_0"]["bias"]), 0.0)
  v = np.asarray(params["Dense_1"]["kernel"])
  pre = h @ (length * v / np.linalg.norm(v, axis=0)) + np.asarray(params["Dense_1"]["bias"])
  np.testing.assert_allclose(images.reshape(5, 4), 1 / (1 + np.exp(-pre)), rtol=1e-5, atol=1e-6)


def test_weight_norm_and_spectral_norm_exclude_each_other():
  d = MLPDiscriminator(weight_norm=True, spectral_norm=True)
  with pytest.raises(ValueError, match="exclude each other"):
    d.init(jax.random.PRNGKey(0), jnp.zeros((2, 28, 28, 1)), train=False)


def test_bfloat16_compute_trains_with_float32_parameters(tiny_config, tmp_path, capsys):
  from ganjax import cli, saved_run
  assert cli.main(["train", "--config", tiny_config, "--workdir", str(tmp_path), "--no-progress",
                   "--config.total_steps=2", "--config.model.compute_dtype=bfloat16"]) == 0
  exp, state = saved_run.load_run(str(tmp_path))
  dtypes = {leaf.dtype for leaf in jax.tree.leaves((state.g_params, state.d_params))}
  assert dtypes == {np.dtype(np.float32)}
  z = jnp.zeros((2, exp.config.latent_dim))
  variables = {"params": state.g_params, "batch_stats": state.g_batch_stats}
  jaxpr = str(jax.make_jaxpr(lambda v: exp.generator.apply(v, z, train=False))(variables))
  assert "bf16" in jaxpr  # the convolutions and matmuls run in bfloat16
  assert exp.generator.apply(variables, z, train=False).dtype == jnp.float32
  with pytest.raises(Exception, match="compute_dtype=bfloat16 is built for the mlp and dcgan"):
    models.build(_model(dict(name="resnet", compute_dtype="bfloat16")),
                 (32, 32, 3))
