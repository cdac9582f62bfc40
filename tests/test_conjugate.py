"""Conjugate-gradient transform: β formulas against numpy, SGD limit, convergence, bounds."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ganjax.optim import conjugate_gradient, scale_by_conjugate_gradient
from ganjax.optim.conjugate import BETAS


def numpy_beta(name, g, g_prev, d_prev):
  """Textbook β_t formulas, written independently in float64 numpy."""
  g, g_prev, d_prev = (np.asarray(a, np.float64).ravel() for a in (g, g_prev, d_prev))
  y = g - g_prev
  fr = g @ g / (g_prev @ g_prev)
  prp = g @ y / (g_prev @ g_prev)
  hs = g @ y / (d_prev @ y)
  dy = g @ g / (d_prev @ y)
  hz = (y - 2 * d_prev * (y @ y) / (d_prev @ y)) @ g / (d_prev @ y)
  return dict(fr=fr, prp=prp, hs=hs, dy=dy, hz=hz, fr_prp=max(0.0, min(fr, prp)),
              hs_dy=max(0.0, min(hs, dy)))[name]


def numpy_cg(name, grads, lr, beta_max, beta_scale):
  """The whole recursion d_t = −g_t + β_t d_{t−1} on fixed gradients; returns updates, β's."""
  updates, betas, d, g_prev = [], [], None, None
  for g in grads:
    g = np.asarray(g, np.float64)
    if d is None:
      beta, d = 0.0, -g
    else:
      beta = min(numpy_beta(name, g, g_prev, d), beta_max) * beta_scale
      d = -g + beta * d
    updates.append(lr * d)
    betas.append(beta)
    g_prev = g
  return updates, betas


@pytest.mark.parametrize("name", BETAS)
def test_each_beta_matches_numpy_over_several_steps(name):
  rng = np.random.default_rng(0)
  grads = [rng.normal(size=(5, 3)).astype(np.float32) for _ in range(6)]
  lr, beta_max, beta_scale = 0.1, 10.0, 0.7  # a large beta_max keeps the raw formula in play
  want_updates, want_betas = numpy_cg(name, grads, lr, beta_max, beta_scale)
  tx = conjugate_gradient(lr, beta=name, beta_max=beta_max, beta_scale=beta_scale)
  params = {"w": jnp.zeros((5, 3))}
  state = tx.init(params)
  update = jax.jit(tx.update)
  for g, want_u, want_b in zip(grads, want_updates, want_betas):
    u, state = update({"w": jnp.asarray(g)}, state)
    np.testing.assert_allclose(u["w"], want_u, rtol=2e-4, atol=1e-6)
    np.testing.assert_allclose(state[0].beta["w"], want_b, rtol=2e-4, atol=1e-6)


def test_beta_zero_is_sgd():
  rng = np.random.default_rng(1)
  params = {"a": jnp.ones((4, 2)), "b": jnp.zeros(3)}
  cg, sgd = conjugate_gradient(0.05, beta="prp", beta_scale=0.0), optax.sgd(0.05)
  cg_state, sgd_state = cg.init(params), sgd.init(params)
  for _ in range(5):
    grads = jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape), jnp.float32), params)
    u_cg, cg_state = cg.update(grads, cg_state)
    u_sgd, sgd_state = sgd.update(grads, sgd_state)
    jax.tree.map(np.testing.assert_array_equal, u_cg, u_sgd)


def _ill_conditioned_quadratic(dim=20, condition=100.0):
  eigenvalues = np.geomspace(1.0, condition, dim)
  q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(dim, dim)))
  a = jnp.asarray(q @ np.diag(eigenvalues) @ q.T, jnp.float32)
  return (lambda x: 0.5 * x @ a @ x), jnp.ones(dim, jnp.float32)


def _steps_to_tolerance(tx, loss, x0, tol=1e-4, max_steps=3000):
  x, state = x0, tx.init(x0)

  @jax.jit
  def step(x, state):
    u, state = tx.update(jax.grad(loss)(x), state, x)
    return optax.apply_updates(x, u), state

  for i in range(max_steps):
    if float(loss(x)) < tol:
      return i
    x, state = step(x, state)
  return max_steps


