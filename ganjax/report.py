"""A sweep's results: ``results.csv`` (one row per run), ``report.md`` (per-cell mean ± 95 %
t-interval over seeds), plots and sample grids. Reads run directories; trains nothing.

Derived per-run numbers, from the run's ``metrics.jsonl``:
  * ``g_grad_norm_spread`` / ``d_grad_norm_spread``: mean over logged steps of
    log10(max_l ‖∇_l‖ / min_l ‖∇_l‖) across a network's top-level layers l (needs
    ``config.log_layer_norms``): 0 when every layer's gradient has the same norm, 2 when the
    largest is 100× the smallest — the vanishing/exploding-gradient symptom.
  * ``test_accuracy``: the last logged one (semi-supervised runs).
  * ``images_per_s``: the median over logged intervals; ``train_seconds``: wall time of the
    ``ganjax train`` calls (compilation included), summed over every segment of the run, in
    or out of ``ganjax sweep`` (``timed`` = ``cell``: vmapped seeds' shared wall time).
  * ``final_lr_scale``: 1 without rollbacks, ``nonfinite.lr_factor``ʳ after r rollbacks of
    the non-finite guard; ``final_rejected_steps``: steps it rejected (stability).
"""

import csv
import io
import os
import shutil

import numpy as np

from ganjax import provenance, search, stats
from ganjax.logging import read_metrics
from ganjax.sweep import EVAL_FILE, FAILED_FILE, Sweep, describe
from ganjax.workdir import TIMING_FILE, read_json, write_atomically

EVAL_COLUMNS = ("fid", "kid", "precision", "recall", "density", "coverage", "classifier_score",
                "classes_generated", "class_kl", "sharpness_fake", "sharpness_real")
CURVE_KEYS = ("d_loss", "g_loss")
GRID_COLUMNS = 4


def grad_norm_spread(records: list[dict], prefix: str) -> float:
  """Mean over records of log10(max/min) of the per-layer norms logged under ``prefix``."""
  spreads = []
  for r in records:
    norms = np.array([v for k, v in r.items() if k.startswith(prefix)], np.float64)
    if len(norms) > 1 and np.all(norms > 0) and np.all(np.isfinite(norms)):
      spreads.append(np.log10(norms.max() / norms.min()))
  return float(np.mean(spreads)) if spreads else float("nan")


def run_row(run, sweep: Sweep) -> dict | None:
  """One results.csv row for a finished or failed run, else None."""
  failed = os.path.exists(os.path.join(run.workdir, FAILED_FILE))
  result = read_json(os.path.join(run.workdir, EVAL_FILE))
  if not failed and (result is None or result["step"] != run.config.total_steps):
    return None
  records = read_metrics(run.workdir)
  timed, timing = "run", read_json(os.path.join(run.workdir, TIMING_FILE))
  if timing is None:  # vmapped seeds: one wall time for the whole cell
    timed, timing = "cell", read_json(os.path.join(os.path.dirname(run.workdir), TIMING_FILE))
  row = dict(run.cell.factors, **run.cell.drawn, seed=run.seed,
             status="failed" if failed else "ok",
             steps=run.config.total_steps, batch_size=run.config.batch_size,
             train_seconds=(timing or {"train_seconds": float("nan")})["train_seconds"],
             timed=timed)
  for key in EVAL_COLUMNS:
    row[key] = float("nan") if failed else result.get(key, float("nan"))
  row["eval_seconds"] = float("nan") if failed else result.get("seconds", float("nan"))
  accuracy = [r["test_accuracy"] for r in records if "test_accuracy" in r]
  row["test_accuracy"] = accuracy[-1] if accuracy and not failed else float("nan")
  speeds = [r["images_per_s"] for r in records if "images_per_s" in r]
  row["images_per_s"] = float(np.median(speeds)) if speeds else float("nan")
  row["g_grad_norm_spread"] = grad_norm_spread(records, "g_grad_norm/")
  row["d_grad_norm_spread"] = grad_norm_spread(records, "d_grad_norm/")
  for key in (*CURVE_KEYS, "lr_scale", "rejected_steps"):
    last = [r[key] for r in records if key in r]
    row[f"final_{key}"] = last[-1] if last else float("nan")
  row["workdir"] = os.path.join("runs", run.cell.name, f"seed_{run.seed}")
  return row


def collect(runs, sweep: Sweep) -> list[dict]:
  """The rows of every finished or failed run, in plan order."""
  return [row for row in (run_row(r, sweep) for r in runs) if row is not None]


