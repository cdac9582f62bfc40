"""Assembles an experiment from its config and runs the host-side training loop.

Data flows one way: config → data batches → GANState → train step → (checkpoint, metrics,
samples). Everything stateful on the host (files, progress bar) lives here and in
``ganjax.logging`` / ``ganjax.checkpoint``; the step itself is pure (``ganjax.step``, summing ``ganjax.objectives`` terms).
"""

import contextlib
import functools
import json
import os
import sys
import time
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from tqdm import tqdm

from ganjax import config as config_lib, data, distributed, latents, models, objectives
from ganjax import step as step_lib
from ganjax.checkpoint import Checkpointer
from ganjax.errors import UserError
from ganjax.logging import NullWriter, RunWriter, image_grid, plot_layer_norms, plot_losses
from ganjax.metrics import features as features_lib
from ganjax.optim import factory
from ganjax.parallel import AXIS, DataParallel
from ganjax.preemption import StopOnSignal
from ganjax.state import GANState, init_state
from ganjax.workdir import WorkdirLock, prepare_workdir, write_atomically

OUTPUT_RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}


class Experiment(NamedTuple):
  """The pure pieces a config describes."""
  config: ml_collections.ConfigDict
  generator: nn.Module
  discriminator: nn.Module
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation
  image_shape: tuple
  value_range: tuple

  @property
  def num_classes(self) -> int:
    """K > 0 for a class-conditional GAN, 0 otherwise."""
    return self.config.model.num_classes

  @property
  def semi_supervised_classes(self) -> int:
    """K > 0 when D is a K-class semi-supervised classifier, 0 otherwise."""
    return self.config.model.semi_supervised_classes

  def init(self, seed=None, d_init_images=None) -> GANState:
    """The initial state from ``seed`` (default ``config.seed``); ``d_init_images``, real
    images for D's data-dependent initialisation (``config.model.data_init_images`` > 0).

    Jit it with the seed as an argument (``initial_state``): a seed baked in as a constant
    makes XLA fold the whole initialisation at compile time.
    """
    c = self.config
    return init_state(c.seed if seed is None else seed, self.generator, self.discriminator,
                      self.g_tx, self.d_tx, c.latent_dim, self.image_shape,
                      use_ema=c.ema_decay > 0, use_d_ema=c.d_ema_decay > 0,
                      d_init_images=d_init_images)

  def train_step(self, global_batch: int):
    """The per-device step of this experiment (``ganjax.step``) at ``global_batch``."""
    c = self.config
    classifier = ("semi_supervised" if self.semi_supervised_classes else
                  "acgan" if self.num_classes and c.model.conditioning == "acgan" else "")
    d_terms, g_terms = objectives.terms_from_config(c.loss, classifier,
                                                    self._perceptual_features)
    settings = step_lib.Settings(
        latent_dim=c.latent_dim, global_batch=global_batch, n_critic=c.n_critic,
        num_classes=self.num_classes, latent_distribution=c.latent_distribution,
        g_fresh_batch=c.g_fresh_batch, ema_decay=c.ema_decay, d_ema_decay=c.d_ema_decay,
        max_nonfinite=c.nonfinite.max_consecutive, log_layer_norms=c.log_layer_norms,
        axis_name=AXIS)
    players = step_lib.Players(self.generator, self.discriminator, self.g_tx, self.d_tx)
    return step_lib.make_step(players, settings, d_terms, g_terms)

  def _perceptual_features(self):
    return _feature_net(self.config.data.to_json(), self.value_range)


@functools.lru_cache(maxsize=2)
def _feature_net(data_json: str, value_range: tuple):
  """The evaluation feature net as a function, loaded (or trained) once per process."""
  data_cfg = ml_collections.ConfigDict(json.loads(data_json))
  print("perceptual loss: loading the dataset's feature network (trained once, then cached)",
        file=sys.stderr)
  return features_lib.perceptual_features(data_cfg, value_range)


# XLA:CPU's default LLVM optimisation of the unrolled threefry hashes in a random
# initialisation took 20 s for a tiny DCGAN; level 1 takes 3 s and gives the same bits
# (tests/test_train_step.py). Initialisation runs once, so its speed does not matter.
INIT_COMPILER_OPTIONS = {"xla_backend_optimization_level": 1}


