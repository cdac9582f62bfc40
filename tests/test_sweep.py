"""The ablation harness: t-intervals against scipy, and a tiny sweep through the CLI that is
cut short, resumed (also mid-run) and compared with the same sweep run straight through."""

import csv
import json
import os
import signal

import jax
import ml_collections
import numpy as np
import pytest
from scipy import stats as scipy_stats

from conftest import run_info
from ganjax import cli, comparisons, report, saved_run, stats, sweep, sweep_runner
from ganjax.errors import UserError
from ganjax.logging import RunWriter

SWEEP = """
from ganjax.sweep import Sweep, axis, choice, product

def get_config():
  return Sweep(
      base={base!r},
      # Cells that share one compiled step (sample_every stays on the host), to keep this
      # test fast; what a cell varies makes no difference to the harness.
      cells=product(choice("loss", {{"ns": {{"loss.name": "non_saturating"}}}}),
                    axis("sample_every", [2, 4], "sample_every")),
      seeds=(0, 1),
      settings={{"total_steps": 4, "log_every": 2, "ckpt_every": 2, "log_layer_norms": True,
                 "parallel.num_devices": 1}},
      metrics=("fid", "g_grad_norm_spread"), eval_num_samples=24, title="tiny sweep")
"""
# Columns that measure this machine's speed rather than the run's result.
TIMING_COLUMNS = ("train_seconds", "eval_seconds", "images_per_s", "timed")


@pytest.mark.parametrize("values", [[1.0, 2.0, 3.0, 4.0, 5.0], [0.3, -1.2, 2.5],
                                    np.linspace(10.0, 11.0, 17) ** 2])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_mean_ci_equals_scipy_t_interval(values, confidence):
  summary = stats.mean_ci(values, confidence)
  low, high = scipy_stats.t.interval(confidence, len(values) - 1, loc=np.mean(values),
                                     scale=scipy_stats.sem(values))
  np.testing.assert_allclose([summary.mean - summary.half_width,
                              summary.mean + summary.half_width], [low, high], rtol=1e-12)
  assert summary.n == len(values) and summary.dropped == 0


def test_mean_ci_known_numbers_and_edge_cases():
  # 1..5: mean 3, s = √2.5, t_{0.975,4} = 2.776445 → 2.776445 · √2.5 / √5 = 1.963243.
  summary = stats.mean_ci([1, 2, 3, 4, 5])
  assert summary.mean == 3.0 and abs(summary.half_width - 1.963243) < 1e-6
  assert str(summary) == "3 ± 2"
  diverged = stats.mean_ci([1.0, float("nan"), 3.0, float("inf")])
  assert (diverged.mean, diverged.n, diverged.dropped) == (2.0, 2, 2)
  one = stats.mean_ci([7.0])
  assert one.n == 1 and np.isnan(one.half_width) and str(one) == "7"
  assert str(stats.mean_ci([])) == "—"


def test_grad_norm_spread_is_log10_of_max_over_min():
  records = [{"g_grad_norm/a": 1.0, "g_grad_norm/b": 100.0, "d_grad_norm/a": 5.0},
             {"g_grad_norm/a": 2.0, "g_grad_norm/b": 2.0, "step": 3}]
  assert report.grad_norm_spread(records, "g_grad_norm/") == pytest.approx(1.0)  # (2 + 0) / 2
  assert np.isnan(report.grad_norm_spread(records, "d_grad_norm/"))  # one layer: no spread


def test_rollback_note_names_the_lowest_learning_rate_factor_and_how_many_runs():
  rows = [{"final_lr_scale": 1.0}, {"final_lr_scale": 0.25}, {"final_lr_scale": 0.5},
          {"final_lr_scale": float("nan")}]
  assert report.rollback_note(rows) == "×0.25 (2/4)"
  assert report.rollback_note(rows[:1] + rows[3:]) == "—"


@pytest.mark.parametrize("values, scale", [
    ([1e-4, 1e-3, 1e-2], "log"), ([10, 100, 0], "categories"), ([0.0, 0.5, 1.0], "linear"),
    ([0.25, 1.0, 4.0], "log"), ([2, 5], "linear"), (["adam", "cg"], "categories"),
    ([True, False], "categories")])
def test_x_scale_puts_decades_on_a_log_axis_unless_a_value_is_not_positive(values, scale):
  assert report.x_scale(values) == scale


