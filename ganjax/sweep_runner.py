"""Runs a planned sweep (``ganjax.sweep``): trains each unfinished run (or each cell's seeds
together, vmapped), evaluates it, and writes the report (``ganjax.report``).

A run with an ``eval.json`` at its final step is skipped, so a stopped sweep continues where
it left off; a run that diverged is recorded in ``failed.json`` and counted as failed.
"""

import itertools
import json
import os
import sys
import time
from typing import NamedTuple

import jax
import ml_collections

from ganjax import evaluate, report, saved_run, train
from ganjax.errors import UserError
from ganjax.preemption import StopOnSignal
from ganjax.seeds import run_scalar
from ganjax.sweep import EVAL_FILE, FAILED_FILE, Run, check_workdir_config, load, plan, status
from ganjax.workdir import WorkdirLock, prepare_workdir, write_atomically


class _Evaluators:
  """One ``ganjax.evaluate.Evaluator`` per dataset, loaded once for the whole sweep."""

  def __init__(self, num_samples: int, progress: bool):
    self.num_samples, self.progress, self.cache = num_samples, progress, {}

  def __call__(self, workdir: str) -> dict:
    start = time.perf_counter()
    exp, state = saved_run.load_run(workdir)
    key = exp.config.data.to_json()
    if key not in self.cache:
      self.cache[key] = evaluate.Evaluator(exp.config.data, self.num_samples, self.progress)
    result = self.cache[key](exp, state)
    result["seconds"] = time.perf_counter() - start
    write_atomically(os.path.join(workdir, EVAL_FILE), json.dumps(result, indent=2))
    return result


class Unit(NamedTuple):
  """What one ``ganjax train`` trains: one run, or a cell's seeds as one vmapped program."""
  runs: list[Run]
  workdir: str
  config: ml_collections.ConfigDict


def units(runs: list[Run], vmap_seeds: bool) -> list[Unit]:
  """The runs grouped for training: one by one, or each cell's seeds together."""
  groups = ([list(cell_runs) for _, cell_runs in itertools.groupby(runs, lambda r: r.cell)]
            if vmap_seeds else [[run] for run in runs])
  out = []
  for group in groups:
    if len(group) == 1:  # nothing to vmap
      out.append(Unit(group, group[0].workdir, group[0].config))
      continue
    seeds = [r.seed for r in group]
    if seeds != list(range(seeds[0], seeds[0] + len(seeds))):
      raise UserError(f"--vmap-seeds needs consecutive seeds (seed, seed + 1, ...); this "
                      f"sweep has {seeds}")
    config = group[0].config.copy_and_resolve_references()
    config.num_seeds = len(seeds)
    out.append(Unit(group, os.path.dirname(group[0].workdir), config))
  return out


def check_unit(unit: Unit) -> None:
  """Refuses a workdir begun in the other mode (vmapped or not) or with another config."""
  vmapped = len(unit.runs) > 1
  cell_dir = os.path.dirname(unit.runs[0].workdir)
  began_vmapped = os.path.exists(os.path.join(cell_dir, "config.json"))
  began_alone = any(os.path.exists(os.path.join(r.workdir, "config.json")) for r in unit.runs)
  if (vmapped and began_alone) or (not vmapped and began_vmapped):
    mode = "one seed at a time" if began_alone else "with --vmap-seeds"
    raise UserError(f"{cell_dir} was trained {mode}; rerun the same way or use a new --workdir")
  check_workdir_config(unit.workdir, unit.config)


def _train_unit(unit: Unit, progress: bool) -> str:
  """Trains (or resumes) a unit: ``finished``, ``stopped`` (a signal) or ``failed``. Its wall
  time is recorded by ``ganjax.train`` in the unit's workdir (a vmapped unit's: the cell's)."""
  try:
    state = train.train(unit.config, unit.workdir, progress=progress)
  except train.Diverged as e:
    for run in unit.runs:  # vmapped seeds roll back and fail together
      write_atomically(os.path.join(run.workdir, FAILED_FILE),
                       json.dumps({"reason": str(e), "seed": run.seed}))
    return "failed"
  finished = int(run_scalar(state.step)) == unit.config.total_steps
  return "finished" if finished else "stopped"


def run_sweep(sweep_path: str, workdir: str, overrides: dict[str, str] | None = None,
              progress: bool = True, max_runs: int | None = None,
              vmap_seeds: bool = False) -> dict:
  """Trains and evaluates every unfinished run (at most ``max_runs`` this time; with
  ``vmap_seeds`` a cell's seeds at once), then writes ``results.csv`` and ``report.md`` over
  the finished ones. Returns a summary."""
  sweep = load(sweep_path)
  runs = plan(sweep, sweep_path, workdir, overrides)
  todo = units(runs, vmap_seeds)
  for unit in todo:
    check_unit(unit)
  prepare_workdir(workdir)
  evaluate = _Evaluators(sweep.eval_num_samples, progress)
  counts = {"ran": 0, "skipped": 0, "failed": 0}
  stopped = False
  with WorkdirLock(workdir), StopOnSignal() as stop:
    write_atomically(os.path.join(workdir, "sweep.json"), json.dumps(
        {"sweep_config": os.path.abspath(sweep_path), "overrides": overrides or {},
         "cells": [c._asdict() for c in sweep.cells], "seeds": list(sweep.seeds)},
        indent=2, default=str))
    done = 0
    for unit in todo:
      first, done = done + 1, done + len(unit.runs)
      if all(status(run, sweep.eval_num_samples) != "todo" for run in unit.runs):
        counts["skipped"] += len(unit.runs)
        continue
      if stop.requested or (max_runs is not None and counts["ran"] >= max_runs):
        stopped = True
        break
      seeds = ", ".join(str(r.seed) for r in unit.runs)
      which = f"runs {first}-{done}" if len(unit.runs) > 1 else f"run {first}"
      print(f"ganjax sweep: {which}/{len(runs)}: {unit.runs[0].cell.name} seed {seeds}",
            file=sys.stderr)
      outcome = _train_unit(unit, progress)
      # Each run compiles its own programs, and XLA:CPU keeps every one's code mapped until
      # it is released: a tiny 4-run sweep left ~5000 memory maps behind, and at Linux's
      # limit (65,530) the process dies in a segfault. The persistent compilation cache
      # makes compiling again cheap.
      jax.clear_caches()
      if outcome == "stopped":
        stopped = True
        break
      counts["ran"] += len(unit.runs)
      if outcome == "failed":
        counts["failed"] += len(unit.runs)
        continue
      for run in unit.runs:
        if status(run, sweep.eval_num_samples) == "todo":
          evaluate(run.workdir)
  rows = report.collect(runs, sweep)
  report.write(workdir, sweep, sweep_path, rows, overrides or {}, runs)
  remaining = sum(status(r, sweep.eval_num_samples) == "todo" for r in runs)
  if stopped:
    print(f"ganjax sweep: stopped with {remaining} of {len(runs)} runs to go; rerun the same "
          "command to continue", file=sys.stderr)
  return dict(counts, runs=len(runs), remaining=remaining,
              results=os.path.join(workdir, "results.csv"),
              report=os.path.join(workdir, "report.md"))
