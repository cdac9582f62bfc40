"""Gradient penalty, R1, weight clipping, orthogonal regularisation and spectral norm, in numbers."""

import jax
import jax.numpy as jnp
import numpy as np

from ganjax.objectives import regularizers
from ganjax.models.dcgan import DCGANDiscriminator
from ganjax.models.mlp import MLPDiscriminator
from ganjax.models.resnet import ResNetDiscriminator

SHAPE = (4, 3, 3, 2)


def _small_critic(seed=0):
  """A two-layer tanh critic and the same function in float64 numpy."""
  rng = np.random.default_rng(seed)
  w1 = rng.normal(size=(18, 6)) / 3
  w2 = rng.normal(size=(6,))

  def critic(x):
    return jnp.tanh(x.reshape(x.shape[0], -1) @ w1.astype(np.float32)) @ w2.astype(np.float32)

  def critic64(x):
    return np.tanh(x.reshape(-1) @ w1) @ w2

  return critic, critic64


def _finite_difference_gradient(f, x, h=1e-5):
  grad = np.zeros_like(x)
  for i in np.ndindex(x.shape):
    step = np.zeros_like(x)
    step[i] = h
    grad[i] = (f(x + step) - f(x - step)) / (2 * h)
  return grad


def test_gradient_penalty_equals_finite_differences_on_a_small_net():
  critic, critic64 = _small_critic()
  rng = np.random.default_rng(1)
  real, fake = rng.normal(size=SHAPE), rng.normal(size=SHAPE)
  key = jax.random.PRNGKey(3)
  value = regularizers.gradient_penalty(critic, jnp.float32(real), jnp.float32(fake), key)
  # The same interpolation the penalty draws, then the gradient norm by central differences.
  eps = np.asarray(jax.random.uniform(key, (4, 1, 1, 1), jnp.float32), np.float64)
  interpolates = eps * real + (1 - eps) * fake
  norms = [np.linalg.norm(_finite_difference_gradient(critic64, x)) for x in interpolates]
  expected = np.mean((np.asarray(norms) - 1) ** 2)
  assert expected > 0.01  # not trivially zero
  np.testing.assert_allclose(value, expected, rtol=1e-4)


def test_r1_equals_finite_differences_on_a_small_net():
  critic, critic64 = _small_critic(seed=2)
  real = np.random.default_rng(4).normal(size=SHAPE)
  expected = np.mean([np.sum(_finite_difference_gradient(critic64, x) ** 2) for x in real])
  np.testing.assert_allclose(regularizers.r1_penalty(critic, jnp.float32(real)), expected,
                             rtol=1e-4)


def test_dragan_equals_finite_differences_at_its_perturbed_reals():
  critic, critic64 = _small_critic(seed=5)
  real = np.random.default_rng(6).normal(size=SHAPE)
  key = jax.random.PRNGKey(7)
  value = regularizers.dragan_penalty(critic, jnp.float32(real), key)
  # The perturbation the penalty draws: ½ · std of the batch · U[0, 1) per pixel.
  u = np.asarray(jax.random.uniform(key, SHAPE, jnp.float32), np.float64)
  perturbed = real + 0.5 * np.float32(real).std() * u
  norms = [np.linalg.norm(_finite_difference_gradient(critic64, x)) for x in perturbed]
  expected = np.mean((np.asarray(norms) - 1) ** 2)
  assert expected > 0.01
  np.testing.assert_allclose(value, expected, rtol=1e-4)


def test_linear_critic_closed_forms():
  # D(x) = <w, x>: every input gradient is w, so R1 = ‖w‖² and GP = (‖w‖ − 1)².
  w = jnp.arange(1.0, 19.0).reshape(3, 3, 2) / 20

  def critic(x):
    return jnp.sum(x * w, axis=(1, 2, 3))

  x = jnp.ones(SHAPE)
  norm2 = float(jnp.sum(w ** 2))
  np.testing.assert_allclose(regularizers.r1_penalty(critic, x), norm2, rtol=1e-6)
  np.testing.assert_allclose(regularizers.gradient_penalty(critic, x, -x, jax.random.PRNGKey(0)),
                             (np.sqrt(norm2) - 1) ** 2, rtol=1e-5)
  np.testing.assert_allclose(regularizers.dragan_penalty(critic, x, jax.random.PRNGKey(0)),
                             (np.sqrt(norm2) - 1) ** 2, rtol=1e-5)


def test_discriminator_penalty_weights_and_off_switch():
  assert regularizers.discriminator_penalty(0.0, 0.0) is None
  w = jnp.full((3, 3, 2), 0.5)  # ‖w‖² = 4.5

  def critic(x):
    return jnp.sum(x * w, axis=(1, 2, 3))

  penalty = regularizers.discriminator_penalty(gradient_penalty_weight=10.0, r1_weight=2.0)
  total, terms = penalty(critic, jnp.ones(SHAPE), jnp.zeros(SHAPE), jax.random.PRNGKey(0))
  gp, r1 = (np.sqrt(4.5) - 1) ** 2, 4.5
  np.testing.assert_allclose([terms["d_gradient_penalty"], terms["d_r1_penalty"]], [gp, r1],
                             rtol=1e-5)
  np.testing.assert_allclose(total, 10 * gp + 0.5 * 2.0 * r1, rtol=1e-5)


def test_clip_weights_bounds_every_leaf():
  params = {"a": jnp.array([-3.0, 0.005, 2.0]), "b": {"c": jnp.array([[0.02, -0.001]])}}
  clipped = regularizers.clip_weights(params, 0.01)
  np.testing.assert_array_equal(clipped["a"], np.float32([-0.01, 0.005, 0.01]))
  np.testing.assert_array_equal(clipped["b"]["c"], np.float32([[0.01, -0.001]]))


