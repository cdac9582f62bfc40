r"""Orthogonalised updates as Optax transforms.

The claim under test: an update whose every layer has the same spectral scale (``polar``), or
which is orthogonal to the weights or to the previous step (``project_*``), keeps every
layer's step in the same range, so gradients neither vanish nor explode through depth.
``ganjax.step`` logs per-layer gradient and update norms to check this. The modes, their
math and their papers (Muon's polar factor by Newton–Schulz, AdamP's projection, orthogonal
gradient descent) are in ``scale_by_orthogonal_gradient``'s docstring.
"""

from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax

MODES = ("polar", "project_weights", "project_previous")
MUON_COEFFS = (3.4445, -4.7750, 2.0315)


class OrthogonalGradientState(NamedTuple):
  """``previous``: the last emitted update (``project_previous``), else an empty tuple."""
  count: chex.Array
  previous: optax.Updates


def as_matrix(x: jax.Array) -> jax.Array:
  """Reads an (..., in, out) tensor as the (prod(...)·in, out) matrix."""
  return x.reshape(-1, x.shape[-1])


def newton_schulz(g: jax.Array, steps: int = 5, coeffs=MUON_COEFFS,
                  eps: float = 1e-7) -> jax.Array:
  """Approximate polar factor U·Vᵀ of the matrix ``g`` (see the module docstring)."""
  a, b, c = coeffs
  x = g.astype(jnp.float32)
  transposed = x.shape[0] > x.shape[1]
  if transposed:  # iterate on the smaller Gram matrix
    x = x.T
  x = x / (jnp.linalg.norm(x) + eps)
  for _ in range(steps):
    gram = x @ x.T
    x = a * x + (b * gram + c * gram @ gram) @ x
  return (x.T if transposed else x).astype(g.dtype)


def polar_update(u: jax.Array, steps: int = 5, coeffs=MUON_COEFFS, eps: float = 1e-7,
                 scale_by_shape: bool = True) -> jax.Array:
  """Orthogonalises one update tensor of ≥ 2 dimensions (identity for others)."""
  if u.ndim < 2:
    return u
  m = as_matrix(u)
  out = newton_schulz(m, steps, coeffs, eps)
  if scale_by_shape:
    fan_in, fan_out = m.shape
    out = out * jnp.sqrt(max(1.0, fan_out / fan_in)).astype(out.dtype)
  return out.reshape(u.shape)


def project_out(u: jax.Array, direction: jax.Array, keep_norm: bool = False,
                threshold: float | None = None, eps: float = 1e-12) -> jax.Array:
  """u minus its component along ``direction``.

  u is kept where ``direction`` ≈ 0, and, given a ``threshold``, where
  |cos(u, direction)| ≥ threshold/√size (the tensor does not look scale-invariant).
  """
  u32, d32 = u.astype(jnp.float32), direction.astype(jnp.float32)
  dd = jnp.vdot(d32, d32)
  ok = dd > eps
  if threshold is not None:
    cos = jnp.vdot(u32, d32) / (jnp.sqrt(dd) * jnp.linalg.norm(u32) + eps)
    ok = ok & (jnp.abs(cos) < threshold / jnp.sqrt(u.size))
  coef = jnp.where(ok, jnp.vdot(u32, d32) / jnp.where(ok, dd, 1.0), 0.0)
  out = u32 - coef * d32
  if keep_norm:
    norm_out = jnp.linalg.norm(out)
    out = out * jnp.where(norm_out > eps, jnp.linalg.norm(u32) / jnp.maximum(norm_out, eps), 1.0)
  return out.astype(u.dtype)


