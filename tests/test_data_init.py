"""Data-dependent initialisation of weight-normalised layers against its definition and numpy."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganjax import config as config_lib
from ganjax import data, experiment
from ganjax.models.conditional import SemiSupervisedDiscriminator
from ganjax.models.data_init import weight_norm_data_init
from ganjax.models.mlp import MLPDiscriminator
from ganjax.state import state_digest

SSGAN_MLP = "experiments/ssgan_mlp_fashion_mnist.py"


def _is_weight_norm(module, method):
  return isinstance(module, nn.WeightNorm) and method == "__call__"


def _layer_outputs(module, variables, x, **kwargs):
  _, state = module.apply(variables, x, capture_intermediates=_is_weight_norm, mutable=True,
                          **kwargs)
  return jax.tree_util.tree_leaves(state["intermediates"])


def test_every_layer_starts_standardised_on_the_batch_with_noise_on():
  """Salimans et al.'s D (noise 0.3 / 0.5 on, as they initialise): each weight-normalised
  layer's output, including the class head, has mean 0 and variance 1 per unit."""
  d = SemiSupervisedDiscriminator(MLPDiscriminator(
      hidden=(48, 32, 16), hidden_activation="relu", weight_norm=True, input_noise_std=0.3,
      noise_std=0.5), num_classes=10)
  x = jax.random.uniform(jax.random.PRNGKey(1), (300, 28, 28, 1), minval=-1, maxval=1)
  variables = d.init(jax.random.PRNGKey(0), x[:1], train=False)
  rngs = {"noise": jax.random.PRNGKey(2)}
  before = _layer_outputs(d, variables, x, rngs=rngs, train=True)
  assert max(float(jnp.abs(y.std(0) - 1).max()) for y in before) > 0.3  # not already so
  initialised = weight_norm_data_init(d, variables, x, rngs=rngs, train=True)
  after = _layer_outputs(d, initialised, x, rngs=rngs, train=True)
  assert len(after) == 5  # 3 hidden, the base net's unused logit layer, the class head
  for y in after:
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(0), 1, atol=1e-5)
  # Only the lengths g and the biases move; the directions v are the initial ones.
  kernels = lambda v: [leaf for path, leaf in jax.tree_util.tree_flatten_with_path(v)[0]
                       if "kernel" == getattr(path[-1], "key", None)]
  for a, b in zip(kernels(variables), kernels(initialised)):
    np.testing.assert_array_equal(a, b)


class _ConvNet(nn.Module):
  @nn.compact
  def __call__(self, x):
    x = nn.relu(nn.WeightNorm(nn.Conv(6, (3, 3)))(x))
    x = nn.relu(nn.WeightNorm(nn.Conv(4, (3, 3), strides=2))(x))
    return nn.WeightNorm(nn.Dense(3))(x.reshape((x.shape[0], -1)))


def test_equals_a_layer_by_layer_numpy_initialisation():
  """Against the procedure as Salimans & Kingma state it, in numpy, bottom layer first:
  t = (v·x)/‖v‖ per unit (over batch and positions for convolutions), g = 1/σ, b = −μ/σ."""
  net = _ConvNet()
  x = np.random.default_rng(0).normal(size=(64, 8, 8, 2)).astype(np.float32)
  variables = net.init(jax.random.PRNGKey(0), x[:1])
  params = weight_norm_data_init(net, variables, x)["params"]
  kernels = [np.asarray(variables["params"][name]["kernel"]) for name in ("Conv_0", "Conv_1",
                                                                         "Dense_0")]
  h = x
  for i, kernel in enumerate(kernels):
    direction = kernel / np.linalg.norm(kernel.reshape(-1, kernel.shape[-1]), axis=0)
    if kernel.ndim == 4:
      stride = 1 if i == 0 else 2
      t = np.asarray(jax.lax.conv_general_dilated(
          h.astype(np.float64), direction.astype(np.float64), (stride, stride), "SAME",
          dimension_numbers=("NHWC", "HWIO", "NHWC")))
    else:
      t = h.reshape(len(h), -1).astype(np.float64) @ direction
    axes = tuple(range(t.ndim - 1))
    sigma = np.sqrt(t.var(axes) + 1e-6)
    g, b = 1 / sigma, -t.mean(axes) / sigma
    name = ("Conv_0", "Conv_1", "Dense_0")[i]
    np.testing.assert_allclose(params[f"WeightNorm_{i}"][f"{name}/kernel/scale"], g, rtol=2e-4)
    np.testing.assert_allclose(params[name]["bias"], b, rtol=2e-4, atol=2e-5)
    h = np.maximum(g * t + b, 0)


