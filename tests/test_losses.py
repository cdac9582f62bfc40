"""GAN losses against values worked out by hand.

With r = (2, −1) real and f = (0.5, −0.5) fake logits, and softplus(x) = log(1 + eˣ):
softplus(−2) = 0.126928, softplus(1) = 1.313262, softplus(0.5) = 0.974077,
softplus(−0.5) = 0.474077.
"""

import jax.numpy as jnp
import numpy as np
import pytest

from ganjax import losses
from ganjax.errors import UserError

REAL = jnp.array([2.0, -1.0])
FAKE = jnp.array([0.5, -0.5])


def test_discriminator_loss_is_bce_real_one_fake_zero():
  # (0.126928 + 1.313262)/2 + (0.974077 + 0.474077)/2
  np.testing.assert_allclose(losses.minimax_discriminator_loss(REAL, FAKE), 1.444172, atol=1e-5)
  np.testing.assert_allclose(losses.non_saturating_discriminator_loss(REAL, FAKE), 1.444172,
                             atol=1e-5)


def test_generator_losses():
  # non-saturating: mean softplus(−f); minimax: −mean softplus(f)
  np.testing.assert_allclose(losses.non_saturating_generator_loss(FAKE), 0.724077, atol=1e-5)
  np.testing.assert_allclose(losses.minimax_generator_loss(FAKE), -0.724077, atol=1e-5)
  np.testing.assert_allclose(losses.non_saturating_generator_loss(jnp.array([3.0])),
                             np.log1p(np.exp(-3.0)), atol=1e-6)


def test_one_sided_label_smoothing():
  # real target 0.9: 0.9·softplus(−r) + 0.1·softplus(r); r=2 → 0.326928, r=−1 → 1.213262
  value = losses.non_saturating_discriminator_loss(REAL, FAKE, real_label=0.9)
  np.testing.assert_allclose(value, (0.326928 + 1.213262) / 2 + 0.724077, atol=1e-5)


def test_generator_gradients_saturate_only_for_minimax():
  import jax
  confident_fake = jnp.array([-8.0])  # D is sure the sample is fake
  mm = jax.grad(lambda f: losses.minimax_generator_loss(f).sum())(confident_fake)
  ns = jax.grad(lambda f: losses.non_saturating_generator_loss(f).sum())(confident_fake)
  assert abs(float(mm[0])) < 1e-3 < abs(float(ns[0]))


def test_unknown_family_is_a_user_error():
  with pytest.raises(UserError, match="non_saturating"):
    losses.get("wgan-typo")
