"""Per-layer learning-rate multipliers equal optimizers built with the scaled rate."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ganjax.config import optimizer_config
from ganjax.errors import UserError
from ganjax.optim import factory
from ganjax.optim.layer_scale import scale_by_layer


def _params():
  keys = jax.random.split(jax.random.PRNGKey(0), 3)
  return {"MappingNetwork_0": {"Dense_0": {"kernel": jax.random.normal(keys[0], (4, 3))}},
          "Conv_0": {"kernel": jax.random.normal(keys[1], (3, 3, 2, 2)),
                     "bias": jax.random.normal(keys[2], (2,))}}


def _run(tx, params, steps=5):
  """``steps`` updates on the loss Σ sin(θ)·θ², whose gradients change with θ."""
  loss = lambda p: sum(jnp.sum(jnp.sin(x) * x ** 2) for x in jax.tree.leaves(p))
  state = tx.init(params)
  for _ in range(steps):
    updates, state = tx.update(jax.grad(loss)(params), state, params)
    params = optax.apply_updates(params, updates)
  return params


@pytest.mark.parametrize("name", ["adam", "momentum"])
def test_a_multiplied_layer_moves_as_with_the_multiplied_learning_rate(name):
  cfg = optimizer_config(name, 1e-2)
  cfg.lr_multipliers = {"MappingNetwork_0": 0.01}
  scaled = _run(factory.make(cfg, 5), _params())
  plain = _run(factory.make(optimizer_config(name, 1e-2), 5), _params())
  slow = _run(factory.make(optimizer_config(name, 1e-4), 5), _params())
  np.testing.assert_allclose(scaled["MappingNetwork_0"]["Dense_0"]["kernel"],
                             slow["MappingNetwork_0"]["Dense_0"]["kernel"], rtol=1e-6)
  for a, b in zip(jax.tree.leaves(scaled["Conv_0"]), jax.tree.leaves(plain["Conv_0"])):
    np.testing.assert_array_equal(a, b)
  assert not np.allclose(scaled["MappingNetwork_0"]["Dense_0"]["kernel"],
                         plain["MappingNetwork_0"]["Dense_0"]["kernel"])


def test_an_unknown_layer_name_is_refused():
  with pytest.raises(UserError, match="Mapping_0"):
    scale_by_layer({"Mapping_0": 0.01}).init(_params())
