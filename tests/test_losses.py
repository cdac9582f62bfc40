"""GAN losses against values worked out by hand.

With r = (2, −1) real and f = (0.5, −0.5) fake logits, and softplus(x) = log(1 + eˣ):
softplus(−2) = 0.126928, softplus(1) = 1.313262, softplus(0.5) = 0.974077,
softplus(−0.5) = 0.474077.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganjax.objectives import losses
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
  confident_fake = jnp.array([-8.0])  # D is sure the sample is fake
  mm = jax.grad(lambda f: losses.minimax_generator_loss(f).sum())(confident_fake)
  ns = jax.grad(lambda f: losses.non_saturating_generator_loss(f).sum())(confident_fake)
  assert abs(float(mm[0])) < 1e-3 < abs(float(ns[0]))


def test_wasserstein_hinge_and_least_squares_by_hand():
  # wasserstein: E[f] − E[r] = 0 − 0.5
  np.testing.assert_allclose(losses.wasserstein_discriminator_loss(REAL, FAKE), -0.5, atol=1e-6)
  # hinge: mean(max(0, 1 − r)) = mean(0, 2) = 1; mean(max(0, 1 + f)) = mean(1.5, 0.5) = 1
  np.testing.assert_allclose(losses.hinge_discriminator_loss(REAL, FAKE), 2.0, atol=1e-6)
  # least squares: ½·mean(1², (−2)²) + ½·mean(0.25, 0.25) = 1.25 + 0.125
  np.testing.assert_allclose(losses.least_squares_discriminator_loss(REAL, FAKE), 1.375, atol=1e-6)
  # ½·mean((0.5 − 1)², (−0.5 − 1)²) = ½·(0.25 + 2.25)/2
  np.testing.assert_allclose(losses.least_squares_generator_loss(FAKE), 0.625, atol=1e-6)
  other = jnp.array([3.0, -1.0])
  for family in ("wasserstein", "hinge"):
    g_loss, _ = losses.get(family)
    np.testing.assert_allclose(g_loss(other), -1.0, atol=1e-6)


def test_hinge_ignores_confident_correct_logits():
  # Beyond the margin (r ≥ 1, f ≤ −1) D gets no gradient; inside it gets ∓1/n.
  grad_r, grad_f = jax.grad(losses.hinge_discriminator_loss, argnums=(0, 1))(
      jnp.array([1.5, 0.2]), jnp.array([-2.0, 0.0]))
  np.testing.assert_allclose(grad_r, [0.0, -0.5])
  np.testing.assert_allclose(grad_f, [0.0, 0.5])


def test_unknown_family_is_a_user_error():
  with pytest.raises(UserError, match="non_saturating"):
    losses.get("wgan-typo")


@pytest.mark.parametrize("family", losses.FAMILIES)
def test_in_image_space_the_players_gradients_are_collinear_never_orthogonal(family):
  """The orthogonal-gradient claim read on the one space the players share, G(z): both
  losses depend on a sample x only through D's logit f(x), so ∇ₓL_D = a·∇f(x) and
  ∇ₓL_G = b·∇f(x) for scalars a, b: |cos| = 1 for every sample and family. They are opposed
  (cos = −1) except in LSGAN, where a = f and b = f − 1 agree in sign outside [0, 1]: D and G
  both push a fake whose logit is below 0 up (the logits here stay below 1). The relativistic
  families couple the samples through batch means, but each sample's gradient is still a
  multiple of its own ∇f(x)."""
  g_loss, d_loss = losses.get(family)
  k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
  w1 = jax.random.normal(k1, (12, 16)) / 4.0
  w2 = jax.random.normal(k2, (16,)) / 8.0  # logits near 0: hinge's margin is active

  def logits(x):
    return jnp.tanh(x.reshape(x.shape[0], -1) @ w1) @ w2

  fake = jax.random.normal(k3, (6, 2, 2, 3))
  real_logits = jnp.ones(6)
  d_grad = jax.grad(lambda x: d_loss(real_logits, logits(x)))(fake).reshape(6, -1)
  relativistic = family in losses.RELATIVISTIC_FAMILIES  # G's loss also reads real logits
  g_grad = jax.grad(lambda x: g_loss(logits(x), *([real_logits] if relativistic else [])))(
      fake).reshape(6, -1)
  cos = jnp.sum(d_grad * g_grad, 1) / (jnp.linalg.norm(d_grad, axis=1) *
                                       jnp.linalg.norm(g_grad, axis=1))
  np.testing.assert_allclose(jnp.abs(cos), np.ones(6), atol=1e-5)
  if family == "least_squares":
    f = logits(fake)
    assert 0 < int(jnp.sum(f < 0)) < 6  # both signs occur
    np.testing.assert_allclose(cos, jnp.where(f < 0, 1.0, -1.0), atol=1e-5)
  elif family != "relativistic_least_squares":
    np.testing.assert_allclose(cos, -np.ones(6), atol=1e-5)


def test_relativistic_losses_by_hand():
  """r = (2, −1), f = (0.5, −0.5): E r = 0.5, E f = 0, so r̃ = r − E f = (2, −1) and
  f̃ = f − E r = (0, −1)."""
  r_rel, f_rel = np.array([2.0, -1.0]), np.array([0.0, -1.0])
  softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
  np.testing.assert_allclose(  # −log σ(x) = softplus(−x), −log(1 − σ(x)) = softplus(x)
      losses.relativistic_discriminator_loss(REAL, FAKE),
      np.mean(softplus(-r_rel)) + np.mean(softplus(f_rel)), rtol=1e-6)
  np.testing.assert_allclose(losses.relativistic_hinge_discriminator_loss(REAL, FAKE),
                             np.mean(np.maximum(0, 1 - r_rel)) + np.mean(np.maximum(0, 1 + f_rel)),
                             rtol=1e-6)  # (0 + 2)/2 + (1 + 0)/2 = 1.5
  np.testing.assert_allclose(losses.relativistic_least_squares_discriminator_loss(REAL, FAKE),
                             np.mean((r_rel - 1) ** 2) + np.mean((f_rel + 1) ** 2), rtol=1e-6)
  # G's loss is D's with the roles of real and fake swapped
  np.testing.assert_allclose(losses.relativistic_generator_loss(FAKE, REAL),
                             np.mean(softplus(-f_rel)) + np.mean(softplus(r_rel)), rtol=1e-6)
  np.testing.assert_allclose(losses.relativistic_hinge_generator_loss(FAKE, REAL),
                             np.mean(np.maximum(0, 1 - f_rel)) + np.mean(np.maximum(0, 1 + r_rel)),
                             rtol=1e-6)
  np.testing.assert_allclose(losses.relativistic_least_squares_generator_loss(FAKE, REAL),
                             np.mean((f_rel - 1) ** 2) + np.mean((r_rel + 1) ** 2), rtol=1e-6)
