"""Latent distributions: their laws, and that the train step and sample grids use the chosen one."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.stats

from ganjax import config as config_lib, experiment, latents
from ganjax.errors import UserError
from ganjax.parallel import DataParallel
from ganjax.state import init_state
from conftest import non_saturating
from ganjax.step import Players, Settings, make_step

LAWS = {"normal": scipy.stats.norm(), "uniform": scipy.stats.uniform(-1, 2),
        "uniform01": scipy.stats.uniform(0, 1)}


@pytest.mark.parametrize("name", latents.DISTRIBUTIONS)
def test_each_distribution_has_its_law(name):
  z = np.asarray(latents.sample(jax.random.PRNGKey(0), (20000, 2), name)).ravel()
  assert z.dtype == np.float32
  assert scipy.stats.kstest(z, LAWS[name].cdf).pvalue > 1e-3
  # The other laws are rejected: the test can tell them apart.
  for other, law in LAWS.items():
    if other != name:
      assert scipy.stats.kstest(z, law.cdf).pvalue < 1e-6, other


def test_normal_is_jax_random_normal():
  """The default leaves every earlier run's latents (and so its results) unchanged."""
  key = jax.random.PRNGKey(3)
  np.testing.assert_array_equal(latents.sample(key, (5, 7)), jax.random.normal(key, (5, 7)))


def test_unknown_distribution_is_refused():
  with pytest.raises(ValueError, match="uniform01"):
    latents.sample(jax.random.PRNGKey(0), (2,), "laplace")
  config = config_lib.base_config()
  config.latent_distribution = "laplace"
  with pytest.raises(UserError, match="latent_distribution"):
    config_lib.validate(config)


class _Echo(nn.Module):
  """G(z) = s·z with s = 1: the fake images are the latents."""

  @nn.compact
  def __call__(self, z, train=True):
    return self.param("s", nn.initializers.ones, ()) * z


class _Moments(nn.Module):
  """D(x) = b + Σᵢ (xᵢ² + xᵢ), so the mean fake logit estimates d·(E z² + E z)."""

  @nn.compact
  def __call__(self, x, train=True):
    return self.param("b", nn.initializers.zeros, ()) + jnp.sum(x * x + x, -1, keepdims=True)


@pytest.mark.parametrize("name,expected", [("normal", 1.0), ("uniform", 1 / 3),
                                           ("uniform01", 1 / 3 + 1 / 2)])
def test_train_step_feeds_generator_the_configured_latents(name, expected):
  dim, batch = 4, 8192
  g, d, tx = _Echo(), _Moments(), optax.sgd(0.0)
  state = init_state(0, g, d, tx, tx, latent_dim=dim, image_shape=(dim,))
  step = make_step(Players(g, d, tx, tx),
                   Settings(latent_dim=dim, global_batch=batch, latent_distribution=name),
                   *non_saturating())
  parallel = DataParallel("pmap", 1)
  reals = np.zeros((1, batch, dim), np.float32)
  _, metrics = parallel.compile(step)(parallel.put_state(state),
                                      parallel.put_batch({"image": reals}))
  # Standard error of the mean ≤ sqrt(4 · 3 / 8192) ≈ 0.04 (normal, the widest).
  np.testing.assert_allclose(parallel.get_metrics(metrics)[0]["d_fake_logit"], dim * expected,
                             atol=0.15)


def test_fixed_latents_follow_the_config(tiny_config):
  config = config_lib.load(tiny_config)
  config.latent_distribution = "uniform01"
  z = np.asarray(experiment.fixed_latents(config, 4096))
  assert z.min() >= 0.0 and z.max() < 1.0
  np.testing.assert_allclose(z.mean(), 0.5, atol=0.01)
