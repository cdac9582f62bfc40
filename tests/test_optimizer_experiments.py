"""ganjax's own optimizers train both shipped experiments through the CLI, logging per-layer norms."""

import json

import numpy as np
import pytest

from ganjax import cli

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