def initial_state(exp: "Experiment", d_init_images=None) -> GANState:
  """``exp.init()``, compiled with the seed as an argument and with cheap LLVM optimisation."""
  seed = np.uint32(exp.config.seed)
  compiled = jax.jit(exp.init).lower(seed, d_init_images).compile(
      compiler_options=INIT_COMPILER_OPTIONS)
  return compiled(seed, d_init_images)


def initial_states(exp: "Experiment", seeds, d_init_images=None) -> GANState:
  """The initial states of ``seeds``, stacked along a new leading axis (one per seed): the
  state of K independent runs that ``jax.vmap(exp.train_step(...))`` trains at once.
  ``d_init_images``, if given, is stacked the same way (each seed's own images)."""
  seeds = np.asarray(seeds, np.uint32)
  init = jax.jit(jax.vmap(exp.init, in_axes=(0, None if d_init_images is None else 0)))
  return init.lower(seeds, d_init_images).compile(compiler_options=INIT_COMPILER_OPTIONS)(
      seeds, d_init_images)


def fresh_state(exp: "Experiment", runs: list[data.Batches]) -> GANState:
  """The initial state of a new run of the seeds of ``runs`` (one data stream per seed;
  stacked when there are several), D initialised on each seed's first images when
  ``config.model.data_init_images`` > 0."""
  num = exp.config.model.data_init_images
  if len(runs) == 1:
    return initial_state(exp, data_init_images(runs[0], num))
  images = None if num <= 0 else np.stack([data_init_images(run, num) for run in runs])
  return initial_states(exp, [run.seed for run in runs], images)