# (β, learning rate as a fraction of 1/λ_max, required speed-up over SGD). FR, DY and HZ keep
# β ≈ ‖g_t‖²/‖g_{t−1}‖² > 0 and act like well-tuned momentum. PRP and HS only help once the
# step overshoots the sharp directions (lr·λ_max > 1): below that, g_t ≈ (1 − lr·λ)·g_{t−1}
# along the slow directions, so g_t·y < 0 and β < 0 (see test_prp_and_hs_beta_is_negative_...).
@pytest.mark.parametrize("name,lr_fraction,speedup", [
    ("fr", 0.9, 2.0), ("dy", 0.9, 2.0), ("hz", 0.9, 2.0), ("fr", 1.9, 2.0), ("prp", 1.9, 1.2)])
def test_cg_beats_sgd_on_ill_conditioned_quadratic(name, lr_fraction, speedup):
  loss, x0 = _ill_conditioned_quadratic(condition=100.0)
  lr = lr_fraction / 100.0  # SGD is stable below 2 / λ_max
  sgd_steps = _steps_to_tolerance(optax.sgd(lr), loss, x0)
  cg_steps = _steps_to_tolerance(conjugate_gradient(lr, beta=name, beta_max=0.9), loss, x0)
  assert cg_steps * speedup < sgd_steps, (cg_steps, sgd_steps)


@pytest.mark.parametrize("name", ["prp", "hs"])
def test_prp_and_hs_do_not_beat_sgd_with_steps_that_do_not_overshoot(name):
  loss, x0 = _ill_conditioned_quadratic(condition=100.0)
  lr = 0.9 / 100.0
  sgd_steps = _steps_to_tolerance(optax.sgd(lr), loss, x0)
  cg_steps = _steps_to_tolerance(conjugate_gradient(lr, beta=name, beta_max=0.9), loss, x0)
  assert cg_steps >= sgd_steps, (cg_steps, sgd_steps)


@pytest.mark.parametrize("name", ["prp", "hs"])
def test_prp_and_hs_beta_is_negative_with_small_fixed_steps(name):
  loss, x0 = _ill_conditioned_quadratic(condition=100.0)
  tx = scale_by_conjugate_gradient(beta=name, beta_max=0.9)
  x, state, betas = x0, tx.init(x0), []
  for _ in range(50):
    u, state = tx.update(jax.grad(loss)(x), state)
    x = x - 0.005 * u
    betas.append(float(state.beta))
  assert np.mean(betas[1:]) < 0


@pytest.mark.parametrize("name", BETAS)
def test_beta_never_exceeds_its_bound(name):
  rng = np.random.default_rng(3)
  tx = scale_by_conjugate_gradient(beta=name, beta_max=0.5, beta_scale=0.8)
  state = tx.init({"w": jnp.zeros(8)})
  for _ in range(20):
    g = {"w": jnp.asarray(rng.normal(size=8) * rng.uniform(0.01, 10), jnp.float32)}
    _, state = tx.update(g, state)
    assert float(state.beta["w"]) <= 0.5 * 0.8 + 1e-7


def test_zero_gradients_restart_instead_of_nan():
  tx = conjugate_gradient(0.1, beta="hz")
  params = {"w": jnp.zeros(3)}
  state = tx.init(params)
  for g in (jnp.zeros(3), jnp.zeros(3), jnp.ones(3)):
    u, state = tx.update({"w": g}, state)
    assert np.all(np.isfinite(u["w"]))
  np.testing.assert_allclose(u["w"], -0.1 * np.ones(3))


def test_unknown_beta_is_refused():
  with pytest.raises(ValueError, match="choose from"):
    conjugate_gradient(0.1, beta="bfgs")


def test_works_with_inject_hyperparams_and_a_schedule():
  tx = optax.inject_hyperparams(conjugate_gradient, static_args=("beta",))(
      learning_rate=optax.linear_schedule(0.1, 0.0, 10), beta="dy")
  params = {"w": jnp.ones(3)}
  state = tx.init(params)
  update = jax.jit(tx.update)
  for _ in range(3):
    u, state = update({"w": jnp.ones(3)}, state)
  # Constant gradients: DY's β = ‖g‖²/(d·y) has y = 0, so it restarts; the third update uses
  # the schedule's value at count 2.
  np.testing.assert_allclose(state.hyperparams["learning_rate"], 0.08, rtol=1e-6)
  np.testing.assert_allclose(u["w"], -0.08 * np.ones(3), rtol=1e-6)
