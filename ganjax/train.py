"""``ganjax train``: the host-side loop that steps an experiment and runs its hooks.

Data flows one way: config → data batches → ``GANState`` → step → hooks (samples,
evaluation, checkpoints; ``ganjax.hooks``). The pieces are assembled in
``ganjax.experiment``; the step is pure (``ganjax.step``); files are written by the hooks,
``ganjax.logging`` and ``ganjax.checkpoint``. A non-finite streak rolls back to the last
checkpoint with lower learning rates (``NonfiniteGuard``); SIGTERM or SIGINT stops at a step
boundary with a checkpoint (``ganjax.preemption``).
"""

import contextlib
import os
import sys
import time

import ml_collections
import numpy as np

from ganjax import cpu, data, distributed, provenance
from ganjax import hooks as hooks_lib
from ganjax.checkpoint import Checkpointer
from ganjax.errors import UserError
from ganjax.experiment import (Experiment, abstract_state, build, fixed_latents, fresh_state,
                               scale_learning_rates)
from ganjax.logging import NullWriter, RunWriter, plot_layer_norms, plot_losses
from ganjax.parallel import DataParallel
from ganjax.preemption import StopOnSignal
from ganjax.saved_run import check_resume
from ganjax.seeds import run_scalar, run_seeds, seed_workdirs
from ganjax.state import GANState
from ganjax.workdir import (WorkdirLock, add_train_seconds, prepare_workdir, train_seconds,
                            write_atomically)


def train(config: ml_collections.ConfigDict, workdir: str, progress: bool = True) -> GANState:
  """Trains (or resumes) the run in ``workdir`` up to ``config.total_steps``; returns the state.

  SIGTERM or SIGINT stops it at the next step boundary with a checkpoint (``ganjax.preemption``);
  rerunning the same command resumes. One run at a time may use a workdir.
  """
  distributed.initialize(config)
  created = not os.path.isdir(workdir)
  prepare_workdir(workdir)
  primary = distributed.is_primary()  # the other processes of a multi-host run write nothing
  try:
    with (WorkdirLock(workdir) if primary else contextlib.nullcontext(),
          StopOnSignal() as stop, cpu.fast_paths(config.fast_paths)):
      start, refused = time.perf_counter(), False
      try:
        return _train(config, workdir, progress and primary, stop, primary)
      except UserError as e:  # refused before it trained (a diverged run did train)
        refused = not isinstance(e, Diverged)
        raise
      finally:
        if primary and not refused:
          add_train_seconds(workdir, time.perf_counter() - start)
  except UserError:
    if created and primary and not os.listdir(workdir):  # refused: leave no empty workdir
      os.rmdir(workdir)
    raise


def _train(config, workdir, progress, stop: StopOnSignal, primary: bool = True) -> GANState:
  seeds = run_seeds(config)
  parallel = DataParallel(config.parallel.mode, config.parallel.num_devices, len(seeds))
  parallel.check_batch(config.batch_size)
  exp, runs = _experiment_and_data(config, parallel)
  batches, to_device = _feed(config, runs, parallel)
  ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), config.keep_checkpoints)
  if ckpt.latest_step() is not None:
    check_resume(workdir, config)
  guard = NonfiniteGuard(config.nonfinite, ckpt, abstract_state(exp, seeds),
                         lambda: fresh_state(exp, runs))
  host_state = guard.resume()
  start = done = int(run_scalar(host_state.step))
  total = config.total_steps
  writers = _open_writers(workdir, config, start, primary)
  hooks = _hooks(exp, writers, ckpt, workdir, progress, primary)
  log = hooks_lib.Progress(config, writers, parallel, start, progress,
                           train_seconds(workdir) if start else 0.0)
  state = None
  try:
    while done < total and not stop.requested:
      step_fn = parallel.compile(_scaled(exp, guard.lr_scale).train_step(config.batch_size))
      state, diverged = parallel.put_state(host_state), False
      for step, batch in batches.prefetch(done, total, transform=to_device):
        if stop.requested:
          break
        state, metrics = step_fn(state, batch)
        done = step + 1
        diverged = any(guard.diverged(r["nonfinite_streak"])
                       for r in log(done, metrics, guard.lr_scale))
        due = [hook for hook in hooks if hook.due(done, total)]
        if due and not diverged:
          host_state = parallel.get_state(state)
          diverged = guard.diverged(int(np.max(host_state.nonfinite_streak)))
          for hook in [] if diverged else due:
            hook(done, host_state)
        if diverged:
          break
      if diverged:
        host_state = guard.roll_back(done)
        start = done = int(run_scalar(host_state.step))
        log.rewind(done)
    if stop.requested:
      _save_unsaved(ckpt, parallel, state, start, done)
  except KeyboardInterrupt:  # a second Ctrl-C: save what is finished, then leave at once
    _save_unsaved(ckpt, parallel, state, start, done)
    ckpt.wait()
    raise
  finally:
    for closable in [log, *writers, ckpt, *hooks]:
      closable.close()
  _report_end(config, workdir, stop, done, primary)
  return parallel.get_state(state) if done > start else host_state


