"""DiffAugment's ops against their definitions on fixed parameters, differentiable, drawn per
image; and in the train step, D sees T(x) while the default step is unchanged."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganjax import augment

X = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (3, 8, 8, 2)), jnp.float32)


def test_translation_moves_each_image_by_its_own_offset_and_fills_with_zero():
  moved = augment.translate(X, jnp.array([0, 2, -1]), jnp.array([0, -3, 1]))
  np.testing.assert_array_equal(moved[0], X[0])
  expected = np.zeros((8, 8, 2), np.float32)
  expected[2:, :5] = X[1, :6, 3:]  # down 2, left 3
  np.testing.assert_array_equal(moved[1], expected)
  expected = np.zeros((8, 8, 2), np.float32)
  expected[:7, 1:] = X[2, 1:, :7]  # up 1, right 1
  np.testing.assert_array_equal(moved[2], expected)


def test_cutout_zeroes_its_square_clipped_to_the_image():
  cut = augment.cutout(X, jnp.array([1, -2, 6]), jnp.array([2, 5, 6]), 4)
  for i, (top, left) in enumerate([(1, 2), (-2, 5), (6, 6)]):
    expected = np.array(X[i])
    expected[max(top, 0):top + 4, max(left, 0):left + 4] = 0.0
    np.testing.assert_array_equal(cut[i], expected)


def test_color_is_brightness_then_saturation_then_contrast():
  b, s, c = jnp.array([0.1, -0.2, 0.0]), jnp.array([1.5, 0.0, 1.0]), jnp.array([0.5, 1.2, 1.0])
  out = np.asarray(augment.color(X, b, s, c))
  for i in range(3):
    x = np.asarray(X[i]) + float(b[i])
    x = (x - x.mean(axis=-1, keepdims=True)) * float(s[i]) + x.mean(axis=-1, keepdims=True)
    x = (x - x.mean()) * float(c[i]) + x.mean()
    np.testing.assert_allclose(out[i], x, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(augment.color(X, jnp.zeros(3), jnp.ones(3), jnp.ones(3)), X,
                             atol=1e-6)  # the identity


def test_diff_augment_is_the_identity_without_ops_and_differentiable_with_them():
  key = jax.random.PRNGKey(3)
  np.testing.assert_array_equal(augment.diff_augment(X, key, ()), X)
  policy = augment.parse("color, translation,cutout")
  assert policy == augment.POLICIES
  out = augment.diff_augment(X, key, policy)
  np.testing.assert_array_equal(out, augment.diff_augment(X, key, policy))  # a function of key
  assert not np.array_equal(out, augment.diff_augment(X, jax.random.PRNGKey(4), policy))
  grad = jax.grad(lambda x: jnp.sum(augment.diff_augment(x, key, policy) ** 2))(X)
  assert np.all(np.isfinite(grad)) and float(jnp.abs(grad).max()) > 0
  # cutout alone: each image loses one square of half the size (clipped at the border)
  zeroed = np.asarray(augment.diff_augment(jnp.ones((64, 8, 8, 1)), key, ("cutout",)) == 0)
  counts = zeroed.sum(axis=(1, 2, 3))
  assert counts.max() == 16 and counts.min() >= 4 and len(set(counts)) > 1


@pytest.mark.parametrize("op", ["translation", "color", "cutout"])
def test_each_image_gets_its_own_draw(op):
  one = jax.random.uniform(jax.random.PRNGKey(1), (1, 28, 28, 1), minval=-1.0, maxval=1.0)
  out = np.asarray(augment.diff_augment(jnp.broadcast_to(one, (16, 28, 28, 1)),
                                        jax.random.PRNGKey(0), (op,)))
  assert len({out[i].tobytes() for i in range(16)}) >= 12


def test_training_with_diffaugment_changes_the_run_and_resumes_bit_identically(tiny_config,
                                                                                tmp_path, capsys):
  from conftest import run_info
  from ganjax import cli

  def train(workdir, steps, *extra):
    assert cli.main(["train", "--config", tiny_config, "--workdir", str(workdir),
                     "--no-progress", f"--config.total_steps={steps}", *extra]) == 0

  policy = "--config.augment.policy=color,translation,cutout"
  train(tmp_path / "straight", 4, policy)
  train(tmp_path / "resumed", 2, policy)
  train(tmp_path / "resumed", 4, policy)
  train(tmp_path / "plain", 4)
  digests = {name: run_info(tmp_path / name, capsys)["state_digest"]
             for name in ("straight", "resumed", "plain")}
  assert digests["straight"] == digests["resumed"] != digests["plain"]