def _provenance(run) -> list[dict]:
  """The run's provenance entries (a vmapped cell's, for its seeds)."""
  return (provenance.read(run.workdir)
          or provenance.read(os.path.dirname(run.workdir)))


def provenance_markdown(runs) -> list[str]:
  """Markdown: what the runs were trained with; a setting that differs between runs or
  between segments of one run lists each value with its number of runs."""
  values = {}
  for run in runs:
    for entry in _provenance(run):
      for key, value in provenance.describe(entry).items():
        values.setdefault(key, {}).setdefault(value, set()).add(run.workdir)
  if not values:
    return []
  lines = ["## Provenance", "", "What the runs were trained with (`provenance.json` in each run "
           "directory, one entry per `ganjax train` call).", "", "| | value | runs |",
           "|---|---|---|"]
  for key, seen in values.items():
    for value, workdirs in seen.items():
      note = f"{len(workdirs)}" + ("" if len(seen) == 1 else " (differs)")
      lines.append(f"| {key} | {value} | {note} |")
  return lines + [""]


def read_csv(path: str, sweep: Sweep) -> list[dict]:
  """``write_csv``'s rows read back, with factor values typed as the sweep's cells give them
  (``0.25``, not ``"0.25"``) and every other numeric column as a number."""
  values = {}
  for cell in sweep.cells:
    for name, value in cell.factors.items():
      values.setdefault(name, {})[str(value)] = value
  with open(path, newline="") as f:
    rows = list(csv.DictReader(f))
  for row in rows:
    for key, text in row.items():
      if key in values:
        row[key] = values[key].get(text, text)
      elif key not in ("status", "timed", "workdir"):
        try:
          row[key] = int(text) if key in ("seed", "steps", "batch_size") else float(text)
        except ValueError:
          pass
  return rows


def write_csv(path: str, rows: list[dict]) -> None:
  columns = list(dict.fromkeys(k for row in rows for k in row))
  buffer = io.StringIO()
  writer = csv.DictWriter(buffer, columns, lineterminator="\n")
  writer.writeheader()
  writer.writerows(rows)
  write_atomically(path, buffer.getvalue())


# Metrics with a range: their intervals are clipped to it (a t-interval over 3 seeds of a
# precision can reach past 1). KID is unbiased and can be negative; density exceeds 1.
METRIC_BOUNDS = {**{m: (0.0, 1.0) for m in ("precision", "recall", "coverage", "test_accuracy")},
                 **{m: (0.0, np.inf) for m in ("fid", "sharpness_fake", "sharpness_real",
                                               "images_per_s", "density")}}


def _train_seconds(rows: list[dict], per_cell: bool) -> stats.Summary:
  """Per run over seeds; a vmapped cell's seeds share one wall time, reported once."""
  values = sorted({r["train_seconds"] for r in rows}) if per_cell else [
      r["train_seconds"] for r in rows]
  return stats.mean_ci(values, bounds=(0.0, np.inf))


def cell_summaries(sweep: Sweep, rows: list[dict]) -> list[dict]:
  """Per cell: its factors, run counts, and a ``stats.Summary`` of each metric."""
  out = []
  for cell in sweep.cells:
    mine = [r for r in rows if all(r.get(k) == v for k, v in cell.factors.items())]
    ok = [r for r in mine if r["status"] == "ok"]
    per_cell = any(r["timed"] == "cell" for r in mine)
    summary = dict(cell=cell, runs=len(mine), ok=len(ok),
                   steps="/".join(str(n) for n in sorted({r["steps"] for r in mine})),
                   train_seconds=_train_seconds(mine, per_cell),
                   timed="cell" if per_cell else "run",
                   rollbacks=rollback_note(mine))
    for metric in sweep.metrics:
      summary[metric] = stats.mean_ci([r.get(metric, float("nan")) for r in ok],
                                      bounds=METRIC_BOUNDS.get(metric, (-np.inf, np.inf)))
    out.append(summary)
  return out


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


def comparisons(sweep: Sweep, rows: list[dict]) -> list[dict]:
  """Each cell against its reference (``Sweep.baseline``) on the primary metric, paired by
  seed: ``stats.paired_difference`` of cell − reference over the seeds both ran, a failed
  run counted at ``worst_score``; ``holm`` p's across all of the study's comparisons."""
  metric = sweep.primary_metric
  worst = worst_score(metric, rows)

  def score(cell, seed):
    row = next((r for r in rows if r["seed"] == seed
                and all(r.get(k) == v for k, v in cell.factors.items())), None)
    if row is None:
      return None, False
    return (worst if row["status"] == "failed" else row.get(metric, np.nan)), \
        row["status"] == "failed"

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


