"""Orthogonal-gradient transform: polar factors, projections, Muon agreement, convergence."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from optax.contrib import _muon

from ganjax.optim import orthogonal_gradient, scale_by_orthogonal_gradient
from ganjax.optim.orthogonal import MUON_COEFFS, as_matrix, newton_schulz

# After 5 quintic Newton–Schulz steps the singular values land in about [0.7, 1.2] (Muon's
# coefficients trade exactness for speed); the cubic iteration converges to exactly 1.
QUINTIC_BAND = (0.6, 1.25)
CUBIC = (1.5, -0.5, 0.0)


def _singular_values(x):
  return np.linalg.svd(np.asarray(as_matrix(x), np.float64), compute_uv=False)


@pytest.mark.parametrize("shape", [(64, 32), (3, 3, 16, 32)])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_polar_update_has_unit_singular_values(shape, dtype):
  g = jax.random.normal(jax.random.PRNGKey(0), shape, dtype)
  tx = scale_by_orthogonal_gradient("polar", scale_by_shape=False)
  u, _ = tx.update({"w": g}, tx.init({"w": g}))
  assert u["w"].dtype == dtype and u["w"].shape == shape
  s = _singular_values(u["w"].astype(jnp.float32))
  assert QUINTIC_BAND[0] < s.min() and s.max() < QUINTIC_BAND[1], (s.min(), s.max())


def test_cubic_newton_schulz_converges_to_the_svd_polar_factor():
  g = np.random.default_rng(0).normal(size=(64, 32)).astype(np.float32)
  u, _, vt = np.linalg.svd(g, full_matrices=False)
  np.testing.assert_allclose(newton_schulz(jnp.asarray(g), steps=40, coeffs=CUBIC), u @ vt,
                             atol=2e-3)


@pytest.mark.parametrize("shape", [(64, 32), (32, 64), (3, 3, 16, 32)])
def test_polar_agrees_with_optax_muon_orthogonalisation(shape):
  g = jax.random.normal(jax.random.PRNGKey(1), shape)
  matrix = as_matrix(g)
  want = _muon.orthogonalize_via_newton_schulz(matrix, jnp.asarray(MUON_COEFFS), 5)
  np.testing.assert_allclose(newton_schulz(matrix), want, atol=2e-5)


def test_first_step_equals_optax_muon_with_adam_on_biases():
  params = {"dense": {"kernel": jax.random.normal(jax.random.PRNGKey(2), (24, 48)),
                      "bias": jnp.zeros(48)}}
  grads = jax.tree.map(lambda p: jax.random.normal(jax.random.PRNGKey(3), p.shape), params)
  ours, muon = orthogonal_gradient(0.02), optax.contrib.muon(0.02)
  u_ours, _ = ours.update(grads, ours.init(params), params)
  u_muon, _ = muon.update(grads, muon.init(params), params)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=2e-6), u_ours, u_muon)


@pytest.mark.parametrize("keep_norm", [False, True])
def test_project_weights_is_orthogonal_to_the_weights(keep_norm):
  key_w, key_g = jax.random.split(jax.random.PRNGKey(4))
  params = {"w": jax.random.normal(key_w, (5, 5, 8, 16)), "b": jnp.linspace(-1, 1, 16)}
  grads = jax.tree.map(lambda p: jax.random.normal(key_g, p.shape), params)
  tx = scale_by_orthogonal_gradient("project_weights", keep_norm=keep_norm, threshold=None)
  u, _ = tx.update(grads, tx.init(params), params)
  for name in params:
    cos = jnp.vdot(u[name], params[name]) / (jnp.linalg.norm(u[name]) * jnp.linalg.norm(params[name]))
    assert abs(float(cos)) < 1e-5
    if keep_norm:
      np.testing.assert_allclose(jnp.linalg.norm(u[name]), jnp.linalg.norm(grads[name]), rtol=1e-5)


def test_project_weights_leaves_tensors_that_are_not_scale_invariant():
  w = jnp.arange(1.0, 9.0)
  tx = scale_by_orthogonal_gradient("project_weights")  # AdamP's δ = 0.1
  aligned = {"w": w + 0.01}  # |cos| ≈ 1 ≥ 0.1/√8
  u, _ = tx.update(aligned, tx.init({"w": w}), {"w": w})
  np.testing.assert_array_equal(u["w"], aligned["w"])


def test_project_previous_is_orthogonal_to_the_last_update():
  tx = scale_by_orthogonal_gradient("project_previous")
  params = {"w": jnp.zeros((6, 4))}
  state = tx.init(params)
  previous = None
  for i in range(4):
    g = {"w": jax.random.normal(jax.random.PRNGKey(10 + i), (6, 4))}
    u, state = tx.update(g, state)
    if previous is None:
      np.testing.assert_array_equal(u["w"], g["w"])  # nothing to project against yet
    else:
      cos = jnp.vdot(u["w"], previous) / (jnp.linalg.norm(u["w"]) * jnp.linalg.norm(previous))
      assert abs(float(cos)) < 1e-5
    previous = u["w"]


def _least_squares():
  rng = np.random.default_rng(5)
  a = jnp.asarray(rng.normal(size=(40, 8)), jnp.float32)
  w_true = jnp.asarray(rng.normal(size=(8, 3)), jnp.float32)
  b = a @ w_true
  return lambda p: 0.5 * jnp.mean(jnp.sum((a @ p["w"] - b) ** 2, axis=1)), {"w": jnp.zeros((8, 3))}


def _quadratic():
  target = jnp.asarray(np.random.default_rng(6).normal(size=(6, 5)), jnp.float32)
  return lambda p: 0.5 * jnp.sum((p["w"] - target) ** 2), {"w": jnp.full((6, 5), 0.1, jnp.float32)}


def _minimise(tx, loss, params, steps, decay_every=None):
  state = tx.init(params)

  @jax.jit
  def step(params, state):
    u, state = tx.update(jax.grad(loss)(params), state, params)
    return optax.apply_updates(params, u), state

  for _ in range(steps):
    params, state = step(params, state)
  return float(loss(params)), step


@pytest.mark.parametrize("problem", [_quadratic, _least_squares])
@pytest.mark.parametrize("mode", ["polar", "project_weights", "project_previous"])
def test_every_mode_converges(problem, mode):
  loss, params = problem()
  start = float(loss(params))
  # The polar step has a fixed spectral size, so it needs a decaying learning rate to settle.
  lr = optax.exponential_decay(0.1, transition_steps=50, decay_rate=0.5) if mode == "polar" else 0.05
  final, step = _minimise(orthogonal_gradient(lr, mode=mode, momentum=0.5), loss, params, 600)
  assert final < 1e-3 * start, (final, start)
  assert step._cache_size() == 1  # no recompilation across steps


def test_unknown_mode_is_refused():
  with pytest.raises(ValueError, match="choose from"):
    scale_by_orthogonal_gradient("svd")


def test_works_with_inject_hyperparams():
  tx = optax.inject_hyperparams(orthogonal_gradient, static_args=("mode", "ns_steps", "nesterov"))(
      learning_rate=0.1, momentum=0.9)
  params = {"w": jnp.ones((4, 3)), "b": jnp.ones(3)}
  state = tx.init(params)
  u, state = jax.jit(tx.update)(jax.tree.map(jnp.ones_like, params), state, params)
  assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(u))
