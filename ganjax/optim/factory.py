"""Config → ``optax.GradientTransformation`` for the generator or the discriminator.

``config.optimizer.g`` and ``config.optimizer.d`` are independent ConfigDicts with a ``name``
from ``OPTIMIZERS`` (adam, rmsprop, sgd, momentum, and ganjax's own ``cg`` and
``orthogonal``) and the hyper-parameters that optimizer reads. ``orthogonal`` in ``polar``
mode sends biases and norm scales to Adam with ``b1``, ``b2``, ``eps`` and ``nesterov``. The learning rate is a
schedule (``constant``, ``cosine``, ``linear``, ``inverse_sqrt``) with optional linear warm-up, and an optional
global-norm clip runs first. ``lr_multipliers`` ({top-level layer: m}) scales chosen layers'
learning rates (``ganjax.optim.layer_scale``). New optimizers plug in with
``@register("name", **keys)``.
"""

from typing import Callable

import jax.numpy as jnp
import ml_collections
import optax

from ganjax import schema
from ganjax.errors import UserError, check_choice
from ganjax.optim import conjugate, layer_scale, orthogonal

Builder = Callable[[optax.ScalarOrSchedule, ml_collections.ConfigDict], optax.GradientTransformation]
OPTIMIZERS: dict[str, Builder] = {}


def register(name: str, **keys):
  """Decorator adding ``builder(learning_rate, cfg)`` under ``name``. ``keys`` are the
  settings (with defaults) of a new optimizer's config group, besides the common ones; the
  built-in optimizers' are in ``ganjax.schema.OPTIMIZER_KEYS``."""
  if keys or name not in schema.OPTIMIZER_KEYS:
    schema.OPTIMIZER_KEYS[name] = dict(keys)

  def wrap(builder: Builder) -> Builder:
    OPTIMIZERS[name] = builder
    return builder
  return wrap


@register("adam")
def _adam(lr, cfg):
  return optax.adam(lr, b1=cfg.b1, b2=cfg.b2, eps=cfg.eps,
                    eps_root=cfg.eps_root)


@register("rmsprop")
def _rmsprop(lr, cfg):
  return optax.rmsprop(lr, decay=cfg.decay, eps=cfg.eps)


@register("sgd")
def _sgd(lr, cfg):
  return optax.sgd(lr)


@register("momentum")
def _momentum(lr, cfg):
  return optax.sgd(lr, momentum=cfg.momentum, nesterov=cfg.nesterov)


@register("cg")
def _conjugate_gradient(lr, cfg):
  return conjugate.conjugate_gradient(lr, beta=cfg.beta,
                                      beta_max=cfg.beta_max,
                                      beta_scale=cfg.beta_scale)


@register("orthogonal")
def _orthogonal_gradient(lr, cfg):
  nesterov = cfg.nesterov
  fallback = optax.adam(lr, b1=cfg.b1, b2=cfg.b2,
                        eps=cfg.eps, nesterov=nesterov)
  threshold = cfg.projection_threshold
  return orthogonal.orthogonal_gradient(
      lr, mode=cfg.mode, momentum=cfg.momentum, nesterov=nesterov,
      ns_steps=cfg.ns_steps, scale_by_shape=cfg.scale_by_shape,
      keep_norm=cfg.keep_norm,
      threshold=threshold if threshold > 0 else None, fallback=fallback)


SCHEDULES = ("constant", "cosine", "linear", "inverse_sqrt")


def _check(cfg: ml_collections.ConfigDict, key: str) -> None:
  """Fails in one line on an optimizer or schedule name that is not registered, or a
  learning rate that is not positive (``cfg`` filled from the schema)."""
  check_choice(f"{key}.name", cfg.name, sorted(OPTIMIZERS))
  check_choice(f"{key}.schedule", cfg.schedule, SCHEDULES)
  if cfg.learning_rate <= 0:
    raise UserError(f"config.{key}.learning_rate must be positive, got {cfg.learning_rate}")


def learning_rate_schedule(cfg: ml_collections.ConfigDict, total_steps: int) -> optax.Schedule:
  """The schedule ``cfg.schedule`` over ``total_steps`` optimizer updates, after warm-up.

  ``inverse_sqrt`` is αₜ = α / √(1 + t), t counted from the end of the warm-up: a diminishing
  step size (Σ αₜ = ∞, Σ αₜ² grows only as log t), one of the three rules under which
  Naganuma & Iiduka (2023) prove their conjugate-gradient GAN training converges.
  """
  cfg = schema.filled(cfg, "optimizer")
  lr = cfg.learning_rate
  warmup = cfg.warmup_steps
  name = cfg.schedule
  decay_steps = max(total_steps - warmup, 1)
  end = lr * cfg.end_learning_rate_factor
  if name == "constant":
    main = optax.constant_schedule(lr)
  elif name == "cosine":
    main = optax.cosine_decay_schedule(lr, decay_steps, alpha=cfg.end_learning_rate_factor)
  elif name == "inverse_sqrt":
    def main(count):
      return lr / jnp.sqrt(1.0 + count)
  else:
    check_choice("optimizer.schedule", name, SCHEDULES)
    main = optax.linear_schedule(lr, end, decay_steps)
  if warmup:
    return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), main], [warmup])
  return main


def make(cfg: ml_collections.ConfigDict, total_steps: int,
         key: str = "optimizer") -> optax.GradientTransformation:
  """Builds the optimizer that ``cfg`` (``config.<key>``: optimizer.g or .d) describes.
  Building is cheap (nothing compiles), so ``config.validate`` builds both to check them."""
  cfg = schema.filled(cfg, "optimizer")
  _check(cfg, key)
  try:
    tx = OPTIMIZERS[cfg.name](learning_rate_schedule(cfg, total_steps), cfg)
  except ValueError as e:  # a transform refusing a hyper-parameter is a config error
    raise UserError(f"optimizer {cfg.name!r}: {e}") from None
  multipliers = dict(cfg.lr_multipliers)
  if multipliers:
    tx = optax.chain(tx, layer_scale.scale_by_layer(multipliers))
  clip = cfg.grad_clip_norm
  return optax.chain(optax.clip_by_global_norm(clip), tx) if clip else tx
