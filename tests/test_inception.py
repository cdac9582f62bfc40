"""Inception-v3 from a local .npz: round trip, feature path, and one-line errors for bad files."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganjax import cli
from ganjax.errors import UserError
from ganjax.metrics import inception

SIZE = 75  # the smallest input Inception-v3 takes; 299 in real use, same variables


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
  variables = jax.jit(inception.InceptionV3Pool().init)(jax.random.PRNGKey(0),
                                                        jnp.zeros((1, SIZE, SIZE, 3)))
  path = tmp_path_factory.mktemp("inception") / "random_inception.npz"
  inception.save_weights(str(path), variables)
  return str(path), variables


def test_weights_round_trip_and_give_2048_d_features(weights_file):
  path, variables = weights_file
  loaded = inception.load(path)
  assert sum(x.size for x in jax.tree.leaves(loaded["params"])) == 21_785_568
  images = np.random.default_rng(0).uniform(0, 1, (3, 28, 28, 1)).astype(np.float32)
  feats = inception.pool_features(loaded, images, size=SIZE)
  assert feats.shape == (3, inception.FEATURE_DIM) and np.all(np.isfinite(feats))
  direct = inception.InceptionV3Pool().apply(
      variables, jnp.repeat(jax.image.resize(jnp.asarray(images), (3, SIZE, SIZE, 1), "bilinear"),
                            3, -1) * 2 - 1)
  np.testing.assert_allclose(feats, np.asarray(direct), rtol=1e-5, atol=1e-6)
  assert not np.allclose(feats[0], feats[1])  # the features depend on the image


def test_bad_weight_files_are_refused_in_one_line(tmp_path):
  first = sorted(inception.expected_shapes())[0]
  wrong = tmp_path / "wrong.npz"
  np.savez(wrong, **{first: np.zeros(5, np.float32)})
  with pytest.raises(UserError, match=rf"'{first}' is \(5,\), Inception-v3 needs"):
    inception.load(str(wrong))
  empty = tmp_path / "empty.npz"
  np.savez(empty, unrelated=np.zeros(1))
  with pytest.raises(UserError, match="variables missing"):
    inception.load(str(empty))
  text = tmp_path / "weights.npz"
  text.write_text("not numpy")
  with pytest.raises(UserError, match="cannot read it as .npz"):
    inception.load(str(text))


def test_eval_with_inception_features(tiny_config, tmp_path, weights_file, capsys):
  from ganjax import evaluate
  from ganjax.saved_run import load_run
  assert cli.main(["train", "--config", tiny_config, "--workdir", str(tmp_path), "--no-progress",
                   "--config.total_steps=2"]) == 0
  exp, state = load_run(str(tmp_path))
  result = evaluate.Evaluator(exp.config.data, 16, progress=False,
                              inception_weights=weights_file[0], inception_size=SIZE)(exp, state)
  assert result["features"] == "inception_v3"
  assert np.isfinite(result["fid"]) and result["fid"] > 0
  assert 0.0 <= result["precision"] <= 1.0
