"""Regularisers that keep a discriminator (critic) or generator well behaved; pure functions.

A ``critic`` here is any function from an image batch to one logit per image. Each
function's docstring has its formula and paper: gradient penalty, R1, weight clipping,
feature matching, orthogonal regularisation, the manifold penalty and prediction
consistency. They return unweighted values; ``ganjax.objectives.terms`` weighs them.
"""

from typing import Callable

import jax
import jax.numpy as jnp


def _per_example_input_gradient(critic: Callable, x: jax.Array) -> jax.Array:
  return jax.grad(lambda images: jnp.sum(critic(images)))(x)


def _squared_norms(grads: jax.Array) -> jax.Array:
  return jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=1)


def gradient_penalty(critic: Callable, real: jax.Array, fake: jax.Array,
                     key: jax.Array) -> jax.Array:
  """E_x̂[(‖∇ₓ̂ D(x̂)‖₂ − 1)²] at x̂ = εx + (1 − ε)G(z), ε ~ U[0, 1] per example (unweighted).

  Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", eq. 3 (λ = 10 there). It
  assumes each logit depends on its own image only: a critic with batch norm mixes the batch,
  so the paper uses none (or layer norm).
  """
  eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1), real.dtype)
  return _unit_gradient_penalty(critic, eps * real + (1.0 - eps) * fake)


def dragan_penalty(critic: Callable, real: jax.Array, key: jax.Array) -> jax.Array:
  """E[(‖∇D(x + δ)‖₂ − 1)²] on real images perturbed by δ = ½·std(x)·u, u ~ U[0, 1) per
  pixel, std over the batch (unweighted): DRAGAN, Kodali et al. 2017, "On Convergence and
  Stability of GANs", with the perturbation of their code (λ = 10 there). It keeps D's slope
  near 1 around the data, where mode collapse starts, rather than between data and fakes."""
  noise = 0.5 * jnp.std(real) * jax.random.uniform(key, real.shape, real.dtype)
  return _unit_gradient_penalty(critic, real + noise)


def _unit_gradient_penalty(critic: Callable, points: jax.Array) -> jax.Array:
  """E[(‖∇D(x)‖₂ − 1)²] over ``points``."""
  # The tiny constant keeps the derivative of the square root finite at a zero gradient.
  norms = jnp.sqrt(_squared_norms(_per_example_input_gradient(critic, points)) + 1e-12)
  return jnp.mean((norms - 1.0) ** 2)


def r1_penalty(critic: Callable, real: jax.Array) -> jax.Array:
  """E_x[‖∇ₓ D(x)‖²] on real images (unweighted; the loss adds γ/2 times it): R1 of
  Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?", eq. 9."""
  return jnp.mean(_squared_norms(_per_example_input_gradient(critic, real)))


def clip_weights(params, bound: float):
  """Every parameter projected onto [−bound, bound], after each critic update (Arjovsky et al.
  2017, Algorithm 1; c = 0.01 there)."""
  return jax.tree.map(lambda p: jnp.clip(p, -bound, bound), params)


def orthogonal_regularization(params) -> jax.Array:
  """Σ_W ‖WᵀW ⊙ (1 − I)‖²_F over every parameter with ≥ 2 dimensions, each reshaped to
  (fan-in, features) (unweighted): pushes filters towards orthogonality without constraining
  their norms (Brock et al. 2019, "Large Scale GAN Training", §3.1)."""
  total = jnp.zeros((), jnp.float32)
  for w in jax.tree.leaves(params):
    if w.ndim < 2:
      continue
    w = w.reshape(-1, w.shape[-1])
    gram = w.T @ w
    total += jnp.sum((gram * (1.0 - jnp.eye(gram.shape[0], dtype=gram.dtype))) ** 2)
  return total


def feature_matching(real_features: jax.Array, fake_features: jax.Array) -> jax.Array:
  """‖E_x φ(x) − E_z φ(G(z))‖²₂, the batch means of features compared: feature matching
  (Salimans et al. 2016, "Improved Techniques for Training GANs", §3.1) with φ a layer of D,
  or a perceptual loss against blur with φ the fixed evaluation feature network."""
  return jnp.sum((jnp.mean(real_features, axis=0) - jnp.mean(fake_features, axis=0)) ** 2)


def perturb_latents(z: jax.Array, r: jax.Array, epsilon: float) -> jax.Array:
  """z + ε r/‖r‖ per row: a step of length ε in the direction of ``r`` (one per latent)."""
  return z + epsilon * r / jnp.linalg.norm(r, axis=-1, keepdims=True)


def manifold_penalty(outputs: jax.Array, perturbed_outputs: jax.Array) -> jax.Array:
  """E_z‖f(G(z)) − f(G(z + ε r̄))‖², r̄ = r/‖r‖, r ~ N(0, I), per-example outputs compared
  (unweighted): a finite-difference Monte Carlo estimate of E_z ‖J_z f(G(z))‖²_F, the
  classifier's smoothness along the generator's manifold (Lecouat et al. 2018, "Manifold
  regularization with GANs for semi-supervised learning", §3); f is D's class logits."""
  diff = (outputs - perturbed_outputs).reshape(outputs.shape[0], -1)
  return jnp.mean(jnp.sum(diff ** 2, axis=1))


def prediction_consistency(logits: jax.Array, other_logits: jax.Array) -> jax.Array:
  """E_x‖softmax(a) − softmax(b)‖² over two draws of a stochastic classifier's noise or
  dropout on the same images (unweighted): the Π-model (Laine & Aila 2017, "Temporal
  Ensembling for Semi-Supervised Learning"), as CT-GAN (Wei et al. 2018) applies it to a
  semi-supervised GAN's D."""
  diff = jax.nn.softmax(logits, axis=-1) - jax.nn.softmax(other_logits, axis=-1)
  return jnp.mean(jnp.sum(diff ** 2, axis=-1))


def discriminator_penalty(gradient_penalty_weight: float = 0.0, r1_weight: float = 0.0):
  """``penalty(critic, real, fake, key) -> (weighted total, {name: unweighted value})``.

  None when both weights are zero, so a plain GAN compiles without any double backprop.
  """
  if not gradient_penalty_weight and not r1_weight:
    return None

  def penalty(critic, real, fake, key):
    total, terms = 0.0, {}
    if gradient_penalty_weight:
      terms["d_gradient_penalty"] = gradient_penalty(critic, real, fake, key)
      total += gradient_penalty_weight * terms["d_gradient_penalty"]
    if r1_weight:
      terms["d_r1_penalty"] = r1_penalty(critic, real)
      total += 0.5 * r1_weight * terms["d_r1_penalty"]
    return total, terms

  return penalty
