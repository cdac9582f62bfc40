"""Which cell or method is better on a study's primary metric: paired comparisons of each cell
with its reference, Holm-corrected over the study, and a random search's settings per method
(``ganjax.search``). Each metric's range and direction live here; a diverged run counts at the
worst value any run of the study reached."""

import numpy as np

from ganjax import search, stats
from ganjax.logging import pyplot
from ganjax.sweep import Sweep, describe

# Metrics with a range: their intervals are clipped to it (a t-interval over 3 seeds of a
# precision can reach past 1). KID is unbiased and can be negative; density exceeds 1.
METRIC_BOUNDS = {**{m: (0.0, 1.0) for m in ("precision", "recall", "coverage", "test_accuracy")},
                 **{m: (0.0, np.inf) for m in ("fid", "sharpness_fake", "sharpness_real",
                                               "images_per_s", "density")}}

# Which way is better, for the metrics a comparison can count a failed run in: a diverged
# run scores the worst value that any run of the study reached.
LOWER_IS_BETTER = ("fid", "kid", "class_kl")
HIGHER_IS_BETTER = ("precision", "recall", "density", "coverage", "classifier_score",
                    "classes_generated", "test_accuracy", "images_per_s")


def worst_score(metric: str, rows: list[dict]) -> float:
  """The worst finished value of ``metric`` in ``rows``; NaN when its direction is unknown."""
  values = np.array([r.get(metric, np.nan) for r in rows if r["status"] == "ok"], np.float64)
  values = values[np.isfinite(values)]
  if not len(values) or metric not in LOWER_IS_BETTER + HIGHER_IS_BETTER:
    return float("nan")
  return float(values.max() if metric in LOWER_IS_BETTER else values.min())


def paired(sweep: Sweep, rows: list[dict]) -> list[dict]:
  """Each cell against its reference (``Sweep.baseline``) on the primary metric, paired by
  seed: ``stats.paired_difference`` of cell − reference over the seeds both ran, a failed
  run counted at ``worst_score``; ``holm`` p's across all of the study's comparisons."""
  metric = sweep.primary_metric
  worst = worst_score(metric, rows)

  def score(cell, seed):
    """(the seed's score in ``cell``, whether it failed); (None, False) before it ran."""
    row = next((r for r in rows if r["seed"] == seed and cell.matches(r)), None)
    if row is None:
      return None, False
    failed = row["status"] == "failed"
    return (worst if failed else row.get(metric, np.nan)), failed

  out = []
  for cell in sweep.cells:
    reference = sweep.reference(cell)
    if reference is None:
      continue
    pairs, failed = [], 0
    for seed in sweep.seeds:
      (a, a_failed), (b, b_failed) = score(reference, seed), score(cell, seed)
      if a is not None and b is not None:
        pairs.append((a, b))
        failed += a_failed + b_failed
    if pairs:
      a, b = np.array(pairs, np.float64).T
      out.append(dict(cell=cell, reference=reference, failed=failed,
                      difference=stats.paired_difference(a, b)))
  adjusted = stats.holm([c["difference"].p for c in out])
  for c, p in zip(out, adjusted):
    c["holm_p"] = float(p)
  return out


def paired_markdown(sweep: Sweep, rows: list[dict]) -> list[str]:
  """Markdown: the table of ``paired``."""
  found = paired(sweep, rows)
  if not found:
    return []
  metric = sweep.primary_metric
  goal = (" (lower is better)" if metric in LOWER_IS_BETTER else
          " (higher is better)" if metric in HIGHER_IS_BETTER else "")
  lines = [f"## Paired comparisons of {metric}{goal}", "",
           f"Each cell minus its reference, seed by seed over the seeds both ran: mean "
           "difference, 95 % percentile-bootstrap interval, paired t-test p and Holm's p "
           f"adjusted over these {len(found)} comparisons. "
           + (f"A diverged run counts at the study's worst {metric}, "
              f"{worst_score(metric, rows):.4g}. " if metric in LOWER_IS_BETTER +
              HIGHER_IS_BETTER else "Pairs with a diverged run are left out. ")
           + "With fewer than about 5 seeds the bootstrap interval is too narrow; read the "
           "p's.", "",
           "| cell | reference | pairs | failed runs | difference [95 % bootstrap] | p | Holm p |",
           "|---|---|---|---|---|---|---|"]
  for c in found:
    d = c["difference"]
    lines.append(f"| {c['cell'].name} | {c['reference'].name} | {d.n} | {c['failed']} | "
                 f"{d.mean:+.4g} [{d.low:+.3g}, {d.high:+.3g}] | {_p(d.p)} | "
                 f"{_p(c['holm_p'])} |")
  return lines + [""]


