"""``ganjax eval`` end to end on the tiny run, and the feature network's training and cache."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from ganjax import cli, data, feature_net, metrics
from ganjax import config as config_lib
from ganjax.logging import NullWriter
from ganjax.metrics import features


def test_eval_prints_and_writes_every_metric(tiny_config, tmp_path, capsys):
  assert cli.main(["train", "--config", tiny_config, "--workdir", str(tmp_path), "--no-progress",
                   "--config.total_steps=2"]) == 0
  capsys.readouterr()
  assert cli.main(["eval", "--workdir", str(tmp_path), "--num-samples", "40",
                   "--no-progress"]) == 0
  printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
  assert printed == json.load(open(tmp_path / "eval.json"))
  for key in ("fid", "kid", "kid_std", "precision", "recall", "density", "coverage",
              "classifier_score", "classes_generated", "class_kl", "sharpness_fake",
              "sharpness_real", "feature_net_test_accuracy"):
    assert np.isfinite(printed[key]), key
  assert printed["step"] == 2 and printed["num_fake"] == 40 and printed["num_real"] == 40
  # The tiny data (a bright square whose position is the label) is easy to classify.
  assert printed["feature_net_test_accuracy"] >= 0.9
  assert printed["fid"] > 0 and 1.0 <= printed["classifier_score"] <= 10.0


def _tiny_splits(idx_dir):
  from ganjax.data.idx import load_split
  return load_split(idx_dir, "train"), load_split(idx_dir, "test")


def test_feature_net_is_cached_and_reused(idx_dir, monkeypatch):
  train, test = _tiny_splits(idx_dir)
  first = feature_net.load_or_train("cache_probe", train, test, progress=False)
  monkeypatch.setattr(feature_net, "train", lambda *a, **k: pytest.fail("trained again"))
  second = feature_net.load_or_train("cache_probe", train, test, progress=False)
  assert second.test_accuracy == first.test_accuracy and os.path.isdir(first.directory)
  images = features.to_unit_range(test[0][:16])
  np.testing.assert_array_equal(first(images)[0], second(images)[0])


def test_fid_grows_monotonically_with_noise_on_real_images(idx_dir):
  train, test = _tiny_splits(idx_dir)
  extractor = feature_net.load_or_train("cache_probe", train, test, progress=False)
  clean = features.to_unit_range(train[0])
  reference, _ = extractor(features.to_unit_range(test[0]))
  rng = np.random.default_rng(0)
  fids = [metrics.frechet_distance_of(
              reference, extractor(np.clip(clean + rng.normal(0, s, clean.shape), 0, 1)
                                   .astype(np.float32))[0])
          for s in (0.0, 0.1, 0.2, 0.4)]
  assert all(a < b for a, b in zip(fids, fids[1:])), fids


def test_sharpness_of_real_images_falls_with_blur(idx_dir):
  images = features.to_unit_range(_tiny_splits(idx_dir)[1][0])[..., 0]
  values = [metrics.sharpness(gaussian_filter(images, (0, s, s))) for s in (0.0, 0.7, 1.5)]
  assert values[0] > values[1] > values[2]


def test_training_evaluates_and_keeps_the_best_fid_checkpoint(tiny_config, tmp_path, capsys):
  assert cli.main(["train", "--config", tiny_config, "--workdir", str(tmp_path), "--no-progress",
                   "--config.total_steps=10", "--config.eval_every=5",
                   "--config.eval_num_samples=20"]) == 0
  records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  evals = {r["step"]: r for r in records if "eval_fid" in r}
  assert sorted(evals) == [5, 10]
  assert all(np.isfinite(r["eval_fid"]) and 0 <= r["eval_precision"] <= 1 for r in evals.values())
  best = json.load(open(tmp_path / "best.json"))
  assert best["fid"] == min(r["eval_fid"] for r in evals.values())
  assert os.listdir(tmp_path / "checkpoints_best") == [str(best["step"])]


def test_a_resumed_run_keeps_the_best_fid_it_had_before_it_stopped(tmp_path):
  """BestByFID reads best.json back on resume: a worse FID after the restart must leave the
  earlier best checkpoint in place, and a better one must still replace it."""
  from ganjax.hooks import BestByFID
  state = {"w": np.arange(3, dtype=np.float32)}

  def scripted(step, fid):
    return lambda exp, host_state: {"step": step, "fid": fid}

  before = BestByFID(str(tmp_path), scripted(5, 3.0))
  before.evaluate(None, state, NullWriter())
  before.close()
  resumed = BestByFID(str(tmp_path), scripted(10, 4.0))
  resumed.evaluate(None, state, NullWriter())
  assert json.load(open(tmp_path / "best.json")) == {"step": 5, "fid": 3.0}
  assert os.listdir(tmp_path / "checkpoints_best") == ["5"]
  resumed.evaluator = scripted(15, 2.0)
  resumed.evaluate(None, state, NullWriter())
  resumed.close()
  assert json.load(open(tmp_path / "best.json")) == {"step": 15, "fid": 2.0}
  assert os.listdir(tmp_path / "checkpoints_best") == ["15"]


@pytest.mark.parametrize("value_range", [(-1.0, 1.0), (0.0, 1.0)])
def test_perceptual_features_are_the_evaluation_features_of_the_same_images(tiny_config,
                                                                            value_range):
  """``config.loss.perceptual``'s φ: the dataset's evaluation feature net on G's range, so
  φ(x) of images in ``value_range`` equals the evaluation features of the same images in
  [0, 1], and its gradient reaches the images."""
  cfg = config_lib.load(tiny_config).data
  phi = feature_net.perceptual_features(cfg, value_range, progress=False)
  splits = data.train_and_test(cfg)
  extractor = feature_net.load_or_train(cfg.name, *splits, progress=False)
  images01 = features.to_unit_range(splits[1][0][:16])
  lo, hi = value_range
  images = jnp.asarray(images01 * (hi - lo) + lo)
  np.testing.assert_allclose(phi(images), extractor(images01)[0], rtol=1e-4, atol=1e-5)
  grad = jax.grad(lambda x: jnp.sum(phi(x) ** 2))(images)
  assert np.all(np.isfinite(grad)) and float(jnp.abs(grad).max()) > 0


def test_the_independent_perceptual_net_is_another_network_whose_statistics_blur_lowers(
    tiny_config):
  """``loss.perceptual_net=independent``: not the evaluation net (other features, other
  weights, its own cache entry), and a 3×3 box blur of real images lowers its spatial
  standard-deviation features at every scale, the statistics the anti-blur loss matches."""
  cfg = config_lib.load(tiny_config).data
  splits = data.train_and_test(cfg)
  independent = feature_net.load_or_train(cfg.name, *splits, seed=1, progress=False,
                                          kind="independent")
  evaluation = feature_net.load_or_train(cfg.name, *splits, progress=False)
  assert independent.directory != evaluation.directory
  phi = feature_net.perceptual_features(cfg, (-1.0, 1.0), progress=False, kind="independent")
  images01 = features.to_unit_range(splits[1][0][:64])
  sharp = jnp.asarray(images01 * 2.0 - 1.0)
  padded = jnp.pad(sharp, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
  blurred = sum(padded[:, i:i + sharp.shape[1], j:j + sharp.shape[2]]
                for i in range(3) for j in range(3)) / 9.0
  assert phi(sharp).shape == (64, 2 * (24 + 48 + 96))
  assert evaluation(images01)[0].shape == (64, features.FEATURE_DIM)
  # per layer, its channels' means, then their standard deviations: 24 + 24, 48 + 48, 96 + 96
  for layer in (slice(24, 48), slice(96, 144), slice(240, 336)):
    assert float(phi(blurred)[:, layer].mean()) < float(phi(sharp)[:, layer].mean())
  grad = jax.grad(lambda x: jnp.sum(phi(x) ** 2))(sharp)
  assert np.all(np.isfinite(grad)) and float(jnp.abs(grad).max()) > 0
  flat = -jnp.ones_like(sharp[:4])  # every channel constant over the image: std 0
  assert np.all(np.isfinite(jax.grad(lambda x: jnp.sum(phi(x) ** 2))(flat)))


@pytest.mark.parametrize("net, which", [("eval", "feature network"),
                                        ("independent", "independent perceptual network")])
def test_training_with_the_perceptual_loss_logs_it(tiny_config, tmp_path, capsys, net, which):
  assert cli.main(["train", "--config", tiny_config, "--workdir", str(tmp_path), "--no-progress",
                   "--config.total_steps=2", "--config.log_every=1",
                   "--config.loss.perceptual=1", f"--config.loss.perceptual_net={net}"]) == 0
  assert f"loading the dataset's {which}" in capsys.readouterr().err
  records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  assert len(records) == 2
  assert all(np.isfinite(r["g_perceptual"]) and r["g_perceptual"] > 0 for r in records)
