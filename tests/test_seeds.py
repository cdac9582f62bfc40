"""config.num_seeds: K seeds as one vmapped program (on the 8 host devices) == each seed alone."""

import json

import jax
import numpy as np

from conftest import run_info
from ganjax import cli, saved_run

STEPS = ["--no-progress", "--config.total_steps=6", "--config.log_every=3",
         "--config.ckpt_every=3", "--config.sample_every=6", "--config.seed=3"]


def _train(tiny_config, workdir, *extra) -> None:
  assert cli.main(["train", "--config", tiny_config, "--workdir", str(workdir), *STEPS,
                   *extra]) == 0


def _records(path) -> list[dict]:
  return [json.loads(line) for line in open(path)]


def test_seeds_trained_together_match_each_seed_alone(tiny_config, tmp_path, capsys):
  many = tmp_path / "many"
  evaluate = ("--config.eval_every=3", "--config.eval_num_samples=64")
  _train(tiny_config, many, "--config.num_seeds=2", *evaluate)
  for k, seed in enumerate((3, 4)):
    alone = tmp_path / f"alone_{seed}"
    _train(tiny_config, alone, f"--config.seed={seed}", *evaluate)
    exp, state = saved_run.load_run(str(many / f"seed_{seed}"))
    assert exp.config.seed == seed and int(state.step) == 6
    _, reference = saved_run.load_run(str(alone))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4),
                 state, reference)
    together, apart = _records(many / f"seed_{seed}" / "metrics.jsonl"), _records(
        alone / "metrics.jsonl")
    losses = [[r for r in records if "d_loss" in r] for records in (together, apart)]
    assert [r["step"] for r in losses[0]] == [r["step"] for r in losses[1]] == [3, 6]
    for a, b in zip(*losses):
      np.testing.assert_allclose([a["d_loss"], a["g_loss"]], [b["d_loss"], b["g_loss"]],
                                 rtol=1e-3)
    # Evaluation during training: each seed its own FIDs and best checkpoint, as if alone.
    fids = [[r["eval_fid"] for r in records if "eval_fid" in r] for records in (together, apart)]
    assert len(fids[0]) == 2 and fids[0][0] != fids[0][1]
    np.testing.assert_allclose(fids[0], fids[1], rtol=1e-2)
    assert json.load(open(many / f"seed_{seed}" / "best.json"))["fid"] == min(fids[0])
    assert len(list((many / f"seed_{seed}" / "checkpoints_best").iterdir())) == 1
    assert (many / f"seed_{seed}" / "samples" / "step_0000006.png").stat().st_size > 0
    assert (many / f"seed_{seed}" / "plots" / "losses.png").exists()
    # ganjax info per seed, and the run's info lists the same digests.
    assert run_info(many / f"seed_{seed}", capsys) == {k2: v for k2, v in run_info(many, capsys)["seeds"][k].items() if k2 != "seed"}
    assert run_info(many, capsys)["seeds"][k]["seed"] == seed


def test_seeds_resume_bit_identically_and_are_addressed_one_by_one(tiny_config, tmp_path,
                                                                    capsys):
  straight, resumed = tmp_path / "straight", tmp_path / "resumed"
  _train(tiny_config, straight, "--config.num_seeds=2")
  _train(tiny_config, resumed, "--config.num_seeds=2", "--config.total_steps=3")
  assert [s["step"] for s in run_info(resumed, capsys)["seeds"]] == [3, 3]
  _train(tiny_config, resumed, "--config.num_seeds=2")
  assert run_info(resumed, capsys) == run_info(straight, capsys)
  # A whole multi-seed run is not one generator: sampling names a seed's directory.
  out = tmp_path / "grid.png"
  assert cli.main(["sample", "--workdir", str(straight), "--num", "4", "--out", str(out)]) == 2
  assert "holds 2 seeds trained together" in capsys.readouterr().err
  assert cli.main(["sample", "--workdir", str(straight / "seed_4"), "--num", "4", "--out",
                   str(out)]) == 0
  assert out.stat().st_size > 0
