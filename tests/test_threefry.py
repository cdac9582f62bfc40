"""The unrolled Threefry path draws exactly jax.random's bits, and Dropout exactly nn.Dropout's."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganjax.cpu import threefry
from ganjax.models.layers import Dropout

SHAPES = [(1,), (7,), (3, 5), (4, 14, 14, 64)]


@pytest.mark.parametrize("shape", SHAPES)
def test_random_bits_are_jax_random_bits(shape):
  key = jax.random.PRNGKey(11)
  ours = jax.jit(threefry.random_bits, static_argnums=1)(key, shape)
  np.testing.assert_array_equal(ours, jax.random.bits(key, shape))


@pytest.mark.parametrize("p", [0.0, 0.3, 0.7, 1.0])
def test_bernoulli_is_jax_random_bernoulli(p):
  key = jax.random.PRNGKey(2)
  ours = jax.jit(lambda k: threefry.bernoulli(k, p, (64, 33)))(key)
  np.testing.assert_array_equal(ours, jax.random.bernoulli(key, p, (64, 33)))
  if 0 < p < 1:  # and it is a Bernoulli(p): the mean within 4 standard errors
    assert abs(float(ours.mean()) - p) < 4 * np.sqrt(p * (1 - p) / ours.size)


def test_bernoulli_with_typed_batched_and_other_keys():
  typed = jax.random.key(5)
  np.testing.assert_array_equal(threefry.bernoulli(typed, 0.3, (9, 4)),
                                jax.random.bernoulli(typed, 0.3, (9, 4)))
  keys = jax.random.split(jax.random.PRNGKey(1), 3)  # as in K seeds trained at once
  draw = lambda fn: jax.vmap(lambda k: fn(k, 0.5, (10, 3)))(keys)
  np.testing.assert_array_equal(draw(threefry.bernoulli), draw(jax.random.bernoulli))
  rbg = jax.random.key(5, impl="rbg")  # not Threefry: jax.random draws it
  np.testing.assert_array_equal(threefry.bernoulli(rbg, 0.3, (9, 4)),
                                jax.random.bernoulli(rbg, 0.3, (9, 4)))


class _Net(nn.Module):
  dropout: type

  @nn.compact
  def __call__(self, x):
    return self.dropout(0.3, deterministic=False)(nn.Dense(16)(x))


def test_dropout_equals_flax_dropout_in_a_network():
  x = jax.random.normal(jax.random.PRNGKey(0), (8, 5))
  params = _Net(nn.Dropout).init(jax.random.PRNGKey(1), x)
  outputs = [jax.jit(_Net(dropout).apply)(params, x, rngs={"dropout": jax.random.PRNGKey(3)})
             for dropout in (Dropout, nn.Dropout)]
  np.testing.assert_array_equal(*outputs)
  assert 0 < float(jnp.mean(outputs[0] == 0)) < 0.6
  np.testing.assert_array_equal(Dropout(0.3, deterministic=True).apply({}, x), x)


@pytest.mark.parametrize("shape", SHAPES)
def test_normal_is_jax_random_normal(shape):
  key = jax.random.PRNGKey(7)
  ours = jax.jit(threefry.normal, static_argnums=1)(key, shape)
  np.testing.assert_array_equal(ours, jax.random.normal(key, shape))
  if ours.size > 1000:  # and it is N(0, 1)
    assert abs(float(ours.mean())) < 0.01 and abs(float(ours.std()) - 1) < 0.01
  bf16 = threefry.normal(key, shape, jnp.bfloat16)  # not float32: jax.random draws it
  np.testing.assert_array_equal(bf16, jax.random.normal(key, shape, jnp.bfloat16))