def _experiment_and_data(config, parallel: DataParallel) -> tuple[Experiment, list]:
  """The experiment at the data's image shape, and one step-indexed batch stream per seed."""
  source = data.open_source(config.data)
  config.data.image_shape = tuple(source.image_shape)
  exp = build(config, source.image_shape)
  if exp.num_classes:
    data.check_labels(source, exp.num_classes)
  labels = None
  if exp.semi_supervised_classes:
    data.check_labels(source, exp.semi_supervised_classes)
    labels = getattr(source, "labels", None)
    labels = source.get(np.arange(len(source)))[1] if labels is None else labels
    parallel.check_batch(config.data.labeled_batch_size)

  def seed_batches(seed: int) -> data.Batches:
    labeled = None if labels is None else (
        data.labeled_subset(labels, config.data.labels_per_class, seed),
        config.data.labeled_batch_size)
    return data.Batches(source, config.batch_size, config.n_critic, seed, exp.value_range,
                        labeled, generator_batch=config.g_fresh_batch, xflip=config.data.xflip)

  return exp, [seed_batches(s) for s in run_seeds(config)]


def _feed(config, runs: list, parallel: DataParallel):
  """The batches of all seeds (stacked when several) and how each reaches the devices."""
  if config.data.on_device:
    return data.DeviceBatches(runs, parallel), lambda batch: batch
  return (runs[0] if len(runs) == 1 else data.StackedBatches(runs)), parallel.put_batch


def _open_writers(workdir: str, config, start: int, primary: bool) -> list:
  """Writes ``config.json`` and adds to ``provenance.json``; one metrics writer per seed
  (none on the other processes)."""
  if primary:
    write_atomically(os.path.join(workdir, "config.json"), config.to_json(indent=2))
    provenance.record(workdir, start)
  writers = []
  for seed_dir in seed_workdirs(workdir, config):
    if primary:
      os.makedirs(seed_dir, exist_ok=True)
    writers.append(RunWriter(seed_dir, resume_step=start) if primary else NullWriter())
  return writers


def _hooks(exp: Experiment, writers: list, ckpt: Checkpointer, workdir: str, progress: bool,
           primary: bool) -> list[hooks_lib.Hook]:
  """Samples, evaluation (when ``config.eval_every`` > 0) and checkpoints, in that order."""
  c = exp.config
  z_fixed = [fixed_latents(c, c.num_sample_images, s) for s in run_seeds(c)]
  hooks = [hooks_lib.Samples(exp, writers, z_fixed)]
  if c.eval_every > 0:
    from ganjax.evaluate import Evaluator  # loads the metrics stack only when asked for
    evaluator = Evaluator(c.data, c.eval_num_samples, progress)
    bests = [hooks_lib.BestByFID(d, evaluator, primary) for d in seed_workdirs(workdir, c)]
    hooks.append(hooks_lib.Evaluation(exp, writers, bests))
  return hooks + [hooks_lib.SaveCheckpoint(c.ckpt_every, ckpt)]


