"""The style-based generator: modulated convolution against a per-sample kernel, and noise."""

import jax
import jax.numpy as jnp
import numpy as np

from ganjax.models.style import MappingNetwork, ModulatedConv, StyleGenerator


def test_modulated_conv_equals_a_per_sample_demodulated_kernel():
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 6, 6, 4))
  w = jax.random.normal(jax.random.PRNGKey(1), (3, 5))
  layer = ModulatedConv(7)
  variables = layer.init(jax.random.PRNGKey(2), x, w)
  out = layer.apply(variables, x, w)
  params = variables["params"]
  kernel = params["Conv_0"]["kernel"]  # (3, 3, 4, 7)
  styles = w @ params["style"]["kernel"] + params["style"]["bias"]  # (3, 4)
  for b in range(3):
    modulated = kernel * styles[b][None, None, :, None]
    demodulated = modulated / jnp.sqrt(jnp.sum(modulated ** 2, axis=(0, 1, 2)) + 1e-8)
    expected = jax.lax.conv_general_dilated(x[b:b + 1], demodulated, (1, 1), "SAME",
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))
    np.testing.assert_allclose(out[b:b + 1], expected, rtol=1e-4, atol=1e-5)
  # Demodulation: each output channel's kernel has unit norm, whatever the style's scale.
  louder = {"params": {**params, "style": jax.tree.map(lambda p: 10 * p, params["style"])}}
  np.testing.assert_allclose(layer.apply(louder, x, w), out, rtol=1e-4, atol=1e-5)


def test_noise_is_random_in_training_and_fixed_in_eval():
  g = StyleGenerator(image_shape=(28, 28, 1), channels=(8, 4, 4), w_dim=8)
  z = jax.random.normal(jax.random.PRNGKey(0), (2, 16))
  variables = g.init({"params": jax.random.PRNGKey(1)}, z, train=False)
  # Give every noise input a visible strength (they start at zero, as in StyleGAN).
  params = jax.tree_util.tree_map_with_path(
      lambda path, p: jnp.full_like(p, 0.5) if path[-1].key == "strength" else p,
      variables["params"])

  def sample(train, key=0):
    return g.apply({"params": params}, z, train=train, rngs={"noise": jax.random.PRNGKey(key)})

  np.testing.assert_array_equal(sample(False, 0), sample(False, 1))
  assert float(jnp.max(jnp.abs(sample(True, 0) - sample(True, 1)))) > 1e-3
  np.testing.assert_array_equal(sample(True, 3), sample(True, 3))
  assert sample(False).shape == (2, 28, 28, 1)


def test_mapping_network_keeps_the_scale_of_z_so_styles_depend_on_it():
  """He initialisation: w's mean square stays near the normalised z's (1) through 4 leaky-
  ReLU layers. With LeCun's default it fell to ~0.07 and every style sat near 1 whatever
  z was; a 1500-step Fashion-MNIST run then drew one blob for every z."""
  z = jax.random.normal(jax.random.PRNGKey(0), (4096, 128))
  mean_squares = []
  for seed in range(4):
    mapping = MappingNetwork(w_dim=128, layers=4)
    w = mapping.apply(mapping.init(jax.random.PRNGKey(seed), z), z)
    mean_squares.append(float(jnp.mean(w ** 2)))
  assert 0.4 < np.mean(mean_squares) < 2.5, mean_squares
