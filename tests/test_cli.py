"""The command line end to end: training, bit-identical resume, sampling (bad input: test_bad_input)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import run_info
from ganjax import cli
from ganjax.logging import read_metrics


def _train(config, workdir, *overrides):
  return cli.main(["train", "--config", config, "--workdir", str(workdir), "--no-progress",
                   *overrides])


def test_resume_is_bit_identical(tiny_config, tmp_path, capsys):
  assert _train(tiny_config, tmp_path / "straight") == 0
  straight = run_info(tmp_path / "straight", capsys)
  assert _train(tiny_config, tmp_path / "resumed", "--config.total_steps=10") == 0
  assert run_info(tmp_path / "resumed", capsys)["step"] == 10
  first_segment = json.load(open(tmp_path / "resumed" / "timing.json"))["train_seconds"]
  metrics = tmp_path / "resumed" / "metrics.jsonl"  # damaged by hand: the run still resumes
  first, *rest = metrics.read_text().splitlines(keepends=True)
  metrics.write_text(first + "not json\n[]\n" + "".join(rest))
  assert _train(tiny_config, tmp_path / "resumed") == 0
  assert ("skipped 2 line(s) that are not metrics records (line 2, …)"
          in capsys.readouterr().err)
  resumed = run_info(tmp_path / "resumed", capsys)
  assert straight["step"] == resumed["step"] == 20
  assert straight["state_digest"] == resumed["state_digest"]
  # A different seed really gives a different state (the digest is not vacuous).
  assert _train(tiny_config, tmp_path / "other", "--config.seed=1",
                "--config.total_steps=20") == 0
  assert run_info(tmp_path / "other", capsys)["state_digest"] != straight["state_digest"]

  # Resuming may extend the run and change its cadence, not what it is.
  capsys.readouterr()
  assert _train(tiny_config, tmp_path / "resumed", "--config.seed=5",
                "--config.batch_size=32", "--config.total_steps=30") == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert err == [f"ganjax: error: {tmp_path / 'resumed'} holds a run made with config.batch_size="
                 "16, but this command sets 32 (and seed); a resumed run may change only "
                 "total_steps, the logging, sampling, checkpoint and evaluation intervals and "
                 "where it runs. Use a new --workdir for a different run"]
  assert json.load(open(tmp_path / "resumed" / "config.json"))["seed"] == 0
  assert run_info(tmp_path / "resumed", capsys) == resumed
  # Wall time is summed over the run's two segments; the refused call is not one.
  timing = [json.load(open(tmp_path / d / "timing.json")) for d in ("straight", "resumed")]
  assert [t["segments"] for t in timing] == [1, 2]
  assert all(t["train_seconds"] > 0 for t in timing)
  # Each record's wall_seconds is the run's training time so far: the second segment's
  # records go on from the first segment's whole wall time, and stay within the total.
  clock = [(r["step"], r["wall_seconds"]) for r in read_metrics(str(tmp_path / "resumed"))
           if "wall_seconds" in r]
  assert [step for step, _ in clock] == [5, 10, 15, 20]
  seconds = [s for _, s in clock]
  assert seconds == sorted(seconds) and seconds[1] < first_segment < seconds[2]
  assert seconds[-1] <= timing[1]["train_seconds"]

  run = tmp_path / "straight"
  records = [json.loads(line) for line in open(run / "metrics.jsonl")]
  assert [r["step"] for r in records] == [5, 10, 15, 20]
  assert all(np.isfinite(r["d_loss"]) and np.isfinite(r["g_loss"]) for r in records)
  resumed_steps = [json.loads(l)["step"] for l in open(tmp_path / "resumed" / "metrics.jsonl")]
  assert resumed_steps == [5, 10, 15, 20]
  assert sorted(os.listdir(run / "samples")) == ["step_0000010.png", "step_0000020.png"]
  assert (run / "plots" / "losses.png").exists() and os.listdir(run / "tb")
  assert json.load(open(run / "config.json"))["batch_size"] == 16

  out = tmp_path / "grid.png"
  assert cli.main(["sample", "--workdir", str(run), "--num", "9", "--out", str(out),
                   "--seed", "3"]) == 0
  assert Image.open(out).size == (3 * 28 * 2, 3 * 28 * 2) and Image.open(out).format == "PNG"
  jpeg = tmp_path / "grid.jpg"  # the extension picks the format
  assert cli.main(["sample", "--workdir", str(run), "--num", "9", "--out", str(jpeg),
                   "--seed", "3"]) == 0
  assert Image.open(jpeg).format == "JPEG" and not list(tmp_path.glob("*.tmp*"))


def test_pmap_and_shard_map_runs_are_bit_identical_through_the_cli(tiny_config, tmp_path,
                                                                   capsys):
  """On the tests' 8 host devices, dropout included: the same digest (docs/reliability.md)."""
  import jax
  assert jax.local_device_count() == 8
  assert _train(tiny_config, tmp_path / "pmap", "--config.total_steps=4") == 0
  assert _train(tiny_config, tmp_path / "shard", "--config.total_steps=4",
                "--config.parallel.mode=shard_map") == 0
  pmap, shard = run_info(tmp_path / "pmap", capsys), run_info(tmp_path / "shard", capsys)
  assert pmap == shard and pmap["step"] == 4
  assert _train(tiny_config, tmp_path / "one", "--config.total_steps=4",
                "--config.parallel.num_devices=1") == 0
  assert run_info(tmp_path / "one", capsys) != pmap  # a different device count does differ


def test_module_entry_point_exit_code_and_no_traceback(tmp_path):
  result = subprocess.run([sys.executable, "-m", "ganjax", "train", "--config",
                           "experiments/dcgan_fashion_mnist.py", "--workdir", str(tmp_path),
                           "--config.optimizer.g.nmae=adam"], capture_output=True, text=True)
  assert result.returncode == 2
  assert result.stderr.strip().splitlines() == [
      "ganjax: error: unknown config key 'optimizer.g.nmae'; did you mean --config.optimizer.g.name?"]


@pytest.mark.parametrize("command", [[], ["train"], ["sample"], ["eval"], ["info"], ["sweep"],
                                     ["bench"]])
def test_help_prints_and_exits_zero(command, capsys):
  with pytest.raises(SystemExit) as exit_:
    cli.main([*command, "--help"])
  assert exit_.value.code == 0
  assert "usage: ganjax" in capsys.readouterr().out
