r"""GAN losses as pure, mean-reduced functions of discriminator logits.

Naming: ``<family>_generator_loss(fake_logits)`` and
``<family>_discriminator_loss(real_logits, fake_logits)``. With D(x) = σ(logit):

* minimax (Goodfellow et al. 2014):
  L_D = −E[log D(x)] − E[log(1 − D(G(z)))] = E[softplus(−r)] + E[softplus(f)],
  L_G =  E[log(1 − D(G(z)))] = −E[softplus(f)].
* non_saturating (same paper, §3): same L_D, L_G = −E[log D(G(z))] = E[softplus(−f)].

``real_label`` < 1 gives one-sided label smoothing (Salimans et al. 2016 use 0.9): the real
term becomes the cross-entropy against that soft target; fake targets stay 0.
"""

import jax
import jax.numpy as jnp
import optax

from ganjax.errors import UserError


def _bce(logits: jax.Array, target: float) -> jax.Array:
  return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, jnp.full_like(logits, target)))


def minimax_discriminator_loss(real_logits, fake_logits, real_label: float = 1.0):
  """−E[log D(x)] − E[log(1 − D(G(z)))], with an optional soft real target."""
  return _bce(real_logits, real_label) + _bce(fake_logits, 0.0)


def minimax_generator_loss(fake_logits):
  """E[log(1 − D(G(z)))] = −E[softplus(fake_logits)]: the saturating original objective."""
  return -jnp.mean(jax.nn.softplus(fake_logits))


non_saturating_discriminator_loss = minimax_discriminator_loss


def non_saturating_generator_loss(fake_logits):
  """−E[log D(G(z))] = E[softplus(−fake_logits)]."""
  return jnp.mean(jax.nn.softplus(-fake_logits))


FAMILIES = ("minimax", "non_saturating")


def get(name: str):
  """Returns ``(generator_loss, discriminator_loss)`` for a loss family name."""
  if name not in FAMILIES:
    raise UserError(f"unknown config.loss.name {name!r}; choose from {', '.join(FAMILIES)}")
  return globals()[f"{name}_generator_loss"], globals()[f"{name}_discriminator_loss"]
