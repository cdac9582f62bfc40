"""The generator's latent distribution p(z), one name per choice in ``config.latent_distribution``.

- ``"normal"``: z ~ N(0, I), the default of most GAN code since Goodfellow et al. (2014).
- ``"uniform"``: z ~ U(−1, 1)^d, as Radford et al. 2016 draw DCGAN's latents (their Fig. 1).
- ``"uniform01"``: z ~ U(0, 1)^d, as Salimans et al. 2016's semi-supervised MNIST code
  draws it.

Every latent G sees in training, in the fixed sample grid and in evaluation comes from
:func:`sample`, so a run's generator is always judged on the distribution it learned from.
"""

import jax
import jax.numpy as jnp

DISTRIBUTIONS = ("normal", "uniform", "uniform01")


def sample(key: jax.Array, shape: tuple, distribution: str = "normal") -> jax.Array:
  """float32 latents of ``shape`` drawn from ``distribution`` (one of :data:`DISTRIBUTIONS`)."""
  if distribution == "normal":
    return jax.random.normal(key, shape, jnp.float32)
  if distribution == "uniform":
    return jax.random.uniform(key, shape, jnp.float32, -1.0, 1.0)
  if distribution == "uniform01":
    return jax.random.uniform(key, shape, jnp.float32)
  raise ValueError(f"unknown latent distribution {distribution!r}; one of {DISTRIBUTIONS}")