def test_grid_helpers_build_the_product():
  cells = sweep.product(sweep.choice("opt", {"adam": {"optimizer.g.name": "adam"},
                                             "sgd": {"optimizer.g.name": "sgd"}}),
                        sweep.axis("lr", [0.1, 0.2], "optimizer.g.learning_rate",
                                   "optimizer.d.learning_rate"))
  assert [c.name for c in cells] == ["opt=adam,lr=0.1", "opt=adam,lr=0.2", "opt=sgd,lr=0.1",
                                     "opt=sgd,lr=0.2"]
  assert cells[3].overrides == {"optimizer.g.name": "sgd", "optimizer.g.learning_rate": 0.2,
                                "optimizer.d.learning_rate": 0.2}


def test_a_run_resumes_on_another_deployment_but_not_with_another_config(tmp_path):
  planned = ml_collections.ConfigDict(dict(seed=0, num_seeds=1, loss=dict(name="hinge"),
                                           distributed=dict(coordinator="", num_processes=1,
                                                            process_id=0)))
  run = sweep.Run(sweep.Cell({"loss": "hinge"}, {}), 0, str(tmp_path), planned)
  saved = planned.to_dict()
  saved["distributed"] = dict(coordinator="10.0.0.1:1234", num_processes=4, process_id=2)
  (tmp_path / "config.json").write_text(json.dumps(saved))
  sweep.check_same_config(run)  # where and on how many hosts it ran does not matter
  del saved["distributed"]  # a run from before multi-host training existed
  (tmp_path / "config.json").write_text(json.dumps(saved))
  sweep.check_same_config(run)
  # A run from before config.num_seeds existed trained one seed: its default.
  del saved["num_seeds"]
  (tmp_path / "config.json").write_text(json.dumps(saved))
  sweep.check_same_config(run)
  planned.num_seeds = 2  # not the default: the old run did not do that
  with pytest.raises(UserError, match="config.num_seeds=None, but this sweep plans 2"):
    sweep.check_same_config(run)
  planned.num_seeds = 1
  saved["loss"]["name"] = "least_squares"
  (tmp_path / "config.json").write_text(json.dumps(saved))
  with pytest.raises(UserError, match="config.loss.name='least_squares', but this sweep plans"):
    sweep.check_same_config(run)


def test_a_bad_name_in_a_later_cell_fails_before_the_first_run_trains(tiny_config, tmp_path):
  path = tmp_path / "typo_sweep.py"
  path.write_text("from ganjax.sweep import Sweep, choice\n"
                  f"def get_config():\n  return Sweep(base={tiny_config!r}, cells=choice("
                  "'model', {'ok': {}, 'typo': {'model.name': 'dcgna'}}), seeds=(0,))\n")
  with pytest.raises(UserError, match="sweep cell 'model=typo', seed 0: unknown "
                                      "config.model.name 'dcgna'; choose from mlp, dcgan"):
    sweep_runner.run_sweep(str(path), str(tmp_path / "sweep"), progress=False)
  assert not os.path.exists(tmp_path / "sweep")


def _sweep_config(tmp_path, tiny_config) -> str:
  path = tmp_path / "tiny_sweep.py"
  path.write_text(SWEEP.format(base=tiny_config))
  return str(path)


def _sweep(capsys, config, workdir, *extra) -> dict:
  capsys.readouterr()
  assert cli.main(["sweep", "--config", config, "--workdir", str(workdir), "--no-progress",
                   *extra]) == 0
  return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _results(workdir) -> list[dict]:
  with open(os.path.join(workdir, "results.csv")) as f:
    return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS}
            for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def straight_first_cell(tiny_config, tmp_path_factory):
  """The tiny sweep config, and a sweep of its first cell's two runs, straight through."""
  tmp = tmp_path_factory.mktemp("sweep")
  config, straight = _sweep_config(tmp, tiny_config), tmp / "straight"
  assert sweep_runner.run_sweep(config, str(straight), progress=False, max_runs=2) == dict(
      ran=2, skipped=0, failed=0, runs=4, remaining=2, results=str(straight / "results.csv"),
      report=str(straight / "report.md"))
  return config, straight


