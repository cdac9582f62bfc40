"""GAN losses as pure, mean-reduced functions of discriminator logits.

Naming: ``<family>_generator_loss(fake_logits)`` and
``<family>_discriminator_loss(real_logits, fake_logits)``, with r and f the real and fake
logits and D(x) = σ(logit) where a family reads it as a probability. The relativistic
families' generator loss also reads the real logits: ``(fake_logits, real_logits)``. Each function's
docstring has its formula and paper; ``get(name)`` returns a family's pair.
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
  """Minimax D loss (Goodfellow et al. 2014): −E[log D(x)] − E[log(1 − D(G(z)))]
  = E[softplus(−r)] + E[softplus(f)], with an optional soft real target."""
  return _bce(real_logits, real_label) + _bce(fake_logits, 0.0)


def minimax_generator_loss(fake_logits):
  """E[log(1 − D(G(z)))] = −E[softplus(f)]: the saturating original objective (Goodfellow
  et al. 2014)."""
  return -jnp.mean(jax.nn.softplus(fake_logits))


non_saturating_discriminator_loss = minimax_discriminator_loss


def non_saturating_generator_loss(fake_logits):
  """−E[log D(G(z))] = E[softplus(−f)]: the non-saturating G loss (Goodfellow et al. 2014,
  §3); D uses the minimax loss."""
  return jnp.mean(jax.nn.softplus(-fake_logits))


def wasserstein_discriminator_loss(real_logits, fake_logits):
  """E[f] − E[r]: minus the critic's estimate of W₁ (Arjovsky et al. 2017, "Wasserstein GAN").

  Needs a Lipschitz critic: weight clipping (``config.loss.weight_clip``), a gradient
  penalty (``gradient_penalty``, Gulrajani et al. 2017) or spectral norm.
  """
  return jnp.mean(fake_logits) - jnp.mean(real_logits)


def wasserstein_generator_loss(fake_logits):
  """−E[f], the critic's value of the fakes raised (Arjovsky et al. 2017)."""
  return -jnp.mean(fake_logits)


def hinge_discriminator_loss(real_logits, fake_logits):
  """E[max(0, 1 − r)] + E[max(0, 1 + f)] (Lim & Ye 2017; Miyato et al. 2018); G: −E[f]."""
  return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))


hinge_generator_loss = wasserstein_generator_loss


def least_squares_discriminator_loss(real_logits, fake_logits):
  """½E[(D(x) − 1)²] + ½E[D(G(z))²] (Mao et al. 2017, a = 0, b = 1)."""
  return 0.5 * jnp.mean((real_logits - 1.0) ** 2) + 0.5 * jnp.mean(fake_logits ** 2)


def least_squares_generator_loss(fake_logits):
  """½E[(D(G(z)) − 1)²] (Mao et al. 2017, c = 1)."""
  return 0.5 * jnp.mean((fake_logits - 1.0) ** 2)


def _relative(real_logits, fake_logits):
  """r̃ = r − E f and f̃ = f − E r: how much more real each sample looks than the other side's
  average (Jolicoeur-Martineau 2019, the relativistic average discriminator)."""
  return real_logits - jnp.mean(fake_logits), fake_logits - jnp.mean(real_logits)


def relativistic_discriminator_loss(real_logits, fake_logits):
  """RaSGAN: −E log σ(r̃) − E log(1 − σ(f̃)) (Jolicoeur-Martineau 2019)."""
  real, fake = _relative(real_logits, fake_logits)
  return _bce(real, 1.0) + _bce(fake, 0.0)


def relativistic_generator_loss(fake_logits, real_logits):
  """RaSGAN: −E log σ(f̃) − E log(1 − σ(r̃)), the D loss with real and fake swapped."""
  return relativistic_discriminator_loss(fake_logits, real_logits)


def relativistic_hinge_discriminator_loss(real_logits, fake_logits):
  """RaHingeGAN: E max(0, 1 − r̃) + E max(0, 1 + f̃) (Jolicoeur-Martineau 2019)."""
  real, fake = _relative(real_logits, fake_logits)
  return jnp.mean(jax.nn.relu(1.0 - real)) + jnp.mean(jax.nn.relu(1.0 + fake))


def relativistic_hinge_generator_loss(fake_logits, real_logits):
  """RaHingeGAN: E max(0, 1 − f̃) + E max(0, 1 + r̃)."""
  return relativistic_hinge_discriminator_loss(fake_logits, real_logits)


def relativistic_least_squares_discriminator_loss(real_logits, fake_logits):
  """RaLSGAN: E (r̃ − 1)² + E (f̃ + 1)² (Jolicoeur-Martineau 2019)."""
  real, fake = _relative(real_logits, fake_logits)
  return jnp.mean((real - 1.0) ** 2) + jnp.mean((fake + 1.0) ** 2)


def relativistic_least_squares_generator_loss(fake_logits, real_logits):
  """RaLSGAN: E (f̃ − 1)² + E (r̃ + 1)²."""
  return relativistic_least_squares_discriminator_loss(fake_logits, real_logits)


RELATIVISTIC_FAMILIES = ("relativistic", "relativistic_hinge", "relativistic_least_squares")
FAMILIES = ("minimax", "non_saturating", "wasserstein", "hinge", "least_squares",
            *RELATIVISTIC_FAMILIES)
SOFT_LABEL_FAMILIES = ("minimax", "non_saturating")


def get(name: str):
  """Returns ``(generator_loss, discriminator_loss)`` for a loss family name."""
  if name not in FAMILIES:
    raise UserError(f"unknown config.loss.name {name!r}; choose from {', '.join(FAMILIES)}")
  return globals()[f"{name}_generator_loss"], globals()[f"{name}_discriminator_loss"]
