"""The NaN/Inf guard: a non-finite step is rejected; a streak rolls back with a lower LR or stops."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax

from conftest import run_info, non_saturating
from ganjax import cli
from ganjax.models.mlp import MLPDiscriminator, MLPGenerator
from ganjax.parallel import AXIS
from ganjax.state import init_state
from ganjax.step import Players, Settings, make_step


def _mlp_step(max_nonfinite):
  g = MLPGenerator(image_shape=(2,), hidden=(8,), output_activation="identity")
  d = MLPDiscriminator(hidden=(8,))
  tx = optax.adam(1e-2)
  state = init_state(0, g, d, tx, tx, latent_dim=2, image_shape=(2,))
  step = make_step(Players(g, d, tx, tx),
                   Settings(latent_dim=2, global_batch=4, max_nonfinite=max_nonfinite),
                   *non_saturating())
  run = jax.jit(jax.vmap(step, axis_name=AXIS))
  return jax.tree.map(lambda x: x[None], state), lambda s, x: run(s, {"image": x[None, None]})[0]


def _same_networks(a, b):
  fields = ("g_params", "d_params", "g_opt_state", "d_opt_state")
  return all(bool(jnp.array_equal(x, y)) for f in fields
             for x, y in zip(jax.tree.leaves(getattr(a, f)), jax.tree.leaves(getattr(b, f))))


def test_a_nonfinite_step_is_rejected_and_counted():
  state, step = _mlp_step(max_nonfinite=2)
  good = np.ones((4, 2), np.float32)
  for bad_value in (np.nan, np.inf):
    after = step(state, np.full((4, 2), bad_value, np.float32))
    assert _same_networks(after, state)
    assert int(after.step[0]) == 1
    assert int(after.rejected_steps[0]) == 1 and int(after.nonfinite_streak[0]) == 1
  recovered = step(after, good)
  assert not _same_networks(recovered, after)  # a finite step updates again ...
  assert int(recovered.nonfinite_streak[0]) == 0  # ... and ends the streak
  assert int(recovered.rejected_steps[0]) == 1
  assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(recovered.g_params))


def test_a_full_streak_freezes_the_state_until_the_host_acts():
  state, step = _mlp_step(max_nonfinite=2)
  bad, good = np.full((4, 2), np.nan, np.float32), np.ones((4, 2), np.float32)
  halted = step(step(state, bad), bad)
  assert int(halted.nonfinite_streak[0]) == 2
  later = step(halted, good)
  assert _same_networks(later, state) and int(later.nonfinite_streak[0]) == 2
  assert int(later.rejected_steps[0]) == 3 and int(later.step[0]) == 3


def test_with_finite_steps_the_guard_changes_no_bits():
  batches = np.random.default_rng(0).normal(size=(5, 4, 2)).astype(np.float32)
  guarded, guarded_step = _mlp_step(max_nonfinite=2)
  plain, plain_step = _mlp_step(max_nonfinite=0)
  for x in batches:
    guarded, plain = guarded_step(guarded, x), plain_step(plain, x)
  assert _same_networks(guarded, plain)
  assert not _same_networks(plain, _mlp_step(max_nonfinite=0)[0])  # the steps did move it


def test_without_the_guard_nans_propagate():
  state, step = _mlp_step(max_nonfinite=0)
  after = step(state, np.full((4, 2), np.nan, np.float32))
  assert not all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(after.d_params))


def _train(tiny_config, workdir, *overrides):
  return cli.main(["train", "--config", tiny_config, "--workdir", str(workdir), "--no-progress",
                   "--config.log_every=1", "--config.nonfinite.max_consecutive=3", *overrides])


def test_a_streak_rolls_back_to_the_last_checkpoint_with_a_lower_learning_rate(
    tiny_config, tmp_path, capsys, nan_steps):
  nan_steps(range(6, 12))  # NaN the first time steps 7..12 run, clean after the rollback
  assert _train(tiny_config, tmp_path) == 0
  err = capsys.readouterr().err
  assert "3 steps in a row up to step 9" in err and "rolled back to step 5" in err
  assert "× 0.5" in err
  records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  assert [r["step"] for r in records] == list(range(1, 21))  # the abandoned steps moved ...
  rolled_back = [json.loads(line) for line in open(tmp_path / "metrics_rolled_back.jsonl")]
  assert [r["step"] for r in rolled_back] == [6, 7, 8, 9]  # ... here, as they were logged
  assert [r["nonfinite_streak"] for r in rolled_back] == [0, 1, 2, 3]
  assert {r["lr_scale"] for r in records if r["step"] <= 5} == {1.0}
  assert {r["lr_scale"] for r in records if r["step"] > 5} == {0.5}
  assert all(r["rejected_steps"] == 0 for r in records)
  assert all(np.isfinite(r["g_loss"]) for r in records)
  assert run_info(tmp_path, capsys)["step"] == 20


def test_a_rollback_gives_the_lowered_learning_rate_a_fresh_streak(
    tiny_config, tmp_path, capsys, nan_steps):
  """Steps 4–6 are NaN every time: the checkpoint at step 5 is saved two steps into the
  streak. After the rollback to it the streak starts again from 0, so step 6 alone does not
  trigger a second rollback, and the run ends."""
  nan_steps(range(3, 6), every_time=True)
  assert _train(tiny_config, tmp_path) == 0
  err = capsys.readouterr().err
  assert err.count("rolled back to step 5") == 1 and "× 0.5" in err
  records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  assert [r["nonfinite_streak"] for r in records][3:7] == [1, 2, 1, 0]
  assert run_info(tmp_path, capsys)["step"] == 20


def test_rollbacks_are_limited_then_the_run_stops_with_one_line(
    tiny_config, tmp_path, capsys, nan_steps):
  nan_steps(range(6, 12), every_time=True)
  assert _train(tiny_config, tmp_path, "--config.nonfinite.max_rollbacks=2") == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 3
  assert "rolled back to step 5" in err[0] and err[0].endswith("× 0.5")
  assert "rolled back to step 5" in err[1] and err[1].endswith("× 0.25")
  assert err[-1].startswith("ganjax: error: training diverged after 2 rollbacks")
  assert "checkpoint at step 5 is intact" in err[-1] and "Traceback" not in "".join(err)
  assert run_info(tmp_path, capsys)["step"] == 5


def test_action_stop_stops_at_the_first_streak(tiny_config, tmp_path, capsys, nan_steps):
  nan_steps(range(6, 12), every_time=True)
  assert _train(tiny_config, tmp_path, "--config.nonfinite.action=stop") == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and err[0].startswith("ganjax: error: training diverged: 3 steps")
  assert run_info(tmp_path, capsys)["step"] == 5


def test_one_seed_s_streak_rolls_every_seed_back_together(tiny_config, tmp_path, capsys,
                                                         nan_steps):
  nan_steps(range(6, 12))  # served to the first seed only: the others see clean steps
  assert _train(tiny_config, tmp_path, "--config.num_seeds=2") == 0
  err = capsys.readouterr().err
  assert "3 steps in a row up to step 9" in err and "rolled back to step 5" in err
  for seed in (0, 1):
    records = [json.loads(line) for line in open(tmp_path / f"seed_{seed}" / "metrics.jsonl")]
    assert [r["step"] for r in records] == list(range(1, 21))
    assert {r["lr_scale"] for r in records if r["step"] > 5} == {0.5}
    assert all(np.isfinite(r["g_loss"]) for r in records)
  assert [s["step"] for s in run_info(tmp_path, capsys)["seeds"]] == [20, 20]
