"""The training loop's periodic work, as hooks with one interface.

After a step, the loop asks each hook whether it is ``due``: every ``every`` steps and after
the last one (``every`` 0: after the last one only). When any is, the loop copies the state
to the host once and calls the due hooks in order with ``(step, host_state)``. Samples (with
a semi-supervised D's test accuracy), evaluation with the best-FID checkpoint, and the
checkpoint itself are hooks; ``Progress`` logs the step's metrics without the host state.
A new kind of periodic work is one more ``Hook`` in the list ``ganjax.train`` builds.
"""

import functools
import json
import os
import time

import flax.linen as nn
import jax
import numpy as np
from tqdm import tqdm

from ganjax import data, distributed
from ganjax.checkpoint import Checkpointer
from ganjax.experiment import Experiment, sample_grid
from ganjax.logging import RunWriter
from ganjax.optim import factory
from ganjax.seeds import per_seed
from ganjax.state import GANState
from ganjax.workdir import write_atomically


class Hook:
  """Periodic work on the host state; subclasses set ``every`` and define ``__call__``."""
  every: int = 0

  def due(self, step: int, total: int) -> bool:
    return (self.every > 0 and step % self.every == 0) or step == total

  def __call__(self, step: int, host_state: GANState) -> None:
    raise NotImplementedError

  def close(self) -> None:
    pass


class Samples(Hook):
  """Each seed's grid of samples from its fixed latents, and, for a semi-supervised D, its
  test accuracy (``config.sample_every``)."""

  def __init__(self, exp: Experiment, writers: list, fixed_latents: list):
    self.every, self.exp = exp.config.sample_every, exp
    self.writers, self.fixed_latents = writers, fixed_latents
    self.test_accuracy = TestAccuracy(exp) if exp.semi_supervised_classes else None

  def __call__(self, step, host_state):
    for writer, z, state in zip(self.writers, self.fixed_latents,
                                per_seed(host_state, len(self.writers))):
      writer.samples(step, sample_grid(self.exp, state, z))
      if self.test_accuracy is not None:
        writer.scalars(step, {"test_accuracy": self.test_accuracy(state)})


class Evaluation(Hook):
  """Each seed's metrics and best-FID checkpoint (``config.eval_every``; ``BestByFID``)."""

  def __init__(self, exp: Experiment, writers: list, bests: list):
    self.every, self.exp, self.writers, self.bests = exp.config.eval_every, exp, writers, bests

  def __call__(self, step, host_state):
    for best, writer, state in zip(self.bests, self.writers,
                                   per_seed(host_state, len(self.writers))):
      best.evaluate(self.exp, state, writer)

  def close(self):
    for best in self.bests:
      best.close()


class SaveCheckpoint(Hook):
  """The state of every seed in one checkpoint (``config.ckpt_every``)."""

  def __init__(self, every: int, ckpt: Checkpointer):
    self.every, self.ckpt = every, ckpt

  def __call__(self, step, host_state):
    self.ckpt.save(step, host_state)


class Progress:
  """The progress bar, and every ``config.log_every`` steps (and after the last) each seed's
  metrics with images/s, the learning rate and ``wall_seconds``: the run's training time so
  far, over all its segments (``seconds_before``: the earlier segments'). Works on the step's
  device metrics only."""

  def __init__(self, config, writers: list, parallel, start: int, show: bool,
               seconds_before: float = 0.0):
    self.config, self.writers, self.parallel = config, writers, parallel
    # disable=None: a bar on a terminal only, never carriage returns into a log file
    self.bar = tqdm(total=config.total_steps, initial=start, disable=None if show else True,
                    unit="step", dynamic_ncols=True)
    self.tick, self.tick_step = time.perf_counter(), start
    self.origin = self.tick - seconds_before
    self.g_schedule = factory.learning_rate_schedule(config.optimizer.g, config.total_steps)

  def rewind(self, step: int) -> None:
    """Restarts the count at ``step`` (a rollback), forgetting the records after it."""
    self.tick, self.tick_step = time.perf_counter(), step
    for writer in self.writers:
      writer.rewind(step)
    self.bar.reset(self.config.total_steps)
    self.bar.update(step)

  def __call__(self, step: int, metrics, lr_scale: float) -> list[dict]:
    """Counts ``step`` done; each seed's logged metrics when due, else []."""
    c = self.config
    self.bar.update(1)
    if step % c.log_every and step != c.total_steps:
      return []
    logged = self.parallel.get_metrics(metrics)
    now = time.perf_counter()
    shared = {
        # each run's own images/s (all seeds together: × num_seeds)
        "images_per_s": (step - self.tick_step) * c.batch_size / (now - self.tick),
        "lr_scale": lr_scale,
        "g_learning_rate": lr_scale * float(self.g_schedule(step - 1)),
        "wall_seconds": now - self.origin}
    self.tick, self.tick_step = now, step
    for writer, scalars in zip(self.writers, logged):
      writer.scalars(step, {**scalars, **shared})
    first = logged[0]
    self.bar.set_postfix(d_loss=f"{first['d_loss']:.3f}", g_loss=f"{first['g_loss']:.3f}",
                         img_s=f"{shared['images_per_s'] * len(logged):.0f}")
    return logged

  def close(self) -> None:
    self.bar.close()


