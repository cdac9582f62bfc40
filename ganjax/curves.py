"""A study's primary metric during training (``config.eval_every``): the final and best
evaluations, the value at fixed training wall times, and curves against step and time with
the seeds' range as a band."""

import numpy as np

from ganjax import stats
from ganjax.comparisons import HIGHER_IS_BETTER, METRIC_BOUNDS
from ganjax.logging import pyplot, read_metrics
from ganjax.sweep import Sweep


def eval_curve(workdir: str, metric: str) -> np.ndarray:
  """``(n, 3)``: step, training wall seconds and value of each evaluation of ``metric`` during
  the run (``eval_<metric>`` records of ``config.eval_every``, or ``metric`` itself, such as
  test_accuracy); the seconds are those of the latest log record at or before the step."""
  records = read_metrics(workdir)
  key = next((k for k in (f"eval_{metric}", metric) if any(k in r for r in records)), None)
  if key is None:
    return np.zeros((0, 3))
  clock = sorted((r["step"], r["wall_seconds"]) for r in records if "wall_seconds" in r)
  points = []
  for r in records:
    if key in r and np.isfinite(r[key]):
      before = [seconds for step, seconds in clock if step <= r["step"]]
      points.append((r["step"], before[-1] if before else np.nan, r[key]))
  return np.array(points, np.float64).reshape(-1, 3)


def _value_at(curve: np.ndarray, seconds: float) -> float:
  """The latest evaluation at or before ``seconds`` of training."""
  done = curve[curve[:, 1] <= seconds]
  return float(done[-1, 2]) if len(done) else float("nan")


def collect(sweep: Sweep, finished: dict) -> dict:
  """Per cell with evaluations during training: each finished seed's ``eval_curve`` of the
  primary metric."""
  out = {}
  for cell in sweep.cells:
    found = [eval_curve(run.workdir, sweep.primary_metric) for run in finished.get(cell.name, [])]
    found = [c for c in found if len(c)]
    if found:
      out[cell.name] = found
  return out


def markdown(sweep: Sweep, found: dict, plot_path: str | None) -> list[str]:
  """Markdown: per cell, the primary metric's final and best evaluation, and its value at
  fixed training times (¼, ½ and all of the shortest run's evaluated time, so that every run
  has a value at each), mean ± 95 % t-interval over seeds."""
  if not found:
    return []
  metric = sweep.primary_metric
  bounds = METRIC_BOUNDS.get(metric, (-np.inf, np.inf))
  best = np.nanmax if metric in HIGHER_IS_BETTER else np.nanmin
  horizon = min(float(np.nanmax(c[:, 1])) for runs in found.values() for c in runs)
  times = [horizon / 4, horizon / 2, horizon] if np.isfinite(horizon) else []
  lines = [f"## {metric} during training", "",
           f"Each run evaluated every `eval_every` steps: the final and the best evaluation, "
           f"and the latest one at fixed training wall times (compilation and evaluation "
           "included; ½ and ¼ of the shortest run's), mean ± 95 % t-interval over seeds.", "",
           "| cell | seeds | final | best | " + " | ".join(f"at {t:.0f} s" for t in times) + " |",
           "|---|---|---|---|" + "---|" * len(times)]
  for name, runs in found.items():
    cells = [stats.mean_ci([c[-1, 2] for c in runs], bounds=bounds),
             stats.mean_ci([best(c[:, 2]) for c in runs], bounds=bounds)]
    cells += [stats.mean_ci([_value_at(c, t) for c in runs], bounds=bounds) for t in times]
    lines.append(f"| {name} | {len(runs)} | " + " | ".join(map(str, cells)) + " |")
  if plot_path:
    lines += ["", f"![{metric} during training]({plot_path})"]
  return lines + [""]


def plot(path: str, sweep: Sweep, found: dict) -> bool:
  """The primary metric against step and against training seconds: per cell the mean over
  seeds, with a band from the lowest to the highest seed."""
  if not found:
    return False
  plt, metric = pyplot(), sweep.primary_metric
  fig, (by_step, by_time) = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
  for name, runs in found.items():
    steps = sorted(set.intersection(*(set(c[:, 0]) for c in runs)))
    if steps:
      values = np.array([[c[c[:, 0] == s, 2][0] for s in steps] for c in runs])
      line, = by_step.plot(steps, values.mean(0), label=name, linewidth=1)
      by_step.fill_between(steps, values.min(0), values.max(0), alpha=0.2,
                           color=line.get_color())
    end = min(float(np.nanmax(c[:, 1])) for c in runs)
    grid = np.linspace(0.0, end, 50)
    values = np.array([[_value_at(c, t) for t in grid] for c in runs])
    keep = np.all(np.isfinite(values), axis=0)
    if keep.any():
      line, = by_time.plot(grid[keep], values[:, keep].mean(0), label=name, linewidth=1)
      by_time.fill_between(grid[keep], values[:, keep].min(0), values[:, keep].max(0),
                           alpha=0.2, color=line.get_color())
  by_step.set_xlabel("step")
  by_time.set_xlabel("training wall seconds")
  for ax in (by_step, by_time):
    ax.set_ylabel(f"{metric} (mean; band: seeds' range)")
    ax.grid(alpha=0.3)
  handles, labels = by_step.get_legend_handles_labels()
  fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=6)
  fig.savefig(path, dpi=110, bbox_inches="tight")
  plt.close(fig)
  return True
