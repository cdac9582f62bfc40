r"""GAN losses as pure, mean-reduced functions of discriminator logits.

Naming: ``<family>_generator_loss(fake_logits)`` and
``<family>_discriminator_loss(real_logits, fake_logits)``. With D(x) = σ(logit):

* minimax (Goodfellow et al. 2014):
  L_D = −E[log D(x)] − E[log(1 − D(G(z)))] = E[softplus(−r)] + E[softplus(f)],
  L_G =  E[log(1 − D(G(z)))] = −E[softplus(f)].
* non_saturating (same paper, §3): same L_D, L_G = −E[log D(G(z))] = E[softplus(−f)].
* wasserstein (Arjovsky et al. 2017, "Wasserstein GAN"): the logit is a critic value,
  L_D = E[f] − E[r], L_G = −E[f]. Needs a Lipschitz critic: weight clipping
  (``config.loss.weight_clip``), a gradient penalty (``gradient_penalty``, Gulrajani et al.
  2017) or spectral norm.
* hinge (Lim & Ye 2017; Miyato et al. 2018): L_D = E[max(0, 1 − r)] + E[max(0, 1 + f)],
  L_G = −E[f].
* least_squares (Mao et al. 2017, "Least Squares GAN", targets a=0, b=c=1):
  L_D = ½E[(r − 1)²] + ½E[f²], L_G = ½E[(f − 1)²].

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


def wasserstein_discriminator_loss(real_logits, fake_logits):
  """E[critic(G(z))] − E[critic(x)]: minus the critic's estimate of W₁ (Arjovsky et al. 2017)."""
  return jnp.mean(fake_logits) - jnp.mean(real_logits)


def wasserstein_generator_loss(fake_logits):
  """−E[critic(G(z))]."""
  return -jnp.mean(fake_logits)


def hinge_discriminator_loss(real_logits, fake_logits):
  """E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))] (Lim & Ye 2017)."""
  return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))


hinge_generator_loss = wasserstein_generator_loss


def least_squares_discriminator_loss(real_logits, fake_logits):
  """½E[(D(x) − 1)²] + ½E[D(G(z))²] (Mao et al. 2017, a = 0, b = 1)."""
  return 0.5 * jnp.mean((real_logits - 1.0) ** 2) + 0.5 * jnp.mean(fake_logits ** 2)


def least_squares_generator_loss(fake_logits):
  """½E[(D(G(z)) − 1)²] (Mao et al. 2017, c = 1)."""
  return 0.5 * jnp.mean((fake_logits - 1.0) ** 2)


FAMILIES = ("minimax", "non_saturating", "wasserstein", "hinge", "least_squares")
SOFT_LABEL_FAMILIES = ("minimax", "non_saturating")


def get(name: str):
  """Returns ``(generator_loss, discriminator_loss)`` for a loss family name."""
  if name not in FAMILIES:
    raise UserError(f"unknown config.loss.name {name!r}; choose from {', '.join(FAMILIES)}")
  return globals()[f"{name}_generator_loss"], globals()[f"{name}_discriminator_loss"]
