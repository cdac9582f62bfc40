"""``ganjax sweep``'s spec and plan: every cell of an ablation grid × every seed.

A sweep config (``experiments/ablations/NAME.py``) has ``get_config()`` returning a
:class:`Sweep`: a base experiment, the settings every run shares, the cells (built with
:func:`axis`, :func:`choice` and :func:`product`) and the seeds. ``plan`` gives each run's
config, validated, and its workdir ``DIR/runs/<cell>/seed_<s>``: an ordinary ganjax workdir
that resumes bit for bit. ``--config.KEY=VALUE`` overrides apply to every run; a key the
sweep itself varies cannot be overridden. With ``vmap_seeds`` a cell's consecutive seeds
train together as one ``config.num_seeds`` run in ``DIR/runs/<cell>/`` (``ganjax.seeds``).
``ganjax.sweep_runner`` trains and evaluates the planned runs (skipping finished ones, so a
stopped sweep continues); ``ganjax.report`` aggregates them.
"""

import itertools
import json
import os
import re
from typing import Any, NamedTuple

import ml_collections

from ganjax import config as config_lib
from ganjax.errors import UserError
from ganjax.workdir import read_json

EVAL_FILE, FAILED_FILE = "eval.json", "failed.json"


class Cell(NamedTuple):
  """One point of the grid: ``factors`` name it in tables and plots; ``overrides`` are the
  dotted config keys (or whole groups, as dicts) that it sets; ``drawn``, the values a random
  search drew for it (``ganjax.search``), by label: results.csv columns, not part of its name."""
  factors: dict
  overrides: dict
  drawn: dict = {}

  def matches(self, row: dict) -> bool:
    """Whether a results row (``ganjax.report``) has this cell's factor values."""
    return all(row.get(k) == v for k, v in self.factors.items())

  @property
  def name(self) -> str:
    """A directory name: ``factor=value`` pairs joined by ``,``."""
    text = ",".join(f"{k}={v}" for k, v in self.factors.items()) or "base"
    return re.sub(r"[^A-Za-z0-9._=,+-]", "_", text)


def axis(name: str, values, *keys: str) -> list[Cell]:
  """Cells setting every one of ``keys`` to each value, e.g. both players' learning rates."""
  if not keys:
    raise ValueError(f"axis {name!r} sets no config key")
  return [Cell({name: v}, {k: v for k in keys}) for v in values]


def choice(name: str, options: dict) -> list[Cell]:
  """Cells named ``name=label`` for each ``label: {key: value, ...}`` of ``options``."""
  return [Cell({name: label}, dict(overrides)) for label, overrides in options.items()]


def product(*axes: list[Cell]) -> list[Cell]:
  """Every combination of the axes' cells; later axes override earlier ones' keys."""
  cells = []
  for combo in itertools.product(*axes):
    factors, overrides, drawn = {}, {}, {}
    for cell in combo:
      factors.update(cell.factors)
      overrides.update(cell.overrides)
      drawn.update(cell.drawn)
    cells.append(Cell(factors, overrides, drawn))
  return cells


class Sweep(NamedTuple):
  """What a sweep config's ``get_config()`` returns.

  ``base``: the experiment module, relative to the sweep file. ``settings``: overrides every
  run shares (the study's budget). ``metrics``: the columns the report summarises, from
  ``ganjax eval`` (fid, kid, precision, recall, sharpness_fake, ...) or the run's own log
  (test_accuracy, g_grad_norm_spread, d_grad_norm_spread, images_per_s). ``x``: the factor on
  the plots' x axis (default: the last numeric one, else the last one). ``primary``: the
  one metric the study's comparisons test (default: the first of ``metrics``). ``baseline``:
  factor values naming the reference, e.g. ``{"optimizer": "adam"}``: every other cell is
  compared, seed by seed, with the cell that has those values and its own for the other
  factors (default: every cell with the first cell). ``search``: the factor that numbers a
  random search's settings (``ganjax.search.random_search``); the report then gives each
  group of the other factors (each method) the distribution of its settings' scores and its
  expected best score against the number of settings tried, in place of paired comparisons.
  """
  base: str
  cells: list
  seeds: tuple = (0, 1, 2)
  settings: dict = {}
  metrics: tuple = ("fid",)
  eval_num_samples: int = 10000
  title: str = ""
  x: str | None = None
  primary: str | None = None
  baseline: dict | None = None
  search: str | None = None

  @property
  def primary_metric(self) -> str:
    return self.primary or self.metrics[0]

  def reference(self, cell: Cell) -> Cell | None:
    """The cell that ``cell`` is compared with; None for a reference cell itself, or where
    the grid has no cell with the baseline's values and ``cell``'s other factors."""
    factors = {**cell.factors, **(self.baseline or self.cells[0].factors)}
    if factors == cell.factors:
      return None
    return next((c for c in self.cells if c.factors == factors), None)


class Run(NamedTuple):
  cell: Cell
  seed: int
  workdir: str
  config: ml_collections.ConfigDict


