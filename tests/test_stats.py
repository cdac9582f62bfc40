"""Paired differences, Holm's correction and the report's paired comparisons, against scipy and
hand-computed numbers."""

import itertools
import json

import numpy as np
import pytest
from scipy import stats as scipy_stats

from ganjax import comparisons, curves, report, search, stats
from ganjax.sweep import Sweep, axis, choice, product


def test_holm_known_numbers():
  # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.06
  np.testing.assert_allclose(stats.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
  # docs/findings.md, study 4b: Welch's p 0.036 (FID) and 0.032 (recall) become 0.064 each
  np.testing.assert_allclose(stats.holm([0.036, 0.032]), [0.064, 0.064])
  adjusted = stats.holm([0.2, np.nan, 0.9])  # a NaN is not a comparison: m = 2
  np.testing.assert_allclose(adjusted[[0, 2]], [0.4, 0.9])
  assert np.isnan(adjusted[1])


def test_holm_equals_its_definition_on_random_p_values():
  """p̃₍ᵢ₎ = max_{j ≤ i} min(1, (m − j + 1) p₍ⱼ₎), computed the slow way."""
  rng = np.random.default_rng(3)
  for m in (1, 2, 5, 9):
    p = rng.uniform(0, 0.3, size=m)
    order = np.argsort(p)
    expected = np.empty(m)
    for i, index in enumerate(order):
      expected[index] = max(min(1.0, (m - j) * p[order[j]]) for j in range(i + 1))
    np.testing.assert_allclose(stats.holm(p), expected)


def test_paired_difference_equals_scipy():
  rng = np.random.default_rng(0)
  a = rng.normal(10.0, 2.0, size=6)
  b = a + rng.normal(1.0, 0.5, size=6)
  d = stats.paired_difference(a, b)
  assert d.n == 6 and d.mean == pytest.approx(np.mean(b - a))
  assert d.p == pytest.approx(scipy_stats.ttest_rel(b, a).pvalue)
  interval = scipy_stats.bootstrap((b - a,), np.mean, n_resamples=9999, method="percentile",
                                   random_state=np.random.default_rng(0)).confidence_interval
  assert (d.low, d.high) == pytest.approx((interval.low, interval.high))
  assert stats.paired_difference(a, b) == d  # seeded: a report is reproducible


def test_paired_bootstrap_approaches_the_t_interval_with_many_pairs():
  rng = np.random.default_rng(1)
  a = rng.normal(size=400)
  b = a + rng.normal(0.3, 1.0, size=400)
  d = stats.paired_difference(a, b)
  t = stats.mean_ci(b - a)
  assert d.low == pytest.approx(t.mean - t.half_width, abs=0.1 * t.half_width)
  assert d.high == pytest.approx(t.mean + t.half_width, abs=0.1 * t.half_width)
  assert d.p < 1e-4


def test_paired_difference_edge_cases():
  one = stats.paired_difference([1.0], [3.0])
  assert (one.mean, one.low, one.high, one.n) == (2.0, 2.0, 2.0, 1) and np.isnan(one.p)
  same = stats.paired_difference([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])  # every difference is 1
  assert (same.mean, same.low, same.high) == (1.0, 1.0, 1.0) and np.isnan(same.p)
  dropped = stats.paired_difference([1.0, np.nan, 2.0, 5.0], [2.0, 0.0, np.inf, 8.0])
  assert (dropped.n, dropped.mean) == (2, 2.0)
  with pytest.raises(ValueError, match="differ in number"):
    stats.paired_difference([1.0, 2.0], [1.0])


def _rows(table: dict) -> list[dict]:
  """results.csv-like rows from {(optimizer, lr): [fid per seed, None = diverged]}."""
  rows = []
  for (optimizer, lr), fids in table.items():
    for seed, fid in enumerate(fids):
      rows.append(dict(optimizer=optimizer, lr=lr, seed=seed,
                       status="failed" if fid is None else "ok",
                       fid=float("nan") if fid is None else fid))
  return rows


def test_comparisons_pair_by_seed_count_divergence_at_the_worst_score_and_apply_holm():
  sweep = Sweep(base="x.py", cells=product(choice("optimizer", {"adam": {}, "cg": {}}),
                                           axis("lr", [1, 4], "optimizer.g.learning_rate")),
                seeds=(0, 1, 2), metrics=("precision", "fid"), primary="fid",
                baseline={"optimizer": "adam"})
  rows = _rows({("adam", 1): [100.0, 110.0, 120.0], ("adam", 4): [90.0, 95.0, 97.0],
                ("cg", 1): [98.0, 104.0, 119.0], ("cg", 4): [None, 80.0, 85.0]})
  found = comparisons.paired(sweep, rows)
  assert [(c["cell"].name, c["reference"].name) for c in found] == [
      ("optimizer=cg,lr=1", "optimizer=adam,lr=1"), ("optimizer=cg,lr=4", "optimizer=adam,lr=4")]
  first, second = found
  assert first["failed"] == 0 and first["difference"].mean == pytest.approx(-3.0)
  assert first["difference"].p == pytest.approx(
      scipy_stats.ttest_rel([98, 104, 119], [100, 110, 120]).pvalue)
  # cg's diverged seed 0 at lr 4 scores the study's worst FID, 120 (adam, lr 1, seed 2)
  assert comparisons.worst_score("fid", rows) == 120.0
  assert second["failed"] == 1
  assert second["difference"].mean == pytest.approx(np.mean([120 - 90, 80 - 95, 85 - 97]))
  np.testing.assert_allclose([c["holm_p"] for c in found],
                             stats.holm([c["difference"].p for c in found]))
  text = "\n".join(comparisons.paired_markdown(sweep, rows))
  assert "## Paired comparisons of fid (lower is better)" in text
  assert "study's worst fid, 120" in text and "| optimizer=cg,lr=4 | optimizer=adam,lr=4 | 3 | 1 |" in text


def test_results_csv_reads_back_to_the_same_comparisons(tmp_path):
  sweep = Sweep(base="x.py", cells=product(choice("optimizer", {"adam": {}, "cg": {}}),
                                           axis("lr", [0.25, 4.0], "optimizer.g.learning_rate")),
                seeds=(0, 1, 2), metrics=("fid",), baseline={"optimizer": "adam"})
  rows = _rows({("adam", 0.25): [100.0, 110.0, 120.0], ("adam", 4.0): [90.0, 95.0, 97.0],
                ("cg", 0.25): [98.0, 104.0, 119.0], ("cg", 4.0): [None, 80.0, 85.0]})
  report.write_csv(str(tmp_path / "results.csv"), rows)
  back = report.read_csv(str(tmp_path / "results.csv"), sweep)
  assert [(r["optimizer"], r["lr"], r["seed"], r["status"]) for r in back] == [
      (r["optimizer"], r["lr"], r["seed"], r["status"]) for r in rows]
  assert comparisons.paired_markdown(sweep, back) == comparisons.paired_markdown(sweep, rows)


def test_without_a_baseline_every_cell_is_compared_with_the_first():
  sweep = Sweep(base="x.py", cells=axis("lr", [1, 2, 4], "optimizer.g.learning_rate"),
                seeds=(0, 1), metrics=("test_accuracy",))
  rows = [dict(lr=lr, seed=s, status="ok", test_accuracy=0.5 + 0.1 * i + 0.01 * s)
          for i, lr in enumerate((1, 2, 4)) for s in (0, 1)]
  found = comparisons.paired(sweep, rows)
  assert [c["reference"].name for c in found] == ["lr=1", "lr=1"]
  assert [c["difference"].mean for c in found] == pytest.approx([0.1, 0.2])
  assert comparisons.worst_score("test_accuracy", rows) == pytest.approx(0.5)  # higher is better
  assert np.isnan(comparisons.worst_score("sharpness_fake", rows))  # no direction


@pytest.mark.parametrize("primary, baseline, search, message", [
    ("kid", None, None, "primary metric 'kid' is not among"),
    (None, {"optimizer": "sgd"}, None, "no cell has the baseline"),
    (None, {"momentum": 0.9}, None, "unknown factors"),
    (None, None, "setting", "search factor 'setting' is not a factor of every cell"),
])
def test_a_bad_primary_baseline_or_search_is_refused(tmp_path, primary, baseline, search,
                                                     message):
  from ganjax import sweep as sweep_lib
  from ganjax.errors import UserError
  path = tmp_path / "s.py"
  path.write_text("from ganjax.sweep import Sweep, choice\n"
                  "def get_config():\n"
                  "  return Sweep(base='b.py', cells=choice('optimizer', {'adam': {}, 'cg': {}}),"
                  f" metrics=('fid',), primary={primary!r}, baseline={baseline!r},"
                  f" search={search!r})\n")
  with pytest.raises(UserError, match=message):
    sweep_lib.load(str(path))



def test_expected_best_equals_enumerating_every_subset():
  scores = [5.0, 1.0, 7.0, 3.0, 9.0, 2.0]
  for budget in range(1, 7):
    subsets = list(itertools.combinations(scores, budget))
    assert search.expected_best(scores, budget) == pytest.approx(
        np.mean([min(s) for s in subsets]))
    assert search.expected_best(scores, budget, lower_is_better=False) == pytest.approx(
        np.mean([max(s) for s in subsets]))
  assert search.expected_best(scores, 1) == pytest.approx(np.mean(scores))
  assert search.expected_best(scores, 6) == 1.0
  with pytest.raises(ValueError, match="budget"):
    search.expected_best(scores, 7)


def test_random_search_draws_reproducible_settings_within_their_ranges():
  space = dict(lr=search.log_uniform(1e-5, 1e-2, "optimizer.g.learning_rate",
                                     "optimizer.d.learning_rate"),
               b1=search.uniform(0.0, 0.9, "optimizer.g.b1"),
               n_critic=search.integers(1, 5, "n_critic"),
               loss=search.one_of(["hinge", "non_saturating"], "loss.name"))
  cells = search.random_search(400, seed=3, **space)
  assert cells == search.random_search(400, seed=3, **space)
  assert cells != search.random_search(400, seed=4, **space)
  assert [c.factors for c in cells[:2]] == [{"setting": 0}, {"setting": 1}]
  lr = np.array([c.drawn["lr"] for c in cells])
  assert lr.min() >= 1e-5 and lr.max() <= 1e-2
  # log-uniform: each decade holds about a third of the draws
  assert np.histogram(np.log10(lr), bins=[-5, -4, -3, -2])[0] == pytest.approx([133] * 3, abs=35)
  assert {c.drawn["n_critic"] for c in cells} == {1, 2, 3, 4, 5}
  assert {c.drawn["loss"] for c in cells} == {"hinge", "non_saturating"}
  first = cells[0]
  assert first.overrides == {"optimizer.g.learning_rate": first.drawn["lr"],
                             "optimizer.d.learning_rate": first.drawn["lr"],
                             "optimizer.g.b1": first.drawn["b1"],
                             "n_critic": first.drawn["n_critic"], "loss.name": first.drawn["loss"]}
  assert first.drawn["lr"] == float(f"{first.drawn['lr']:.3g}")  # rounded to 3 digits
  assert product(choice("optimizer", {"adam": {}}), cells[:1])[0].drawn == first.drawn
  with pytest.raises(ValueError, match="0 < low < high"):
    search.log_uniform(0.0, 1.0, "optimizer.g.learning_rate")
  with pytest.raises(ValueError, match="sets no config key"):
    search.uniform(0.0, 1.0)


def test_search_report_scores_each_method_settings_with_failures_at_the_worst():
  cells = (product(choice("optimizer", {"adam": {}}),
                   search.random_search(3, lr=search.log_uniform(1e-4, 1e-3, "x")))
           + product(choice("optimizer", {"cg": {}}),
                     search.random_search(3, seed=1, lr=search.log_uniform(1e-3, 1e-1, "x"))))
  sweep = Sweep(base="x.py", cells=cells, seeds=(0, 1), metrics=("fid",), search="setting")
  fids = {("adam", 0): [10, 20], ("adam", 1): [30, 30], ("adam", 2): [50, 70],
          ("cg", 0): [None, 40], ("cg", 1): [25, 35], ("cg", 2): [90, 80]}
  rows = [dict(optimizer=o, setting=i, seed=s, status="failed" if f is None else "ok",
               fid=np.nan if f is None else float(f))
          for (o, i), values in fids.items() for s, f in enumerate(values)]
  groups = comparisons.search_scores(sweep, rows)
  assert [score for _, score, _ in groups["optimizer=adam"]] == [15.0, 30.0, 60.0]
  # cg's failed seed of setting 0 counts at the worst FID, 90
  assert [score for _, score, _ in groups["optimizer=cg"]] == [65.0, 30.0, 85.0]
  text = "\n".join(comparisons.search_markdown(sweep, rows, None))
  adam_best = cells[0].drawn["lr"]
  assert f"| optimizer=adam | 3 | 0 | 30 | 15 | lr={adam_best:g} | 35 / 20 / 15 |" in text
  assert "| optimizer=cg | 3 | 1 | 65 |" in text


def _write_records(workdir, records):
  workdir.mkdir(parents=True)
  (workdir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_eval_curves_final_best_and_value_at_fixed_training_times(tmp_path):
  """Two seeds logged every 10 steps and evaluated every 20: seed 0 at 10 s per 10 steps,
  seed 1 at 20 s; the shortest run's evaluated time is 40 s (seed 0's step 40)."""
  for seed, pace, fids in ((0, 10.0, [80.0, 60.0]), (1, 20.0, [90.0, 95.0])):
    records = [{"step": s, "d_loss": 1.0, "wall_seconds": pace * s / 10} for s in (10, 20, 30, 40)]
    records += [{"step": 20, "eval_fid": fids[0]}, {"step": 40, "eval_fid": fids[1]}]
    _write_records(tmp_path / f"seed_{seed}", records)
  curve = curves.eval_curve(str(tmp_path / "seed_1"), "fid")
  np.testing.assert_array_equal(curve, [[20, 40.0, 90.0], [40, 80.0, 95.0]])
  sweep = Sweep(base="x.py", cells=choice("opt", {"adam": {}}), seeds=(0, 1), metrics=("fid",))
  runs = [type("Run", (), {"workdir": str(tmp_path / f"seed_{s}")}) for s in (0, 1)]
  found = curves.collect(sweep, {"opt=adam": runs})
  text = "\n".join(curves.markdown(sweep, found, None))
  # final 60, 95; best 60, 90; at 10 s neither has evaluated; at 20 s seed 0 (80) only; at
  # 40 s: 60 and 90
  assert "| cell | seeds | final | best | at 10 s | at 20 s | at 40 s |" in text
  final, best = stats.mean_ci([60.0, 95.0], bounds=(0, np.inf)), stats.mean_ci([60.0, 90.0],
                                                                                bounds=(0, np.inf))
  at_40 = stats.mean_ci([60.0, 90.0], bounds=(0, np.inf))
  assert f"| opt=adam | 2 | {final} | {best} | — | 80 | {at_40} |" in text
  assert curves.plot(str(tmp_path / "curves.png"), sweep, found)
  assert (tmp_path / "curves.png").stat().st_size > 0
  assert curves.collect(sweep, {}) == {} and curves.markdown(sweep, {}, None) == []


STUDIES_WITH_RESULTS = ("blur", "cg_vs_adam", "conditioning", "mlp_vs_dcgan",
                        "orthogonal_gradients", "orthogonal_gradients_balanced", "supervision",
                        "supervision_salimans", "supervision_salimans_mnist")


@pytest.mark.parametrize("study", STUDIES_WITH_RESULTS)
def test_committed_reports_paired_tables_recompute_from_their_results(study):
  """docs/findings.md quotes these tables: each must equal what its results.csv gives."""
  import os
  from ganjax import sweep as sweep_lib
  root = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
  config = sweep_lib.load(os.path.join(root, "experiments", "ablations", f"{study}.py"))
  results = os.path.join(root, "docs", "results", study)
  table = comparisons.paired_markdown(config, report.read_csv(f"{results}/results.csv", config))
  text = open(f"{results}/report.md").read()
  rows = [line for line in table if line.startswith("| ") and "reference" not in line]
  assert rows and all(row in text for row in rows)