def test_training_initialises_each_seed_on_its_own_first_images(idx_dir):
  """``config.model.data_init_images``: vmapped seeds == each seed alone, and the images are
  the first ones the seed's run trains on."""
  config = config_lib.load(SSGAN_MLP)
  config.data.update(source="idx", path=idx_dir)
  config.model.generator.hidden = (8,)
  config.model.discriminator.hidden = (8, 4)
  config.model.data_init_images = 150
  exp = experiment.build(config, (28, 28, 1))
  seeds = [0, 5]
  source = data.open_source(config.data)
  batches = [data.Batches(source, 100, 1, s, exp.value_range) for s in seeds]
  images = [experiment.data_init_images(b, 150) for b in batches]
  assert images[0].shape == (150, 28, 28, 1)
  np.testing.assert_array_equal(images[0][:100], batches[0](0)["image"][0])
  assert not np.array_equal(images[0], images[1])
  stacked = jax.device_get(experiment.fresh_state(exp, batches))
  plain = jax.device_get(experiment.initial_state(exp))
  for k, seed in enumerate(seeds):
    exp_k = exp._replace(config=exp.config.copy_and_resolve_references())
    exp_k.config.seed = seed
    alone = experiment.fresh_state(exp_k, batches[k:k + 1])
    assert state_digest(alone) == state_digest(experiment.initial_state(exp_k, images[k]))
    assert state_digest(jax.tree.map(lambda x: x[k], stacked)) == state_digest(alone)
  assert state_digest(jax.tree.map(lambda x: x[0], stacked)) != state_digest(plain)


def _by_layer(params) -> dict:
  """Leaves keyed by their path without the weight-norm wrapper's name, which differs
  between ``WeightNorm_k`` and ``FixedScaleWeightNorm_k``."""
  return {tuple(p.key for p in path if "WeightNorm" not in p.key): leaf
          for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]}


def test_fixed_scale_freezes_the_hidden_lengths_and_nothing_else():
  """``weight_norm_learn_scale=False`` (Salimans et al.'s ``train_scale=False``): after the
  data-dependent initialisation, the same function as the learned-scale net with the same
  draws, zero gradient for the hidden layers' g and the same gradient for everything else."""
  kw = dict(hidden=(24, 16), hidden_activation="relu", weight_norm=True, input_noise_std=0.3,
            noise_std=0.5)
  x = jax.random.uniform(jax.random.PRNGKey(1), (64, 28, 28, 1))
  labels = jnp.arange(64) % 10
  rngs = {"noise": jax.random.PRNGKey(2)}
  grads, outputs, scales = {}, {}, {}
  for learn_scale in (True, False):
    d = SemiSupervisedDiscriminator(
        MLPDiscriminator(weight_norm_learn_scale=learn_scale, **kw), num_classes=10)
    variables = d.init(jax.random.PRNGKey(0), x[:1], train=False)
    variables = weight_norm_data_init(d, variables, x, rngs=rngs, train=True)

    def loss(params, d=d):
      _, logits = d.apply({"params": params}, x, rngs=rngs, train=True)
      return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], 1))

    outputs[learn_scale], g = jax.value_and_grad(loss)(variables["params"])
    grads[learn_scale] = _by_layer(g)
    scales[learn_scale] = _by_layer(variables["params"])
  assert outputs[True] == outputs[False]
  hidden = {("base", "Dense_0/kernel/scale"), ("base", "Dense_1/kernel/scale")}
  assert hidden < set(grads[True]) and grads[True].keys() == grads[False].keys()
  for key, g in grads[False].items():
    if key in hidden:
      np.testing.assert_array_equal(g, 0)
      assert float(jnp.abs(grads[True][key]).min()) > 0
      assert float(jnp.abs(scales[False][key] - 1).min()) > 1e-3  # set by the initialisation
    else:
      np.testing.assert_allclose(g, grads[True][key], rtol=1e-5, atol=1e-7)


def test_fixed_scale_without_weight_norm_is_refused():
  with pytest.raises(config_lib.UserError, match="weight_norm_learn_scale=False fixes"):
    config_lib.load(SSGAN_MLP, {"model.discriminator.weight_norm": "False",
                                "model.discriminator.weight_norm_learn_scale": "False"})