def load(path: str) -> Sweep:
  """The :class:`Sweep` of the module at ``path``."""
  sweep = config_lib.run_get_config(path, "sweep config",
                                    "sweeps live in experiments/ablations/*.py")
  if not isinstance(sweep, Sweep):
    raise UserError(f"sweep config {path!r}: get_config() must return ganjax.sweep.Sweep, got "
                    f"{type(sweep).__name__} (is this an experiment config? use 'ganjax train')")
  if not sweep.cells or not sweep.seeds:
    raise UserError(f"sweep config {path!r} has no cells or no seeds")
  names = [c.name for c in sweep.cells]
  repeated = sorted({n for n in names if names.count(n) > 1})
  if repeated:
    raise UserError(f"sweep config {path!r}: cells {repeated} appear more than once")
  if len(set(sweep.seeds)) != len(sweep.seeds):
    raise UserError(f"sweep config {path!r}: seeds {list(sweep.seeds)} repeat")
  if sweep.primary is not None and sweep.primary not in sweep.metrics:
    raise UserError(f"sweep config {path!r}: primary metric {sweep.primary!r} is not among its "
                    f"metrics {list(sweep.metrics)}")
  if sweep.search is not None and not all(sweep.search in c.factors for c in sweep.cells):
    raise UserError(f"sweep config {path!r}: search factor {sweep.search!r} is not a factor of "
                    "every cell (random_search(..., name=...) sets it)")
  if sweep.baseline is not None:
    factors = {k for c in sweep.cells for k in c.factors}
    unknown = sorted(set(sweep.baseline) - factors)
    if unknown or not any(all(c.factors.get(k) == v for k, v in sweep.baseline.items())
                          for c in sweep.cells):
      raise UserError(f"sweep config {path!r}: no cell has the baseline's values "
                      f"{sweep.baseline}" + (f" (unknown factors {unknown})" if unknown else ""))
  return sweep


def plan(sweep: Sweep, sweep_path: str, workdir: str,
         overrides: dict[str, str] | None = None) -> list[Run]:
  """Every run's config and workdir, cell by cell, seed by seed."""
  overrides = overrides or {}
  swept = sorted({k for c in sweep.cells for k in c.overrides} | {"seed"})
  clash = [k for k in overrides if any(k == s or k.startswith(s + ".") for s in swept)]
  if clash:
    raise UserError(f"--config.{clash[0]} is varied by this sweep; override only the keys "
                    "that every run shares (steps, batch size, ...)")
  base_path = os.path.join(os.path.dirname(os.path.abspath(sweep_path)), sweep.base)
  runs = []
  for cell in sweep.cells:
    for seed in sweep.seeds:
      config = config_lib.load(base_path)
      config_lib.set_values(config, sweep.settings)
      config_lib.set_values(config, cell.overrides)
      config_lib.apply_overrides(config, overrides)
      config.seed = seed
      try:  # every run is checked before the first one trains
        config_lib.validate(config)
      except UserError as e:
        raise UserError(f"sweep cell {cell.name!r}, seed {seed}: {e}") from None
      runs.append(Run(cell, seed, os.path.join(workdir, "runs", cell.name, f"seed_{seed}"),
                      config))
  return runs


def _comparable(config_json: dict) -> dict:
  """A config as JSON, less the image shape that training fills in and the ``distributed``
  settings: how a run is deployed, not what it computes, so a sweep may resume elsewhere."""
  config_json = json.loads(json.dumps(config_json))
  if "data" in config_json:
    config_json["data"].pop("image_shape", None)
  config_json.pop("distributed", None)
  return config_json


def check_same_config(run: Run) -> None:
  """Refuses a run directory that already holds a run of another config."""
  check_workdir_config(run.workdir, run.config)


def check_workdir_config(workdir: str, config: ml_collections.ConfigDict) -> None:
  """Refuses ``workdir`` if it holds a run of a config other than ``config``."""
  saved = read_json(os.path.join(workdir, "config.json"))
  if saved is None:
    return
  flat_saved = config_lib.flat_items(_comparable(saved))
  flat_planned = config_lib.flat_items(_comparable(config.to_dict()))
  defaults = config_lib.flat_items(_comparable(config_lib.base_config().to_dict()))

  def added_since(key: str) -> bool:
    """A key the run predates (ganjax gained it later), planned at its default."""
    return (key not in flat_saved and key in defaults
            and flat_planned[key] == defaults[key])

  differ = [k for k in sorted(set(flat_saved) | set(flat_planned))
            if flat_saved.get(k) != flat_planned.get(k) and not added_since(k)]
  if differ:
    key = next((k for k in differ if k in flat_saved and k in flat_planned), differ[0])
    raise UserError(f"{workdir} holds a run with config.{key}={flat_saved.get(key)!r}, "
                    f"but this sweep plans {flat_planned.get(key)!r}; use a new --workdir or "
                    "delete that run")


def status(run: Run, eval_num_samples: int) -> str:
  """``done`` (evaluated at the final step), ``failed`` (diverged), or ``todo``."""
  if os.path.exists(os.path.join(run.workdir, FAILED_FILE)):
    return "failed"
  result = read_json(os.path.join(run.workdir, EVAL_FILE))
  if (result is not None and result["step"] == run.config.total_steps
      and result["num_fake"] == eval_num_samples):
    return "done"
  return "todo"


def describe(value: Any) -> str:
  """A factor value as text for tables."""
  return f"{value:g}" if isinstance(value, float) else str(value)