def test_manifold_penalty_estimates_the_jacobian_norm_along_random_directions():
  """For small ε, ‖f(z) − f(z + ε r̄)‖² ≈ ε²‖J r̄‖², and E‖J r̄‖² = ‖J‖²_F / d over unit
  directions r̄: the Monte Carlo Laplacian-norm estimate of Lecouat et al. 2018."""
  rng = np.random.default_rng(0)
  d, k, n, eps = 6, 3, 20000, 1e-3
  a = jnp.asarray(rng.normal(size=(d, 5)) / 2, jnp.float32)
  b = jnp.asarray(rng.normal(size=(5, k)), jnp.float32)

  def f(z):
    return jnp.tanh(z @ a) @ b

  z = jnp.asarray(rng.normal(size=(n, d)), jnp.float32)
  r = jnp.asarray(rng.normal(size=(n, d)) * 5, jnp.float32)  # any length: only directions count
  z_near = regularizers.perturb_latents(z, r, eps)
  np.testing.assert_allclose(np.linalg.norm(np.asarray(z_near - z), axis=1), eps, rtol=1e-3)
  estimate = regularizers.manifold_penalty(f(z), f(z_near)) * d / eps ** 2
  jacobian_norm = jnp.mean(jnp.sum(jax.vmap(jax.jacfwd(f))(z) ** 2, axis=(1, 2)))
  np.testing.assert_allclose(estimate, jacobian_norm, rtol=0.03)


def test_prediction_consistency_by_hand():
  same = jnp.array([[0.0, 1.0], [2.0, 2.0]])
  assert float(regularizers.prediction_consistency(same, same + 5.0)) == 0.0  # shift-invariant
  # softmax(0, log 3) = (1/4, 3/4) against (1/2, 1/2): (1/4)² + (1/4)² on one row of two.
  a = jnp.array([[0.0, np.log(3.0)], [1.0, 1.0]])
  b = jnp.zeros((2, 2))
  np.testing.assert_allclose(regularizers.prediction_consistency(a, b), 0.0625, rtol=1e-6)


def test_orthogonal_regularization_by_hand_and_by_descent():
  # W = [[1, 1], [0, 1]]: WᵀW = [[1, 1], [1, 2]], off-diagonal squares sum to 2; biases ignored.
  params = {"kernel": jnp.array([[1.0, 1.0], [0.0, 1.0]]), "bias": jnp.ones(2)}
  np.testing.assert_allclose(regularizers.orthogonal_regularization(params), 2.0)
  q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(12, 5)))
  scaled = {"kernel": jnp.float32(q * np.array([1, 2, 3, 4, 5]))}  # orthogonal, unequal norms
  assert float(regularizers.orthogonal_regularization(scaled)) < 1e-9
  # Gradient descent removes the correlation between a conv kernel's filters.
  kernel = {"k": jax.random.normal(jax.random.PRNGKey(0), (3, 3, 4, 6)) * 0.3}
  start = float(regularizers.orthogonal_regularization(kernel))
  grad = jax.jit(jax.grad(regularizers.orthogonal_regularization))
  for _ in range(300):
    kernel = jax.tree.map(lambda p, g: p - 0.05 * g, kernel, grad(kernel))
  assert float(regularizers.orthogonal_regularization(kernel)) < 1e-3 * start


def _largest_singular_values(params, stats):
  """σ_max of every normalised kernel, as (k·k·in, out) matrices, by numpy SVD.

  Flax keeps ``<parents>/SpectralNorm_i/{<layer>/kernel/sigma}`` beside
  ``<parents>/<layer>/kernel`` in the params.
  """
  values = []
  for path, sigma in jax.tree_util.tree_flatten_with_path(stats)[0]:
    *parents, _, name = [p.key for p in path]
    if name.endswith("/sigma"):
      node = params
      for key in (*parents, *name.split("/")[:-1]):
        node = node[key]
      kernel = np.asarray(node, np.float64)
      values.append(np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]) / float(sigma),
                                  compute_uv=False)[0])
  return values


def test_spectral_norm_leaves_largest_singular_value_one():
  for model, layers in ((DCGANDiscriminator(features=(8, 16), kernel_size=3, dropout=0.0,
                                            spectral_norm=True), 3),
                        (MLPDiscriminator(hidden=(32, 16), spectral_norm=True), 3),
                        # 3 blocks × 2 convs, 2 shortcut convs (the two downsampling blocks),
                        # the output layer
                        (ResNetDiscriminator(channels=8, downsample=(True, True, False)), 9)):
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 28, 28, 1))
    variables = model.init({"params": jax.random.PRNGKey(0)}, x, train=False)
    params, stats = variables["params"], variables["batch_stats"]

    @jax.jit
    def power_step(stats):
      _, mutated = model.apply({"params": params, "batch_stats": stats}, x, train=True,
                               mutable=["batch_stats"])
      return mutated["batch_stats"]

    for _ in range(50):  # one power iteration per training forward, as in training
      stats = power_step(stats)
    values = _largest_singular_values(params, stats)
    assert len(values) == layers
    np.testing.assert_allclose(values, 1.0, atol=1e-3)
    # Eval mode uses the stored vector and changes nothing.
    out1 = model.apply({"params": params, "batch_stats": stats}, x, train=False)
    out2 = model.apply({"params": params, "batch_stats": stats}, x, train=False)
    np.testing.assert_array_equal(out1, out2)