def search_scores(sweep: Sweep, rows: list[dict]) -> dict:
  """A random search's settings per group of the other factors (per method): label →
  [(cell, score, failed runs)], a setting's score the mean over its seeds of the primary
  metric, a failed run counted at ``worst_score``; settings with no finished run yet are left
  out."""
  metric = sweep.primary_metric
  worst = worst_score(metric, rows)
  groups = {}
  for cell in sweep.cells:
    mine = [r for r in rows if cell.matches(r)]
    values = [worst if r["status"] == "failed" else r.get(metric, np.nan) for r in mine]
    values = [v for v in values if np.isfinite(v)]
    if not values:
      continue
    label = ", ".join(f"{k}={describe(v)}" for k, v in cell.factors.items()
                      if k != sweep.search) or "all"
    failed = sum(r["status"] == "failed" for r in mine)
    groups.setdefault(label, []).append((cell, float(np.mean(values)), failed))
  return groups


def search_markdown(sweep: Sweep, rows: list[dict], plot: str | None) -> list[str]:
  """Markdown: each method's distribution of setting scores and its expected best against
  the number of settings tried (``ganjax.search.expected_best``)."""
  groups = search_scores(sweep, rows)
  if not groups:
    return []
  metric = sweep.primary_metric
  lower = metric not in HIGHER_IS_BETTER
  lines = [f"## Random search: {metric} over each method's settings", "",
           f"A setting's score is its mean {metric} over seeds; a diverged run counts at the "
           f"study's worst, {worst_score(metric, rows):.4g}. Expected best of b: the mean best "
           "score of b settings drawn at random from the k tried (Lucic et al. 2018).", "",
           "| method | settings | failed runs | median | best | best setting | "
           "expected best of 1 / ⌈k/2⌉ / k |", "|---|---|---|---|---|---|---|"]
  for label, settings in groups.items():
    scores = [score for _, score, _ in settings]
    k = len(scores)
    best_cell = (min if lower else max)(settings, key=lambda s: s[1])[0]
    drawn = ", ".join(f"{name}={describe(v)}" for name, v in best_cell.drawn.items())
    budgets = sorted({1, (k + 1) // 2, k})
    expected = " / ".join(f"{search.expected_best(scores, b, lower):.4g}" for b in budgets)
    lines.append(f"| {label} | {k} | {sum(f for _, _, f in settings)} | "
                 f"{np.median(scores):.4g} | {(min if lower else max)(scores):.4g} | "
                 f"{drawn or best_cell.name} | {expected} |")
  if plot:
    lines += ["", f"![Random search]({plot})"]
  return lines + [""]


def plot_search(path: str, sweep: Sweep, rows: list[dict]) -> bool:
  """Per method: its settings' scores (points) and the expected best against the budget."""
  groups = search_scores(sweep, rows)
  if not groups:
    return False
  plt, metric = pyplot(), sweep.primary_metric
  lower = metric not in HIGHER_IS_BETTER
  fig, (spread, budget) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
  for i, (label, settings) in enumerate(groups.items()):
    scores = [score for _, score, _ in settings]
    jitter = np.random.default_rng(i).uniform(-0.15, 0.15, len(scores))
    spread.scatter(i + jitter, scores, s=14)
    budgets = np.arange(1, len(scores) + 1)
    budget.plot(budgets, [search.expected_best(scores, b, lower) for b in budgets],
                marker="o", markersize=3, label=label)
  spread.set_xticks(range(len(groups)), list(groups), rotation=30, ha="right")
  spread.set_ylabel(f"{metric}, mean over seeds, per setting")
  budget.set_xlabel("settings tried")
  budget.set_ylabel(f"expected best {metric}")
  for ax in (spread, budget):
    ax.grid(alpha=0.3)
  budget.legend(fontsize=7)
  fig.savefig(path, dpi=110, bbox_inches="tight")
  plt.close(fig)
  return True


def _p(value: float) -> str:
  return "—" if np.isnan(value) else f"{value:.2g}"