def comparisons_markdown(sweep: Sweep, rows: list[dict]) -> list[str]:
  """Markdown: the table of ``comparisons``."""
  found = comparisons(sweep, rows)
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
    mine = [r for r in rows if all(r.get(k) == v for k, v in cell.factors.items())]
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
  plt, metric = _pyplot(), sweep.primary_metric
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


def rollback_note(rows: list[dict]) -> str:
  """``×s (n/N)``: the smallest final learning-rate factor of a cell's runs and how many
  rolled back (each non-finite rollback multiplies both rates by ``nonfinite.lr_factor``),
  or ``—`` when none did. A rolled-back run trained at a lower rate than its cell names."""
  scales = [r.get("final_lr_scale", float("nan")) for r in rows]
  lowered = [s for s in scales if np.isfinite(s) and s < 1.0]
  return f"×{min(lowered):g} ({len(lowered)}/{len(rows)})" if lowered else "—"


def x_factor(sweep: Sweep) -> str:
  """The factor the plots put on the x axis."""
  if sweep.x:
    return sweep.x
  names = list(dict.fromkeys(k for c in sweep.cells for k in c.factors))
  numeric = [n for n in names if all(isinstance(c.factors.get(n), (int, float))
                                     and not isinstance(c.factors.get(n), bool)
                                     for c in sweep.cells)]
  return (numeric or names)[-1]


def x_scale(values) -> str:
  """How plots place a factor's values: ``"categories"`` (in order, evenly), ``"log"`` or
  ``"linear"``. Numbers spanning a decade or more go on a log axis; when one of them is ≤ 0
  (such as 0 meaning "all") they cannot, and become categories rather than crowd at 0."""
  if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
    return "categories"
  positive = [v for v in values if v > 0]
  if len(positive) > 1 and max(positive) / min(positive) >= 10:
    return "log" if len(positive) == len(values) else "categories"
  return "linear"


def _series(summaries: list[dict], x: str) -> dict:
  """Cells grouped by every factor but ``x``: label → [summary, ...]."""
  groups = {}
  for s in summaries:
    others = ", ".join(f"{k}={describe(v)}" for k, v in s["cell"].factors.items() if k != x)
    groups.setdefault(others or "all", []).append(s)
  return groups


def _pyplot():
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  return plt


def plot_metrics(path: str, sweep: Sweep, summaries: list[dict]) -> None:
  """Each metric against the x factor, mean ± 95 % CI, one line per other-factor setting."""
  plt = _pyplot()
  x = x_factor(sweep)
  values = [s["cell"].factors[x] for s in summaries]
  scale = x_scale(values)
  categorical = scale == "categories"
  positions = {v: i for i, v in enumerate(dict.fromkeys(values))}
  fig, axes = plt.subplots(1, len(sweep.metrics), figsize=(5.5 * len(sweep.metrics), 4),
                           squeeze=False, layout="constrained")
  for ax, metric in zip(axes[0], sweep.metrics):
    for i, (label, group) in enumerate(_series(summaries, x).items()):
      xs = [positions[s["cell"].factors[x]] if categorical else s["cell"].factors[x]
            for s in group]
      means = [s[metric].mean for s in group]
      errors = np.array([[0.0, 0.0] if np.isnan(s[metric].half_width) else
                         [s[metric].mean - s[metric].interval[0],
                          s[metric].interval[1] - s[metric].mean] for s in group]).T
      # past the 10 colours of the cycle, another line style and marker tell series apart
      ax.errorbar(xs, means, yerr=errors, marker="os^"[i // 10 % 3], capsize=3, label=label,
                  linestyle=("-", "--", ":")[i // 10 % 3])
    ax.set_xscale("linear" if categorical else scale)
    if categorical:  # after set_xscale, which resets the ticks
      ax.set_xticks(list(positions.values()), [describe(v) for v in positions], rotation=30,
                    ha="right")
    else:  # the swept values themselves, not a log axis's 3×10⁻¹ minor labels
      ax.set_xticks(list(positions), [describe(v) for v in positions])
      ax.minorticks_off()
    ax.set_xlabel(x)
    ax.set_ylabel(f"{metric} (mean ± 95% CI)")
    ax.grid(alpha=0.3)
  handles, labels = axes[0][0].get_legend_handles_labels()
  if len(labels) > 1:
    fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)),
               fontsize=7)
  fig.savefig(path, dpi=110, bbox_inches="tight")
  plt.close(fig)