def test_tiny_sweep_cut_short_and_resumed_equals_a_straight_one(straight_first_cell, tmp_path,
                                                                  capsys, monkeypatch):
  config, straight = straight_first_cell
  resumed = tmp_path / "resumed"

  # Cut short: one run finished (--max-runs 1), the next one preempted at step 2 of 4.
  first = _sweep(capsys, config, resumed, "--max-runs", "1")
  assert (first["ran"], first["remaining"]) == (1, 3)
  assert len(_results(resumed)) == 1
  scalars = RunWriter.scalars

  def scalars_then_sigterm(writer, step, metrics):
    scalars(writer, step, metrics)
    if step == 2:
      os.kill(os.getpid(), signal.SIGTERM)

  monkeypatch.setattr(RunWriter, "scalars", scalars_then_sigterm)
  preempted = _sweep(capsys, config, resumed)
  monkeypatch.undo()
  assert (preempted["ran"], preempted["remaining"]) == (0, 3)
  runs = sweep.plan(sweep.load(config), config, str(resumed))
  assert run_info(runs[1].workdir, capsys)["step"] == 2

  second = _sweep(capsys, config, resumed)
  assert (second["ran"], second["skipped"], second["remaining"]) == (3, 1, 0)
  assert _sweep(capsys, config, resumed)["skipped"] == 4  # nothing left to do

  rows = _results(resumed)
  assert rows[:2] == _results(straight)
  assert [(r["sample_every"], r["seed"], r["status"]) for r in rows] == [
      ("2", "0", "ok"), ("2", "1", "ok"), ("4", "0", "ok"), ("4", "1", "ok")]
  assert all(np.isfinite(float(r["fid"])) and float(r["g_grad_norm_spread"]) > 0 for r in rows)
  for run in runs[:2]:
    twin = str(straight / os.path.relpath(run.workdir, resumed))
    assert run_info(run.workdir, capsys) == run_info(twin, capsys)

  text = (resumed / "report.md").read_text()
  assert "| ns | 2 | 2/2 |" in text and "| ns | 4 | 2/2 |" in text
  # The second cell against the first, paired by seed; what the runs were trained with.
  assert "## Paired comparisons of fid (lower is better)" in text
  assert "| loss=ns,sample_every=4 | loss=ns,sample_every=2 | 2 | 0 |" in text
  assert f"| jax | {jax.__version__} | 4 |" in text
  for name in ("plots/metrics.png", "plots/losses.png", "plots/grad_norm_spread.png",
               "grids/loss=ns,sample_every=2.png", "grids/loss=ns,sample_every=4.png"):
    assert f"]({name})" in text and (resumed / name).stat().st_size > 0


def test_vmapped_seeds_sweep_matches_the_sequential_one(straight_first_cell, tmp_path, capsys):
  config, sequential = straight_first_cell
  vmapped = tmp_path / "vmapped"
  first = _sweep(capsys, config, vmapped, "--vmap-seeds", "--max-runs", "2")
  assert (first["ran"], first["remaining"]) == (2, 2)  # one cell: both seeds at once
  runs = sweep.plan(sweep.load(config), config, str(vmapped))
  for run in runs[:2]:
    twin = str(sequential / os.path.relpath(run.workdir, vmapped))
    _, together = saved_run.load_run(run.workdir)
    _, alone = saved_run.load_run(twin)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4),
                 together, alone)
  rows = {(r["sample_every"], r["seed"]): r for r in _results(vmapped)}
  for r in _results(sequential):
    np.testing.assert_allclose(float(rows[r["sample_every"], r["seed"]]["fid"]), float(r["fid"]),
                               rtol=1e-2)
  # Vmapped seeds share one wall time: reported once per cell, not split into a fake interval.
  with open(vmapped / "results.csv") as f:
    together = list(csv.DictReader(f))
  assert len(together) == 2 and {r["timed"] for r in together} == {"cell"}
  assert len({r["train_seconds"] for r in together}) == 1
  assert " (cell) |" in open(vmapped / "report.md").read()
  # A workdir begun one way is not continued the other way.
  assert cli.main(["sweep", "--config", config, "--workdir", str(vmapped), "--no-progress"]) == 2
  assert "was trained with --vmap-seeds" in capsys.readouterr().err
  assert cli.main(["sweep", "--config", config, "--workdir", str(sequential), "--no-progress",
                   "--vmap-seeds"]) == 2
  assert "was trained one seed at a time" in capsys.readouterr().err
  second = _sweep(capsys, config, vmapped, "--vmap-seeds")
  assert (second["ran"], second["skipped"], second["remaining"]) == (2, 2, 0)


