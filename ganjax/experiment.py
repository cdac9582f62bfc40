"""An experiment assembled from its config: nets, optimizers, initial state and sampling.

``build(config, image_shape)`` gives the pure pieces a run needs (no file I/O); the
host-side loop (``ganjax.train``), the saved-run reader (``ganjax.saved_run``), evaluation
and benchmarks all start from it. The step itself is ``Experiment.train_step``
(``ganjax.step`` summing ``ganjax.objectives`` terms).
"""

import functools
import json
import sys
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from ganjax import augment, data, feature_net, latents, models, objectives
from ganjax import step as step_lib
from ganjax.errors import UserError
from ganjax.logging import image_grid
from ganjax.optim import factory
from ganjax.parallel import AXIS
from ganjax.state import GANState, init_state

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
        axis_name=AXIS, augment=augment.parse(c.augment.policy))
    players = step_lib.Players(self.generator, self.discriminator, self.g_tx, self.d_tx)
    return step_lib.make_step(players, settings, d_terms, g_terms)

  def _perceptual_features(self):
    return _feature_net(self.config.data.to_json(), self.value_range,
                        self.config.loss.perceptual_net)


@functools.lru_cache(maxsize=2)
def _feature_net(data_json: str, value_range: tuple, kind: str):
  """The perceptual loss's network as a function, loaded (or trained) once per process."""
  data_cfg = ml_collections.ConfigDict(json.loads(data_json))
  which = "feature network" if kind == "eval" else f"{kind} perceptual network"
  print(f"perceptual loss: loading the dataset's {which} (trained once, then cached)",
        file=sys.stderr)
  return feature_net.perceptual_features(data_cfg, value_range, kind=kind)


# XLA:CPU's default LLVM optimisation of the unrolled threefry hashes in a random
# initialisation is the slow part of compiling it; level 1 gives the same bits
# (tests/test_train_step.py) and initialisation runs once, so its run time does not matter.
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


def abstract_state(exp: "Experiment", seeds: list[int]) -> GANState:
  """Shapes and dtypes of the state of ``seeds`` (stacked when more than one)."""
  if len(seeds) == 1:
    return jax.eval_shape(exp.init)
  return jax.eval_shape(jax.vmap(exp.init), np.asarray(seeds, np.uint32))