def _mean_curve(runs, key: str, which=lambda r, k: r.get(k)):
  """Steps and the mean over runs of ``which(record, key)`` at steps every run logged."""
  per_run = []
  for run in runs:
    points = {r["step"]: which(r, key) for r in read_metrics(run.workdir)}
    per_run.append({s: v for s, v in points.items() if v is not None and np.isfinite(v)})
  if not per_run:
    return [], []
  steps = sorted(set.intersection(*(set(p) for p in per_run)))
  return steps, [float(np.mean([p[s] for p in per_run])) for s in steps]


def _spread_of(record: dict, prefix: str):
  value = grad_norm_spread([record], prefix)
  return None if np.isnan(value) else value


def plot_curves(path: str, sweep: Sweep, finished: dict, keys, which=lambda r, k: r.get(k),
                ylabel: str = "", titles: dict | None = None) -> bool:
  """Training curves of ``keys``, one line per cell (mean over its finished seeds)."""
  plt, titles = _pyplot(), titles or {}
  fig, axes = plt.subplots(1, len(keys), figsize=(6 * len(keys), 4), squeeze=False,
                           layout="constrained")
  drawn = False
  for ax, key in zip(axes[0], keys):
    for cell in sweep.cells:
      steps, means = _mean_curve(finished.get(cell.name, []), key, which)
      if steps:
        ax.plot(steps, means, label=cell.name, linewidth=1)
        drawn = True
    ax.set_title(titles.get(key, key))
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel or key)
    ax.grid(alpha=0.3)
  if drawn:
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=6)
    fig.savefig(path, dpi=110, bbox_inches="tight")
  plt.close(fig)
  return drawn


def _final_grid(run_dir: str) -> str | None:
  samples = os.path.join(run_dir, "samples")
  if not os.path.isdir(samples):
    return None
  pngs = sorted(f for f in os.listdir(samples) if f.endswith(".png"))
  return os.path.join(samples, pngs[-1]) if pngs else None


def write(workdir: str, sweep: Sweep, sweep_path: str, rows: list[dict], overrides: dict,
          runs) -> None:
  """``results.csv``, ``report.md``, ``plots/*.png`` and ``grids/<cell>.png`` in ``workdir``."""
  write_csv(os.path.join(workdir, "results.csv"), rows)
  os.makedirs(os.path.join(workdir, "plots"), exist_ok=True)
  summaries = cell_summaries(sweep, rows)
  finished = {}
  for run in runs:
    if any(r["workdir"] == os.path.join("runs", run.cell.name, f"seed_{run.seed}")
           and r["status"] == "ok" for r in rows):
      finished.setdefault(run.cell.name, []).append(run)
  plots, search_plot = [], None
  if rows and sweep.search and plot_search(os.path.join(workdir, "plots", "search.png"), sweep,
                                           rows):
    search_plot = "plots/search.png"
  if rows:
    plot_metrics(os.path.join(workdir, "plots", "metrics.png"), sweep, summaries)
    plots.append(("Metrics against " + x_factor(sweep), "plots/metrics.png"))
    if plot_curves(os.path.join(workdir, "plots", "losses.png"), sweep, finished, CURVE_KEYS):
      plots.append(("Training losses (mean over seeds)", "plots/losses.png"))
    if plot_curves(os.path.join(workdir, "plots", "grad_norm_spread.png"), sweep, finished,
                   ("g_grad_norm/", "d_grad_norm/"), _spread_of,
                   "log10(max/min) per-layer gradient norm",
                   {"g_grad_norm/": "generator", "d_grad_norm/": "discriminator"}):
      plots.append(("Per-layer gradient-norm spread (mean over seeds)",
                    "plots/grad_norm_spread.png"))
  grids = []
  for cell in sweep.cells:
    source = next((_final_grid(r.workdir) for r in finished.get(cell.name, [])[:1]), None)
    if source:
      target = os.path.join("grids", f"{cell.name}.png")
      os.makedirs(os.path.join(workdir, "grids"), exist_ok=True)
      shutil.copyfile(source, os.path.join(workdir, target))
      grids.append((cell.name, target))
  write_atomically(os.path.join(workdir, "report.md"),
                   markdown(sweep, sweep_path, summaries, rows, overrides, plots, grids,
                            search_plot)
                   + "\n".join(["", *provenance_markdown(runs)]))