class BestByFID:
  """Evaluates during training and keeps the checkpoint with the lowest FID so far.

  Every ``config.eval_every`` steps the metrics of ``config.eval_num_samples`` samples are
  logged as ``eval_<name>`` (metrics.jsonl and TensorBoard); a new best FID is saved to
  ``checkpoints_best/`` (one kept) and ``best.json``, beside the latest checkpoints. A run
  of several seeds keeps one per seed, in ``seed_<s>/``, sharing one ``evaluator``.

  In a multi-process run every process evaluates its own replica of the state: a process
  left waiting in the next step's collective while process 0 evaluated alone would time
  out (gloo gives up after 30 s). Process 0's verdict on a new best is then shared, since
  every process must take part in Orbax's save; only process 0 writes ``best.json``.
  """

  def __init__(self, workdir: str, evaluator, primary: bool = True):
    self.evaluator, self.primary = evaluator, primary
    self.path = os.path.join(workdir, "best.json")
    self.ckpt = Checkpointer(os.path.join(workdir, "checkpoints_best"), max_to_keep=1,
                             async_save=False)  # best.json must never point ahead of it
    self.best = None
    if os.path.exists(self.path):
      with open(self.path) as f:
        self.best = json.load(f)

  def evaluate(self, exp: Experiment, host_state: GANState, writer: RunWriter) -> None:
    result = self.evaluator(exp, host_state)
    step = result.pop("step")
    writer.scalars(step, {f"eval_{k}": float(v) for k, v in result.items()
                          if isinstance(v, (int, float))})
    if distributed.primary_decides(self.best is None or result["fid"] < self.best["fid"]):
      self.best = {"step": step, "fid": result["fid"]}
      self.ckpt.save_replacing(step, host_state)
      if self.primary:
        write_atomically(self.path, json.dumps(self.best))

  def close(self) -> None:
    self.ckpt.close()


class TestAccuracy:
  """A semi-supervised D's class accuracy on the test split (the train split if none), with
  D's EMA parameters when ``d_ema_decay`` > 0 (as Salimans et al. 2016 evaluate)."""

  def __init__(self, exp: Experiment):
    images, self.labels = data.test_split(exp.config.data)
    lo, hi = exp.value_range
    self.images = images.astype(np.float32) * ((hi - lo) / 255.0) + lo
    self.discriminator = exp.discriminator

  def __call__(self, state: GANState, batch: int = 1000) -> float:
    params = state.d_params if state.d_ema_params is None else state.d_ema_params
    correct = 0
    for start in range(0, len(self.images), batch):
      logits = _class_logits(self.discriminator, params, state.d_batch_stats,
                             self.images[start:start + batch])
      correct += int(np.sum(np.argmax(logits, -1) == self.labels[start:start + batch]))
    return correct / len(self.images)


@functools.partial(jax.jit, static_argnums=0)
def _class_logits(discriminator: nn.Module, params, batch_stats, images):
  return discriminator.apply({"params": params, "batch_stats": batch_stats}, images,
                             train=False)[1]
