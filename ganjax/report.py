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

from ganjax import comparisons, curves, provenance, stats
from ganjax.comparisons import METRIC_BOUNDS
from ganjax.logging import pyplot, read_metrics
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


def _train_seconds(rows: list[dict], per_cell: bool) -> stats.Summary:
  """Per run over seeds; a vmapped cell's seeds share one wall time, reported once."""
  values = sorted({r["train_seconds"] for r in rows}) if per_cell else [
      r["train_seconds"] for r in rows]
  return stats.mean_ci(values, bounds=(0.0, np.inf))


def cell_summaries(sweep: Sweep, rows: list[dict]) -> list[dict]:
  """Per cell: its factors, run counts, and a ``stats.Summary`` of each metric."""
  out = []
  for cell in sweep.cells:
    mine = [r for r in rows if cell.matches(r)]
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


def plot_metrics(path: str, sweep: Sweep, summaries: list[dict]) -> None:
  """Each metric against the x factor, mean ± 95 % CI, one line per other-factor setting."""
  plt = pyplot()
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
  plt, titles = pyplot(), titles or {}
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
  plots, search_plot, curve_plot = [], None, None
  if rows and sweep.search and comparisons.plot_search(
      os.path.join(workdir, "plots", "search.png"), sweep, rows):
    search_plot = "plots/search.png"
  found = curves.collect(sweep, finished)
  if curves.plot(os.path.join(workdir, "plots", "eval_curves.png"), sweep, found):
    curve_plot = "plots/eval_curves.png"
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
                            search_plot, curves.markdown(sweep, found, curve_plot))
                   + "\n".join(["", *provenance.markdown(r.workdir for r in runs)]))


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
             search_plot: str | None = None, curve_lines: list[str] = ()) -> str:
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
  lines += (comparisons.search_markdown(sweep, rows, search_plot) if sweep.search
            else comparisons.paired_markdown(sweep, rows))
  lines += list(curve_lines)
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