def across_x(sweep: Sweep, summaries: list[dict]) -> list[str]:
  """Markdown: per series, the spread of the cell means across the x factor's values
  (mean ± sample sd, min–max) — e.g. how much FID moves across a learning-rate grid."""
  x = x_factor(sweep)
  groups = _series(summaries, x)
  if all(len(g) < 2 for g in groups.values()):
    return []
  lines = [f"## Across {x} (spread of the cell means)", "",
           "| series | " + " | ".join(sweep.metrics) + " |",
           "|---|" + "---|" * len(sweep.metrics)]
  for label, group in groups.items():
    cells = []
    for metric in sweep.metrics:
      means = np.array([s[metric].mean for s in group], np.float64)
      means = means[np.isfinite(means)]
      if len(means) < 2:
        cells.append("—")
        continue
      cells.append(f"{means.mean():.4g} ± {means.std(ddof=1):.2g} "
                   f"({means.min():.4g}–{means.max():.4g})")
    lines.append(f"| {label} | " + " | ".join(cells) + " |")
  return lines + [""]


def markdown(sweep: Sweep, sweep_path: str, summaries, rows, overrides, plots, grids,
             search_plot: str | None = None) -> str:
  """The report's text: set-up, per-cell table, plots, grids."""
  factors = list(dict.fromkeys(k for c in sweep.cells for k in (*c.factors, *c.drawn)))
  command = f"ganjax sweep --config {os.path.relpath(sweep_path)} --workdir DIR"
  command += "".join(f" --config.{k}={v}" for k, v in overrides.items())
  steps = sorted({r["steps"] for r in rows})
  batches = sorted({r["batch_size"] for r in rows})
  lines = [f"# {sweep.title or os.path.basename(sweep_path)}", "",
           f"Command: `{command}`  ",
           f"Base experiment: `{sweep.base}`; shared settings: "
           + (", ".join(f"`{k}={v}`" for k, v in sweep.settings.items()) or "none") + "  ",
           f"Seeds: {', '.join(map(str, sweep.seeds))}; budget per run: "
           f"{'/'.join(map(str, steps)) or '?'} steps at batch "
           f"{'/'.join(map(str, batches)) or '?'}; evaluation on {sweep.eval_num_samples} "
           "samples.  ",
           f"Finished runs: {sum(r['status'] == 'ok' for r in rows)}, failed (diverged): "
           f"{sum(r['status'] == 'failed' for r in rows)}, of "
           f"{len(sweep.cells) * len(sweep.seeds)} planned.", "",
           "## Per cell (mean ± 95 % t-interval over seeds; mean [low, high] where the "
           "interval is clipped to the metric's range)", "",
           "| " + " | ".join(factors + ["ok/runs"] + list(sweep.metrics)
                            + ["steps", "train s/run (cell: vmapped seeds together)"]) + " |",
           "|" + "---|" * (len(factors) + len(sweep.metrics) + 3)]
  rolled = any(s["rollbacks"] != "—" for s in summaries)
  if rolled:
    lines[-2] = lines[-2][:-2] + " | lr after rollbacks |"
    lines[-1] += "---|"
  for s in summaries:
    cells = [describe({**s["cell"].factors, **s["cell"].drawn}.get(f, "")) for f in factors]
    cells += [f"{s['ok']}/{s['runs']}"] + [str(s[m]) for m in sweep.metrics]
    timed = " (cell)" if s["timed"] == "cell" else ""
    cells += [s["steps"], f"{s['train_seconds']}{timed}"] + ([s["rollbacks"]] if rolled else [])
    lines.append("| " + " | ".join(cells) + " |")
  lines += ["", "Every run is a row of `results.csv`; its directory is its `workdir` column."]
  if rolled:
    lines += ["\"lr after rollbacks\": runs whose loss went non-finite went back to a checkpoint "
              "with both learning rates lowered (`config.nonfinite`); the smallest final factor "
              "and how many runs of the cell rolled back. Those runs trained at less than the "
              "rate their cell names, from the checkpoint on."]
  lines += [""]
  lines += (search_markdown(sweep, rows, search_plot) if sweep.search
            else comparisons_markdown(sweep, rows))
  lines += across_x(sweep, summaries)
  for title, path in plots:
    lines += [f"## {title}", "", f"![{title}]({path})", ""]
  if grids:
    lines += ["## Samples (first seed, final step)", ""]
    for start in range(0, len(grids), GRID_COLUMNS):
      row = grids[start:start + GRID_COLUMNS]
      lines += ["| " + " | ".join(name for name, _ in row) + " |", "|" + "---|" * len(row),
                "| " + " | ".join(f"![{name}]({path})" for name, path in row) + " |", ""]
  return "\n".join(lines)