def data_init_images(batches: data.Batches, num: int) -> np.ndarray | None:
  """The first ``num`` training images a run sees (None when ``num`` is 0): the batch of
  D's data-dependent initialisation, as Salimans et al. 2016 initialise on 500 of theirs."""
  if num <= 0:
    return None
  steps = [batches(step)["image"] for step in range(-(-num // batches.per_step))]
  return np.concatenate([x.reshape(-1, *x.shape[2:]) for x in steps])[:num]


def build(config: ml_collections.ConfigDict, image_shape) -> Experiment:
  """Models, optimizers and value range for ``config`` and images of ``image_shape``."""
  objectives.losses.get(config.loss.name)  # fail early on a bad loss name
  generator, discriminator = models.build(config.model, image_shape, axis_name=AXIS)
  output = getattr(generator, "output_activation", "tanh")
  if output not in OUTPUT_RANGES:
    raise UserError(f"generator output activation {output!r} has no image range; use tanh or sigmoid")
  return Experiment(config, generator, discriminator,
                    factory.make(config.optimizer.g, config.total_steps),
                    factory.make(config.optimizer.d, config.total_steps * config.n_critic),
                    tuple(image_shape), OUTPUT_RANGES[output])


def scale_learning_rates(config: ml_collections.ConfigDict, factor: float):
  """A copy of ``config`` with both optimizers' learning rates multiplied by ``factor``."""
  scaled = ml_collections.ConfigDict(config.to_dict())
  for player in ("g", "d"):
    scaled.optimizer[player].learning_rate *= factor
  return scaled


def fixed_latents(config: ml_collections.ConfigDict, num: int, seed: int | None = None) -> jax.Array:
  """A latent batch that stays the same across a run (and across resumes)."""
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed if seed is None else seed), 0x5A3)
  return latents.sample(key, (num, config.latent_dim), config.latent_distribution)


@functools.partial(jax.jit, static_argnums=0)
def generate(generator: nn.Module, params, batch_stats, z, labels=None):
  """Eval-mode samples (running batch-norm statistics, no dropout)."""
  kwargs = {} if labels is None else {"labels": labels}
  return generator.apply({"params": params, "batch_stats": batch_stats}, z, train=False, **kwargs)


def sample_images(exp: Experiment, state: GANState, z, labels=None) -> np.ndarray:
  """Samples of the EMA generator if there is one; a conditional GAN without ``labels``
  draws classes 0, 1, …, K−1, 0, 1, … in turn."""
  params = state.ema_params if state.ema_params is not None else state.g_params
  if exp.num_classes and labels is None:
    labels = jnp.arange(len(z), dtype=jnp.int32) % exp.num_classes
  return np.asarray(generate(exp.generator, params, state.g_batch_stats, z, labels))


def sample_grid(exp: Experiment, state: GANState, z, labels=None) -> np.ndarray:
  """A uint8 grid of samples; for a conditional GAN without ``labels``, column k is class k."""
  columns = exp.num_classes if exp.num_classes and labels is None else None
  return image_grid(sample_images(exp, state, z, labels), exp.value_range, columns)


def _read_config(run_dir: str) -> ml_collections.ConfigDict | None:
  path = os.path.join(run_dir, "config.json")
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return config_lib.with_defaults(ml_collections.ConfigDict(json.load(f)))


def load_run(workdir: str, stacked: bool = False) -> tuple[Experiment, GANState]:
  """The experiment and latest checkpointed state of a finished or running workdir.

  For a run of ``config.num_seeds`` > 1, ``workdir/seed_<s>`` gives seed s's state (and
  an experiment whose ``config.seed`` is s); ``workdir`` itself the stacked states of all
  seeds, only with ``stacked=True``.
  """
  config, index = _read_config(workdir), None
  run_dir = workdir
  if config is None:
    parent = os.path.dirname(os.path.normpath(workdir))
    config = _read_config(parent)
    seed_dirs = [] if config is None or config.num_seeds == 1 else [
        os.path.normpath(d) for d in seed_workdirs(parent, config)]
    if os.path.normpath(workdir) not in seed_dirs:
      raise UserError(f"{workdir!r} has no config.json; is it a ganjax train --workdir?")
    index, run_dir = seed_dirs.index(os.path.normpath(workdir)), parent
  seeds = run_seeds(config)
  if len(seeds) > 1 and index is None and not stacked:
    raise UserError(f"{workdir!r} holds {len(seeds)} seeds trained together; pass one of "
                    f"them, {os.path.join(workdir, f'seed_{seeds[0]}')} to "
                    f"{os.path.join(workdir, f'seed_{seeds[-1]}')}")
  exp = build(config, config.data.image_shape)
  ckpt = Checkpointer(os.path.join(run_dir, "checkpoints"))
  state = ckpt.restore(abstract_state(exp, seeds))
  ckpt.close()
  if index is None:
    return exp, state
  config = config.copy_and_resolve_references()
  config.seed, config.num_seeds = seeds[index], 1
  return exp._replace(config=config), seed_slice(state, index)


def train(config: ml_collections.ConfigDict, workdir: str, progress: bool = True) -> GANState:
  """Trains (or resumes) the run in ``workdir`` up to ``config.total_steps``; returns the state.

  SIGTERM or SIGINT stops it at the next step boundary with a checkpoint (``ganjax.preemption``);
  rerunning the same command resumes. One run at a time may use a workdir.
  """
  distributed.initialize(config)
  prepare_workdir(workdir)
  primary = distributed.is_primary()  # the other processes of a multi-host run write nothing
  with WorkdirLock(workdir) if primary else contextlib.nullcontext(), StopOnSignal() as stop:
    return _train(config, workdir, progress and primary, stop, primary)


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

  def evaluate(self, exp: "Experiment", host_state: GANState, writer: RunWriter) -> None:
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
    self.ckpt.wait()
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


class Diverged(UserError):
  """Too many non-finite steps in a row, and no rollback left."""


def run_seeds(config: ml_collections.ConfigDict) -> list[int]:
  """The seeds of the runs a config trains: ``seed, ..., seed + num_seeds − 1``."""
  return [config.seed + k for k in range(config.num_seeds)]


def seed_workdirs(workdir: str, config: ml_collections.ConfigDict) -> list[str]:
  """Where each seed's metrics and samples go: the workdir itself for one seed, else
  ``workdir/seed_<s>/`` (the checkpoint of the stacked states stays in ``workdir``)."""
  seeds = run_seeds(config)
  return [workdir] if len(seeds) == 1 else [os.path.join(workdir, f"seed_{s}") for s in seeds]


def abstract_state(exp: "Experiment", seeds: list[int]) -> GANState:
  """Shapes and dtypes of the state of ``seeds`` (stacked when more than one)."""
  if len(seeds) == 1:
    return jax.eval_shape(exp.init)
  return jax.eval_shape(jax.vmap(exp.init), np.asarray(seeds, np.uint32))


def seed_slice(state, index: int):
  """Run ``index`` of a state stacked over seeds."""
  return jax.tree.map(lambda x: x[index], state)


def run_scalar(x) -> float:
  """A per-run scalar of the state, such as its step (the same for every seed of a state
  stacked over seeds)."""
  return float(np.ravel(x)[0])


def _train(config, workdir, progress, stop: StopOnSignal, primary: bool = True) -> GANState:
  seeds = run_seeds(config)
  parallel = DataParallel(config.parallel.mode, config.parallel.num_devices, len(seeds))
  parallel.check_batch(config.batch_size)
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
                        labeled, generator_batch=config.g_fresh_batch)

  runs = [seed_batches(s) for s in seeds]
  if config.data.on_device:
    batches, to_device = data.DeviceBatches(runs, parallel), lambda batch: batch
  else:
    batches = runs[0] if len(runs) == 1 else data.StackedBatches(runs)
    to_device = parallel.put_batch
  test_accuracy = TestAccuracy(exp) if exp.semi_supervised_classes else None

  def seed_state(state: GANState, k: int) -> GANState:
    """Seed k's part of the host state (stacked over seeds when there are several)."""
    return state if len(seeds) == 1 else seed_slice(state, k)

  ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), config.keep_checkpoints)

  def last_good_state() -> GANState:
    if ckpt.latest_step() is not None:
      return ckpt.restore(abstract_state(exp, seeds), quarantine=True)
    return fresh_state(exp, runs)

  host_state = last_good_state()
  start, total = int(run_scalar(host_state.step)), config.total_steps
  if primary:
    write_atomically(os.path.join(workdir, "config.json"), config.to_json(indent=2))
  writers = []
  for seed_dir in seed_workdirs(workdir, config):
    if primary:
      os.makedirs(seed_dir, exist_ok=True)
    writers.append(RunWriter(seed_dir, resume_step=start) if primary else NullWriter())
  z_fixed = [fixed_latents(config, config.num_sample_images, s) for s in seeds]

  def compile_step(lr_scale: float):
    """The step with both learning rates × ``lr_scale`` (baked in, as in the config)."""
    e = exp if lr_scale == 1.0 else build(scale_learning_rates(config, lr_scale), exp.image_shape)
    return parallel.compile(e.train_step(config.batch_size))

  step_fn = compile_step(run_scalar(host_state.lr_scale))
  state = parallel.put_state(host_state)
  bar = tqdm(total=total, initial=start, disable=not progress, unit="step", dynamic_ncols=True)
  done, tick, tick_step = start, time.perf_counter(), start

  def checkpoint_unsaved_steps():
    if done > start and ckpt.latest_step() != done:
      ckpt.save(done, parallel.get_state(state))

  def due(every: int) -> bool:
    return (every > 0 and done % every == 0) or done == total

  bests = []  # one per seed, when evaluating during training
  if config.eval_every > 0:
    from ganjax.evaluate import Evaluator  # evaluate imports this module
    evaluator = Evaluator(config.data, config.eval_num_samples, progress)
    bests = [BestByFID(d, evaluator, primary) for d in seed_workdirs(workdir, config)]

  def diverged(streak) -> bool:
    guard = config.nonfinite
    return guard.max_consecutive > 0 and streak >= guard.max_consecutive

  # Rollbacks so far and the learning-rate factor they left, tracked here because the
  # checkpoint a rollback returns to predates it.
  guard_record = {"rollbacks": int(run_scalar(host_state.rollbacks)),
                  "lr_scale": run_scalar(host_state.lr_scale)}

  def roll_back() -> GANState:
    """The last checkpoint with a lowered learning rate, or ``Diverged``."""
    guard = config.nonfinite
    ckpt.wait()
    good = last_good_state()
    good_step = int(run_scalar(good.step))
    message = (f"{guard.max_consecutive} steps in a row up to step {done} had a non-finite "
               f"loss, gradient or parameter")
    if guard.action == "stop" or guard_record["rollbacks"] >= guard.max_rollbacks:
      tried = "" if guard.action == "stop" else f" after {guard_record['rollbacks']} rollbacks"
      alternative = " (or set config.nonfinite.action=rollback)" if not tried else ""
      raise Diverged(f"training diverged{tried}: {message}; the checkpoint at step "
                     f"{good_step} is intact. Lower the learning rate{alternative} "
                     "and rerun")
    guard_record["rollbacks"] += 1
    guard_record["lr_scale"] *= guard.lr_factor
    print(f"ganjax: warning: {message}; rolled back to step {good_step} with learning "
          f"rates × {guard_record['lr_scale']:g}", file=sys.stderr)
    # With several seeds all roll back together: they share one compiled step.
    return good.replace(
        lr_scale=np.full(np.shape(good.lr_scale), guard_record["lr_scale"], np.float32),
        rollbacks=np.full(np.shape(good.rollbacks), guard_record["rollbacks"], np.int32))

  try:
    while done < total and not stop.requested:
      rolled_back = False
      for step, batch in batches.prefetch(done, total, transform=to_device):
        if stop.requested:
          break
        state, metrics = step_fn(state, batch)
        done = step + 1
        bar.update(1)
        if done % config.log_every == 0 or done == total:
          per_seed = parallel.get_metrics(metrics)
          now = time.perf_counter()
          shared = {
              # each run's own images/s (all seeds together: × num_seeds)
              "images_per_s": (done - tick_step) * config.batch_size / (now - tick),
              "lr_scale": guard_record["lr_scale"],
              "g_learning_rate": guard_record["lr_scale"] * float(
                  factory.learning_rate_schedule(config.optimizer.g, total)(step))}
          tick, tick_step = now, done
          for writer, scalars in zip(writers, per_seed):
            writer.scalars(done, {**scalars, **shared})
          scalars = per_seed[0]
          bar.set_postfix(d_loss=f"{scalars['d_loss']:.3f}", g_loss=f"{scalars['g_loss']:.3f}",
                          img_s=f"{shared['images_per_s'] * len(seeds):.0f}")
          rolled_back = any(diverged(r["nonfinite_streak"]) for r in per_seed)
        sample_due, ckpt_due = due(config.sample_every), due(config.ckpt_every)
        eval_due = bool(bests) and due(config.eval_every)
        if not rolled_back and (sample_due or ckpt_due or eval_due):
          host_state = parallel.get_state(state)
          rolled_back = diverged(int(np.max(host_state.nonfinite_streak)))
          if not rolled_back and sample_due:
            for k, (writer, z) in enumerate(zip(writers, z_fixed)):
              writer.samples(done, sample_grid(exp, seed_state(host_state, k), z))
              if test_accuracy is not None:
                writer.scalars(done, {"test_accuracy": test_accuracy(seed_state(host_state, k))})
          if not rolled_back and eval_due:
            for k, (best, writer) in enumerate(zip(bests, writers)):
              best.evaluate(exp, seed_state(host_state, k), writer)
          if not rolled_back and ckpt_due:
            ckpt.save(done, host_state)
        if rolled_back:
          break
      if rolled_back:
        host_state = roll_back()
        start = done = tick_step = int(run_scalar(host_state.step))
        tick = time.perf_counter()
        state = parallel.put_state(host_state)
        step_fn = compile_step(run_scalar(host_state.lr_scale))
        for writer in writers:
          writer.rewind(done)
        bar.reset(total)
        bar.update(done)
    if stop.requested:
      checkpoint_unsaved_steps()
  except KeyboardInterrupt:  # a second Ctrl-C: save what is finished, then leave at once
    checkpoint_unsaved_steps()
    ckpt.wait()
    raise
  finally:
    bar.close()
    for writer in writers:
      writer.close()
    ckpt.wait()
    ckpt.close()
    for best in bests:
      best.close()
  if stop.requested:
    print(f"ganjax: {stop.requested} received; stopped at step {done} with a checkpoint. "
          "Rerun the same command to resume.", file=sys.stderr)
  elif primary:
    for seed_dir in seed_workdirs(workdir, config):
      plot_losses(seed_dir)
      plot_layer_norms(seed_dir)
  return parallel.get_state(state) if done > start else host_state