def test_a_diverged_run_is_recorded_as_failed_and_the_sweep_goes_on(tiny_config, tmp_path,
                                                                      capsys, nan_steps):
  """Seed 1's batches are NaN from step 2 on, so both its runs stop with ``Diverged``. The
  sweep must write each one's reason to failed.json, finish and evaluate seed 0's runs, list
  the failures in results.csv and report.md, and not retry them when run again."""
  nan_steps(range(1, 4), every_time=True, seed=1)
  config, workdir = _sweep_config(tmp_path, tiny_config), tmp_path / "sweep"
  stop_at_once = ("--config.nonfinite.max_consecutive=1", "--config.nonfinite.action=stop")
  summary = _sweep(capsys, config, workdir, *stop_at_once)
  assert (summary["ran"], summary["failed"], summary["remaining"]) == (4, 2, 0)
  runs = sweep.plan(sweep.load(config), config, str(workdir))
  for run in runs:
    failed = os.path.join(run.workdir, sweep.FAILED_FILE)
    assert os.path.exists(failed) == (run.seed == 1)
    if run.seed == 1:
      reason = json.load(open(failed))
      assert reason["seed"] == 1
      assert reason["reason"].startswith("training diverged: 1 steps in a row up to step 2")
  rows = _results(workdir)
  assert [(r["seed"], r["status"]) for r in rows] == [("0", "ok"), ("1", "failed")] * 2
  assert all(np.isfinite(float(r["fid"])) == (r["status"] == "ok") for r in rows)
  assert "failed (diverged): 2" in (workdir / "report.md").read_text()
  again = _sweep(capsys, config, workdir, *stop_at_once)
  assert (again["ran"], again["skipped"]) == (0, 4)


def test_an_interval_is_clipped_to_the_metric_range():
  # precision over 3 seeds: 0.9, 0.2, 0.5 → 0.533 ± 0.87 would reach −0.34 and 1.4.
  raw = stats.mean_ci([0.9, 0.2, 0.5])
  bounded = stats.mean_ci([0.9, 0.2, 0.5], bounds=comparisons.METRIC_BOUNDS["precision"])
  assert raw.mean - raw.half_width < 0 and raw.mean + raw.half_width > 1
  assert bounded.interval == (0.0, 1.0) and str(bounded) == "0.5333 [0, 1]"
  inside = stats.mean_ci([0.5, 0.52, 0.54], bounds=(0.0, 1.0))
  assert str(inside) == str(stats.mean_ci([0.5, 0.52, 0.54])) == "0.52 ± 0.05"


SEARCH = """
from ganjax.search import integers, random_search
from ganjax.sweep import Sweep, choice, product

def get_config():
  return Sweep(
      base={base!r},
      cells=product(choice("loss", {{"ns": {{"loss.name": "non_saturating"}}}}),
                    random_search(2, seed=5, every=integers(2, 4, "sample_every"))),
      seeds=(0,), search="setting",
      settings={{"total_steps": 4, "log_every": 2, "ckpt_every": 4, "parallel.num_devices": 1,
                 "eval_every": 2, "eval_num_samples": 24}},
      metrics=("fid",), eval_num_samples=24, title="tiny search")
"""


def test_a_random_search_sweep_reports_each_setting_and_the_expected_best(tiny_config,
                                                                          tmp_path, capsys):
  path = tmp_path / "search.py"
  path.write_text(SEARCH.format(base=tiny_config))
  workdir = tmp_path / "search"
  assert _sweep(capsys, str(path), workdir)["ran"] == 2
  study = sweep.load(str(path))
  rows = _results(workdir)
  assert [(r["setting"], int(r["every"])) for r in rows] == [
      (str(c.factors["setting"]), c.drawn["every"]) for c in study.cells]
  fids = sorted(float(r["fid"]) for r in rows)
  text = (workdir / "report.md").read_text()
  assert "## Random search: fid over each method's settings" in text
  assert f"| loss=ns | 2 | 0 | {np.mean(fids):.4g} | {fids[0]:.4g} |" in text
  assert "Paired comparisons" not in text
  assert (workdir / "plots" / "search.png").stat().st_size > 0
  # evaluated at steps 2 and 4 during training: the curves' table and plot
  assert "## fid during training" in text and "| loss=ns,setting=0 | 1 |" in text
  assert (workdir / "plots" / "eval_curves.png").stat().st_size > 0