def _scaled(exp: Experiment, lr_scale: float) -> Experiment:
  """``exp`` with both learning rates × ``lr_scale`` (baked into the step, as in the config)."""
  if lr_scale == 1.0:
    return exp
  return build(scale_learning_rates(exp.config, lr_scale), exp.image_shape)


def _save_unsaved(ckpt: Checkpointer, parallel: DataParallel, state, start: int, done: int):
  if done > start and ckpt.latest_step() != done:
    ckpt.save(done, parallel.get_state(state))


def _report_end(config, workdir: str, stop: StopOnSignal, done: int, primary: bool) -> None:
  """The resume hint after a signal; else the loss and layer-norm plots of each seed."""
  if stop.requested:
    where = (f"stopped at step {done} with a checkpoint" if done
             else "stopped before the first step; nothing to save")
    print(f"ganjax: {stop.requested} received; {where}. Rerun the same command to resume.",
          file=sys.stderr)
  elif primary:
    for seed_dir in seed_workdirs(workdir, config):
      plot_losses(seed_dir)
      plot_layer_norms(seed_dir)


class Diverged(UserError):
  """Too many non-finite steps in a row, and no rollback left."""


class NonfiniteGuard:
  """``config.nonfinite``: after ``max_consecutive`` non-finite steps in a row, go back to the
  last checkpoint with the learning rates × ``lr_factor`` (at most ``max_rollbacks`` times),
  or stop with ``Diverged`` (``action="stop"``). With several seeds all roll back together:
  they share one compiled step."""

  def __init__(self, settings, ckpt: Checkpointer, abstract: GANState, fresh):
    self.settings, self.ckpt, self.abstract, self.fresh = settings, ckpt, abstract, fresh
    self.rollbacks, self.lr_scale = 0, 1.0

  def last_good_state(self) -> GANState:
    """The newest checkpoint that verifies, else a fresh start."""
    if self.ckpt.latest_step() is not None:
      return self.ckpt.restore(self.abstract, quarantine=True)
    return self.fresh()

  def resume(self) -> GANState:
    """The state to start from. Rollbacks so far and the learning-rate factor they left are
    kept here, since the checkpoint a rollback returns to predates them."""
    state = self.last_good_state()
    self.rollbacks, self.lr_scale = int(run_scalar(state.rollbacks)), run_scalar(state.lr_scale)
    return state

  def diverged(self, streak) -> bool:
    limit = self.settings.max_consecutive
    return limit > 0 and streak >= limit

  def roll_back(self, done: int) -> GANState:
    """The last checkpoint with a lowered learning rate, or ``Diverged``."""
    s = self.settings
    self.ckpt.wait()
    good = self.last_good_state()
    good_step = int(run_scalar(good.step))
    message = (f"{s.max_consecutive} steps in a row up to step {done} had a non-finite "
               f"loss, gradient or parameter")
    if s.action == "stop" or self.rollbacks >= s.max_rollbacks:
      tried = "" if s.action == "stop" else f" after {self.rollbacks} rollbacks"
      alternative = " (or set config.nonfinite.action=rollback)" if not tried else ""
      raise Diverged(f"training diverged{tried}: {message}; the checkpoint at step "
                     f"{good_step} is intact. Lower the learning rate{alternative} "
                     "and rerun")
    self.rollbacks += 1
    self.lr_scale *= s.lr_factor
    print(f"ganjax: warning: {message}; rolled back to step {good_step} with learning "
          f"rates × {self.lr_scale:g}", file=sys.stderr)
    # The checkpoint may have been saved within the streak: the lowered learning rate gets
    # max_consecutive steps of its own.
    return good.replace(
        lr_scale=np.full(np.shape(good.lr_scale), self.lr_scale, np.float32),
        rollbacks=np.full(np.shape(good.rollbacks), self.rollbacks, np.int32),
        nonfinite_streak=np.zeros_like(good.nonfinite_streak))
