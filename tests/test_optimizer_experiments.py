"""ganjax's own optimizers train both shipped experiments through the CLI, logging per-layer norms."""

import json

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ganjax import cli
from ganjax.config import optimizer_config
from ganjax.optim import factory

TINY_DCGAN = ("--config.model.generator.features=(16,8,4)",
              "--config.model.discriminator.features=(4,8)",
              "--config.model.generator.kernel_size=3", "--config.model.discriminator.kernel_size=3")


@pytest.mark.parametrize("experiment,extra", [
    ("experiments/gan_mlp_mnist_orthogonal.py", ()),
    ("experiments/dcgan_cg.py", TINY_DCGAN),
    ("experiments/dcgan_cg.py", (*TINY_DCGAN, "--config.optimizer.g.name=orthogonal",
                                 "--config.optimizer.d.beta=hs_dy")),
])
def test_experiment_trains_with_finite_losses_and_layer_norms(experiment, extra, idx_dir, tmp_path):
  workdir = tmp_path / "run"
  assert cli.main(["train", "--config", experiment, "--workdir", str(workdir), "--no-progress",
                   "--config.data.source=idx", f"--config.data.path={idx_dir}",
                   "--config.batch_size=16", "--config.total_steps=3", "--config.log_every=1",
                   "--config.sample_every=3", "--config.ckpt_every=3", *extra]) == 0
  records = [json.loads(line) for line in open(workdir / "metrics.jsonl")]
  assert [r["step"] for r in records] == [1, 2, 3]
  for record in records:
    assert np.isfinite(record["d_loss"]) and np.isfinite(record["g_loss"])
    for prefix in ("g_grad_norm/", "g_update_norm/", "d_grad_norm/", "d_update_norm/"):
      layers = [v for k, v in record.items() if k.startswith(prefix)]
      assert len(layers) >= 2 and all(np.isfinite(layers)) and all(v > 0 for v in layers)
  assert (workdir / "plots" / "layer_norms.png").exists()


@pytest.mark.parametrize("overrides,message", [
    (("--config.optimizer.d.beta=bfgs",),
     "optimizer 'cg': unknown conjugate-gradient beta 'bfgs'"),
    (("--config.optimizer.g.name=orthogonal", "--config.optimizer.g.mode=svd"),
     "optimizer 'orthogonal': unknown orthogonal-gradient mode 'svd'"),
])
def test_bad_optimizer_hyper_parameter_is_one_clear_line(overrides, message, tmp_path, capsys):
  assert cli.main(["train", "--config", "experiments/dcgan_cg.py", "--workdir", str(tmp_path),
                   *overrides]) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and message in err[0], err


def test_adam_eps_root_is_salimans_et_al_adam():
  """eps 0, eps_root 1e-8: the Adam of Salimans et al.'s code, sqrt(v̂ + 1e-8) in the
  denominator, by numpy; tiny gradients then take steps far below the learning rate."""
  cfg = optimizer_config("adam", 1e-2, b1=0.5, eps=0.0, eps_root=1e-8)
  tx = factory.make(cfg, 10)
  grads = [np.array([1e-6, -2e-6, 3e-2], np.float32) * k for k in (1.0, -0.5, 2.0)]
  params = jnp.zeros(3)
  state = tx.init(params)
  want, m, v = np.zeros(3), np.zeros(3), np.zeros(3)
  for t, g in enumerate(grads, start=1):
    updates, state = tx.update(jnp.asarray(g), state, params)
    params = optax.apply_updates(params, updates)
    m, v = 0.5 * m + 0.5 * g, 0.999 * v + 0.001 * g.astype(np.float64) ** 2
    want -= 1e-2 * (m / (1 - 0.5 ** t)) / np.sqrt(v / (1 - 0.999 ** t) + 1e-8)
  np.testing.assert_allclose(params, want, rtol=1e-5, atol=1e-12)
  assert abs(want[0]) < 0.05 * abs(want[2])  # plain Adam moves both about equally


@pytest.mark.parametrize("schedule", ["constant", "linear", "cosine", "inverse_sqrt"])
def test_learning_rate_schedules_after_warm_up_match_their_formulas(schedule):
  """lr 0.1 over 110 updates, 10 of them warm-up (0 → lr linearly), then to 0.2·lr:
  linear lr + (end − lr)·t/T, cosine end + (lr − end)·(1 + cos πt/T)/2, inverse_sqrt
  lr/√(1 + t) (no end), with t counted from the end of the warm-up and T = 100."""
  cfg = optimizer_config("adam", 0.1, schedule=schedule, warmup_steps=10,
                         end_learning_rate_factor=0.2)
  lr = factory.learning_rate_schedule(cfg, 110)
  lr0, end, t = 0.1, 0.02, np.arange(0, 101)
  main = {"constant": np.full(t.shape, lr0),
          "linear": lr0 + (end - lr0) * t / 100,
          "cosine": end + (lr0 - end) * (1 + np.cos(np.pi * t / 100)) / 2,
          "inverse_sqrt": lr0 / np.sqrt(1 + t)}[schedule]
  got = np.array([float(lr(s)) for s in range(111)])
  np.testing.assert_allclose(got[:10], lr0 * np.arange(10) / 10, rtol=1e-6, atol=1e-9)
  np.testing.assert_allclose(got[10:], main, rtol=1e-5)