def scale_by_orthogonal_gradient(mode: str = "polar", ns_steps: int = 5,
                                 ns_coeffs=MUON_COEFFS, scale_by_shape: bool = True,
                                 keep_norm: bool = False, threshold: float | None = 0.1,
                                 eps: float = 1e-7) -> optax.GradientTransformation:
  """Orthogonalises each update tensor; ``mode`` is one of ``MODES``.

  Modes:

  ``polar`` — for every matrix-shaped update G (a conv kernel (kh, kw, in, out) is read as the
    (kh·kw·in, out) matrix) return its polar factor U·Vᵀ, where G = U·Σ·Vᵀ, so every singular
    value becomes ≈ 1. Computed without an SVD by Newton–Schulz iterations on X₀ = G/‖G‖_F:

        A = X·Xᵀ,   X ← a·X + (b·A + c·A²)·X,

    with the quintic coefficients (a, b, c) = (3.4445, −4.7750, 2.0315) of Muon (Jordan et al.
    2024, "Muon: An optimizer for hidden layers"; Bernstein & Newhouse 2024, "Old optimizer, new
    norm"). They trade exactness for speed: after 5 steps the singular values lie in about
    [0.7, 1.2] rather than at 1; the classic cubic (1.5, −0.5, 0) converges to exactly 1 given
    enough steps. With ``scale_by_shape`` the factor is multiplied by √max(1, fan_out/fan_in)
    (Keller Jordan's √max(1, rows/cols) for PyTorch's (out, in) layout). Updates with fewer
    than 2 dimensions pass through unchanged; the alias sends them to a fallback optimizer.

  ``project_weights`` — u ← u − (u·w / ‖w‖²)·w per tensor: the step is orthogonal to the
    current weights, so it changes their direction but, to first order, not their norm (AdamP:
    Heo et al. 2021, "AdamP: Slowing down the slowdown for momentum optimizers on
    scale-invariant weights"). As in AdamP, a tensor is projected only where it looks
    scale-invariant, |cos(u, w)| < ``threshold``/√dim (AdamP's δ = 0.1); ``threshold=None``
    projects every tensor. Without that test a weight could only grow at second order, and
    a plain quadratic would barely move.

  ``project_previous`` — u ← u − (u·p / ‖p‖²)·p per tensor, with p the previous emitted
    update kept in the state: each step is orthogonal to the one before (after orthogonal
    gradient descent, Farajtabar et al. 2020, "Orthogonal Gradient Descent for Continual
    Learning"). Where p = 0 (the first step, or after a step that projected to 0) u is kept.

  With ``keep_norm`` a projected update is rescaled to the norm it had before projection.

  Args:
    mode: ``polar``, ``project_weights`` (needs ``params`` in ``update``) or
      ``project_previous``.
    ns_steps, ns_coeffs: Newton–Schulz iterations and their (a, b, c) for ``polar``.
    scale_by_shape: multiply polar factors by √max(1, fan_out/fan_in).
    keep_norm: rescale projected updates to their norm before projection.
    threshold: AdamP's δ for ``project_weights`` (None: always project).
    eps: guards the normalisation and the projections.
  """
  if mode not in MODES:
    raise ValueError(f"unknown orthogonal-gradient mode {mode!r}; choose from {', '.join(MODES)}")

  def init_fn(params):
    previous = optax.tree.zeros_like(params) if mode == "project_previous" else ()
    return OrthogonalGradientState(count=jnp.zeros([], jnp.int32), previous=previous)

  def update_fn(updates, state, params=None):
    if mode == "polar":
      updates = jax.tree.map(
          lambda u: polar_update(u, ns_steps, ns_coeffs, eps, scale_by_shape), updates)
    elif mode == "project_weights":
      if params is None:
        raise ValueError("mode='project_weights' needs params: call update(grads, state, params)")
      updates = jax.tree.map(lambda u, w: project_out(u, w, keep_norm, threshold),
                             updates, params)
    else:
      updates = jax.tree.map(lambda u, p: project_out(u, p, keep_norm), updates, state.previous)
    previous = updates if mode == "project_previous" else ()
    return updates, OrthogonalGradientState(optax.safe_increment(state.count), previous)

  return optax.GradientTransformation(init_fn, update_fn)


def matrix_labels(params) -> optax.Params:
  """``"matrix"`` for leaves with ≥ 2 dimensions, ``"other"`` for biases and norm scales."""
  return jax.tree.map(lambda p: "matrix" if jnp.ndim(p) >= 2 else "other", params)


def orthogonal_gradient(learning_rate: optax.ScalarOrSchedule, mode: str = "polar",
                        momentum: float = 0.95, nesterov: bool = True, ns_steps: int = 5,
                        ns_coeffs=MUON_COEFFS, scale_by_shape: bool = True,
                        keep_norm: bool = False, threshold: float | None = 0.1,
                        fallback: optax.GradientTransformation | None = None,
                        eps: float = 1e-7) -> optax.GradientTransformation:
  """Momentum, then orthogonalisation, then −lr.

  ``polar`` orthogonalises matrices only; the other leaves go to ``fallback`` (default
  ``optax.adam(learning_rate, nesterov=nesterov)``, as in ``optax.contrib.muon``, whose first
  step this reproduces). The ``project_*`` modes act on every leaf.
  """
  core = optax.chain(
      optax.trace(decay=momentum, nesterov=nesterov),
      scale_by_orthogonal_gradient(mode, ns_steps, ns_coeffs, scale_by_shape, keep_norm,
                                   threshold, eps),
      optax.scale_by_learning_rate(learning_rate))
  if mode != "polar":
    return core
  if fallback is None:
    fallback = optax.adam(learning_rate, nesterov=nesterov)
  return optax.multi_transform({"matrix": core, "other": fallback}, matrix_labels)
