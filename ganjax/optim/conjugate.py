r"""Nonlinear conjugate-gradient directions as an Optax transform.

After Naganuma & Iiduka, "Conjugate Gradient Method for Generative Adversarial Networks"
(AISTATS 2023), who train G and D each with a stochastic CG direction and a fixed or
diminishing step size instead of a line search. The direction, the β formulas (Fletcher–
Reeves, Polak–Ribière–Polyak, Hestenes–Stiefel, Dai–Yuan, Hager–Zhang and two hybrids) and
their guards are in ``scale_by_conjugate_gradient``'s docstring.
"""

from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax

BETAS = ("fr", "prp", "hs", "dy", "hz", "fr_prp", "hs_dy")


class ConjugateGradientState(NamedTuple):
  """Previous gradient, descent direction and applied β per tensor; ``count`` steps taken."""
  count: chex.Array
  prev_grad: optax.Updates
  prev_direction: optax.Updates
  beta: optax.Updates  # one float32 scalar per tensor: the β_t used in the last update


def _check_beta(name: str) -> None:
  if name not in BETAS:
    raise ValueError(f"unknown conjugate-gradient beta {name!r}; choose from {', '.join(BETAS)}")


def _safe_div(num, den, eps):
  ok = jnp.abs(den) > eps
  return jnp.where(ok, num / jnp.where(ok, den, 1.0), 0.0)


def conjugate_beta(name: str, g, g_prev, d_prev, eps: float = 1e-12) -> jax.Array:
  """β of the formula ``name`` for one tensor (see the module docstring), before clipping."""
  _check_beta(name)
  g, g_prev, d_prev = (jnp.asarray(a, jnp.float32) for a in (g, g_prev, d_prev))
  y = g - g_prev
  gg, gpgp = jnp.vdot(g, g), jnp.vdot(g_prev, g_prev)
  dy, gy = jnp.vdot(d_prev, y), jnp.vdot(g, y)
  fr = lambda: _safe_div(gg, gpgp, eps)
  prp = lambda: _safe_div(gy, gpgp, eps)
  hs = lambda: _safe_div(gy, dy, eps)
  dai_yuan = lambda: _safe_div(gg, dy, eps)

  def hz():
    ok = jnp.abs(dy) > eps
    safe_dy = jnp.where(ok, dy, 1.0)
    value = (gy - 2.0 * jnp.vdot(y, y) * jnp.vdot(d_prev, g) / safe_dy) / safe_dy
    return jnp.where(ok, value, 0.0)

  formulas = dict(fr=fr, prp=prp, hs=hs, dy=dai_yuan, hz=hz,
                  fr_prp=lambda: jnp.maximum(0.0, jnp.minimum(fr(), prp())),
                  hs_dy=lambda: jnp.maximum(0.0, jnp.minimum(hs(), dai_yuan())))
  return formulas[name]()


def scale_by_conjugate_gradient(beta: str = "fr", beta_max: float = 0.5,
                                beta_scale: float = 1.0,
                                eps: float = 1e-12) -> optax.GradientTransformation:
  """Replaces each gradient tensor by −d_t, its conjugate-gradient direction.

  For every parameter tensor separately, with g_t its gradient, y = g_t − g_{t−1} and d the
  previous *descent* direction (d_0 = −g_0):

    d_t = −g_t + β_t · d_{t−1},   θ_{t+1} = θ_t + lr · d_t,

  where β_t = min(β, beta_max) · beta_scale and β is one of

  =========  =================================================  ===========================
  ``fr``     ‖g_t‖² / ‖g_{t−1}‖²                                Fletcher & Reeves 1964
  ``prp``    g_t·y / ‖g_{t−1}‖²                                 Polak & Ribière 1969, Polyak 1969
  ``hs``     g_t·y / (d·y)                                      Hestenes & Stiefel 1952
  ``dy``     ‖g_t‖² / (d·y)                                     Dai & Yuan 1999
  ``hz``     (y − 2d‖y‖²/(d·y))·g_t / (d·y)                     Hager & Zhang 2005
  ``fr_prp`` max(0, min(β_FR, β_PRP))                           Hu & Storey 1991
  ``hs_dy``  max(0, min(β_HS, β_DY))                            Dai & Yuan 2001
  =========  =================================================  ===========================

  Every denominator is guarded: where |denominator| ≤ ``eps`` the transform takes β = 0, a
  restart along the steepest-descent direction. ``scale_by_conjugate_gradient`` emits −d_t
  (the gradient's sign, like every ``scale_by_*`` in optax); the alias multiplies it by −lr.

  Args:
    beta: which β formula (``BETAS``).
    beta_max: β is clipped to at most this before scaling (the paper's bounded-β assumption).
    beta_scale: multiplies the clipped β (the paper's γ-type damping; 0 gives plain SGD).
    eps: denominators with magnitude at most this restart the direction (β = 0).
  """
  _check_beta(beta)

  def init_fn(params):
    zeros = optax.tree.zeros_like(params)
    return ConjugateGradientState(
        count=jnp.zeros([], jnp.int32), prev_grad=zeros, prev_direction=zeros,
        beta=jax.tree.map(lambda _: jnp.zeros([], jnp.float32), params))

  def update_fn(updates, state, params=None):
    del params
    first = state.count == 0

    def beta_of(g, g_prev, d_prev):
      b = jnp.minimum(conjugate_beta(beta, g, g_prev, d_prev, eps), beta_max) * beta_scale
      return jnp.where(first, 0.0, b)

    betas = jax.tree.map(beta_of, updates, state.prev_grad, state.prev_direction)
    directions = jax.tree.map(lambda g, d, b: (-g + b.astype(g.dtype) * d).astype(g.dtype),
                              updates, state.prev_direction, betas)
    new_state = ConjugateGradientState(count=optax.safe_increment(state.count),
                                       prev_grad=updates, prev_direction=directions, beta=betas)
    return jax.tree.map(jnp.negative, directions), new_state

  return optax.GradientTransformation(init_fn, update_fn)


def conjugate_gradient(learning_rate: optax.ScalarOrSchedule, beta: str = "fr",
                       beta_max: float = 0.5, beta_scale: float = 1.0,
                       eps: float = 1e-12) -> optax.GradientTransformation:
  """Stochastic nonlinear CG: θ ← θ + lr·d_t with d_t = −g_t + β_t d_{t−1}.

  See the module docstring for the β formulas and references.
  """
  return optax.chain(
      scale_by_conjugate_gradient(beta=beta, beta_max=beta_max, beta_scale=beta_scale, eps=eps),
      optax.scale_by_learning_rate(learning_rate))
