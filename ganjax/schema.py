"""The config schema: every key an experiment has, with its default, in one place.

``base_config()`` is the whole tree; ``model_keys()`` the keys of ``config.model``;
``optimizer_config(name)`` the group of each of ``config.optimizer.g``/``.d``, which holds
the common keys and its own optimizer's only; ``dcgan28_model()``,
``mlp_model()`` and ``balanced_mlp_model()`` are model groups experiments start from.
``with_defaults`` fills a config (or an older run's ``config.json``) from the schema, and
``filled`` a single group handed straight to ``models.build``, ``data.open_source`` or
``optim.make``; library code reads keys without restating defaults. ``BOUNDS`` holds every
numeric key's range. Experiment configs import these builders from ``ganjax.config``, which
loads, overrides and validates.
"""

from typing import NamedTuple

import ml_collections

from ganjax import objectives
from ganjax.errors import UserError


class Range(NamedTuple):
  """The values a numeric key may take: lo ≤ x ≤ hi, with open ends where asked; ``why``
  finishes the message (" (0: off)")."""
  lo: float
  hi: float | None = None
  lo_open: bool = False
  hi_open: bool = False
  why: str = ""

  def holds(self, x) -> bool:
    above = x > self.lo if self.lo_open else x >= self.lo
    below = self.hi is None or (x < self.hi if self.hi_open else x <= self.hi)
    return above and below

  def text(self) -> str:
    if self.hi is None:
      return ("positive" if self.lo == 0 else f"> {self.lo}") if self.lo_open else f">= {self.lo}"
    return f"in {'(' if self.lo_open else '['}{self.lo}, {self.hi}{')' if self.hi_open else ']'}"


# The range of every bounded numeric key; ``config.validate`` checks them all before anything
# compiles. Loss weights (>= 0) and learning rates (> 0) are checked with their registries.
BOUNDS = {
    "seed": Range(0, 2 ** 32 - 1, why=" (a uint32 PRNG seed)"),
    "num_seeds": Range(1),
    **{key: Range(0, lo_open=True)
       for key in ("total_steps", "batch_size", "log_every", "ckpt_every", "sample_every")},
    "keep_checkpoints": Range(1, why=" (0 would keep no trained model)"),
    "n_critic": Range(1),
    "latent_dim": Range(1),
    "ema_decay": Range(0, 1, hi_open=True, why=" (0: no EMA)"),
    "d_ema_decay": Range(0, 1, hi_open=True, why=" (0: no EMA)"),
    "num_sample_images": Range(1),
    "eval_every": Range(0, why=" (0: no evaluation during training)"),
    "eval_num_samples": Range(2),
    "model.num_classes": Range(0, why=" (0: unconditional)"),
    "model.semi_supervised_classes": Range(0, why=" (0: off)"),
    "model.data_init_images": Range(0, why=" (0: off)"),
    "data.pad_to": Range(0, why=" (0: no padding)"),
    "data.labels_per_class": Range(0, why=" (0: all)"),
    "data.labeled_batch_size": Range(1),
    "parallel.num_devices": Range(0, why=" (0: every local device)"),
    "nonfinite.max_consecutive": Range(0, why=" (0: no guard)"),
    "nonfinite.max_rollbacks": Range(0),
    "nonfinite.lr_factor": Range(0, 1, lo_open=True, hi_open=True,
                                 why=" so that a rollback changes something"),
}


def with_defaults(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Adds every schema key ``config`` lacks, with its default, in place; returns it. The
  schema (:func:`base_config`, :func:`model_keys`, :func:`optimizer_config`) is the one place
  defaults live: library code reads keys directly, and an older run's ``config.json`` loads
  with today's defaults. The nets' own groups (``model.generator``/``discriminator``) stay."""
  _move_conv_algorithm(config)
  schema = base_config()
  schema.model = ml_collections.ConfigDict(model_keys())
  # Each optimizer group is filled by its own optimizer's schema, not by the default Adam's.
  schema.optimizer = ml_collections.ConfigDict(dict(g={}, d={}))
  _fill(config, schema)
  for player in ("g", "d"):
    _fill(config.optimizer[player], _optimizer_schema(config.optimizer[player]))
  return config


def _move_conv_algorithm(config: ml_collections.ConfigDict) -> None:
  """Configs written before ``config.fast_paths`` chose a convolution algorithm per net:
  ``xla`` meant the fast paths off, ``winograd``/``im2col`` on, ``auto`` as today."""
  model = config.model if "model" in config else {}
  for group in [model[net] for net in ("generator", "discriminator") if net in model]:
    if "conv_algorithm" in group:
      algorithm = group.conv_algorithm
      del group["conv_algorithm"]
      if "fast_paths" not in config:
        config.fast_paths = {"auto": "auto", "xla": "off"}.get(algorithm, "on")


def filled(group: ml_collections.ConfigDict, schema: str) -> ml_collections.ConfigDict:
  """A copy of ``config.model``, ``.data`` or ``.optimizer.*`` with the schema's missing keys."""
  group = ml_collections.ConfigDict(group.to_dict())
  if schema == "optimizer":
    _fill(group, _optimizer_schema(group))
  else:
    _fill(group, {"model": ml_collections.ConfigDict(model_keys()), "data": base_config().data}[schema])
  return group


def _fill(config: ml_collections.ConfigDict, schema: ml_collections.ConfigDict) -> None:
  for key, default in schema.items():
    if key not in config:
      config[key] = default
    elif isinstance(default, ml_collections.ConfigDict) and default:
      _fill(config[key], default)


# Every optimizer group has these keys (the learning-rate schedule, clipping and per-layer
# multipliers that ganjax.optim.factory wraps around any optimizer) ...
COMMON_OPTIMIZER_KEYS = dict(
    schedule="constant", warmup_steps=0, end_learning_rate_factor=0.0, grad_clip_norm=0.0,
    # {top-level layer name: m}: that layer learns at m × learning_rate (StyleGAN's mapping
    # network: {"MappingNetwork_0": 0.01}); set in a config file (ganjax.optim.layer_scale)
    lr_multipliers={})
_ADAM = dict(b1=0.5, b2=0.999, eps=1e-8,
             # adam divides by sqrt(v̂ + eps_root) + eps (Salimans et al.'s code: 0 and 1e-8)
             eps_root=0.0)
# ... and the keys of its own optimizer (``ganjax.optim.register(name, **keys)`` adds more).
OPTIMIZER_KEYS = {
    "adam": _ADAM,
    "rmsprop": dict(decay=0.9, eps=1e-8),
    "sgd": {},
    "momentum": dict(momentum=0.9, nesterov=False),
    # the β formula and its bounds (ganjax.optim.conjugate)
    "cg": dict(beta="fr", beta_max=0.5, beta_scale=1.0),
    # mode, Newton–Schulz steps, projection options (ganjax.optim.orthogonal); biases and
    # norm scales go to Adam with b1, b2, eps and nesterov
    "orthogonal": dict(mode="polar", ns_steps=5, scale_by_shape=True, keep_norm=False,
                       projection_threshold=0.1, momentum=0.9, nesterov=False,
                       **{k: _ADAM[k] for k in ("b1", "b2", "eps")}),
}


def optimizer_config(name: str = "adam", learning_rate: float = 2e-4,
                     **overrides) -> ml_collections.ConfigDict:
  """The group of optimizer ``name``: name, learning rate, the common keys and its own.

  ``overrides`` may set only keys the group has; a name no optimizer registered gets the
  common keys (``config.validate`` then refuses the name).
  """
  cfg = ml_collections.ConfigDict(dict(name=name, learning_rate=learning_rate,
                                       **COMMON_OPTIMIZER_KEYS, **OPTIMIZER_KEYS.get(name, {})))
  unknown = sorted(set(overrides) - set(cfg))
  if unknown:
    raise UserError(f"optimizer {name!r} has no setting {unknown[0]!r}; its settings: "
                    f"{', '.join(sorted(cfg.keys()))}")
  cfg.update(overrides)
  return cfg


def renamed_optimizer(group: ml_collections.ConfigDict, name: str) -> ml_collections.ConfigDict:
  """``group`` switched to optimizer ``name``: the keys both have keep their values, the new
  optimizer's own keys get their defaults, the old one's go."""
  new = optimizer_config(name)
  for key in new:
    if key != "name" and key in group:
      new[key] = group[key]
  return new


def _optimizer_schema(group: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  return optimizer_config(group.name) if "name" in group else optimizer_config()


def base_config() -> ml_collections.ConfigDict:
  """The keys every experiment has, with defaults; experiments change what they need."""
  c = ml_collections.ConfigDict()
  c.seed = 0
  # K > 1 trains seeds seed, ..., seed + K − 1 as one vmapped program: per-seed metrics and
  # samples in WORKDIR/seed_<s>/, one checkpoint of the stacked states (ganjax.seeds).
  c.num_seeds = 1
  c.total_steps = 1000
  c.batch_size = 128
  c.n_critic = 1                  # discriminator updates per generator update
  # True: G's update draws its own latents and real batch (feature matching's target) instead
  # of reusing the last critic update's, as Salimans et al. 2016's code; one more G forward.
  c.g_fresh_batch = False
  c.latent_dim = 100
  c.latent_distribution = "normal"  # or "uniform" (U(−1, 1)), "uniform01"; ganjax.latents
  c.ema_decay = 0.0               # > 0 keeps an EMA of the generator for sampling
  c.d_ema_decay = 0.0             # > 0 keeps an EMA of D (a semi-supervised D tests with it)
  # The CPU fast paths (ganjax.cpu): auto (on when JAX computes on the CPU), on or off.
  c.fast_paths = "auto"
  c.log_every = 50
  c.log_layer_norms = False       # per-layer gradient and update norms in the metrics
  c.ckpt_every = 500
  c.keep_checkpoints = 3
  # A step with a non-finite loss, gradient or parameter is rejected (state unchanged).
  # After max_consecutive such steps in a row: "rollback" to the last checkpoint with the
  # learning rates multiplied by lr_factor (at most max_rollbacks times), or "stop".
  # max_consecutive = 0 turns the guard off.
  c.nonfinite = ml_collections.ConfigDict(dict(
      max_consecutive=10, action="rollback", lr_factor=0.5, max_rollbacks=3))
  c.sample_every = 500
  c.num_sample_images = 64
  c.eval_every = 0                # > 0: FID & co. every N steps, best-FID checkpoint kept
  c.eval_num_samples = 2000
  c.data = ml_collections.ConfigDict(dict(
      name="fashion_mnist", source="auto", path="", split="train", download=False,
      # > 0: images zero-padded, centred, to pad_to × pad_to (28×28 data for 32×32 nets)
      pad_to=0,
      # Semi-supervised runs: labelled examples per class (0: all) and their batch size.
      labels_per_class=0, labeled_batch_size=64,
      # True: the whole dataset on every device, batches gathered there (ganjax.data.device)
      on_device=False,
      # True: each real example mirrored left-right with probability ½, drawn from (seed, step)
      xflip=False))
  c.model = ml_collections.ConfigDict(dict(name="dcgan", generator={}, discriminator={},
                                          **model_keys()))
  # The loss family (ganjax.objectives.losses) and the weight of every objective term
  # (ganjax.objectives.terms: each term's docstring has its math and paper); 0 turns one off.
  # real_label < 1: one-sided label smoothing; r1 is γ (the term adds γ/2·E‖∇D(x)‖²);
  # weight_clip is WGAN's c; manifold_epsilon the latent step of the manifold penalty;
  # perceptual_net the perceptual term's network: "eval", the evaluation feature net (so FID
  # is measured in the space the loss optimises), or "independent" (metrics.features).
  c.loss = ml_collections.ConfigDict(dict(
      name="non_saturating", real_label=1.0, gradient_penalty=0.0, r1=0.0, weight_clip=0.0,
      g_orthogonal_reg=0.0, class_weight=1.0, g_adversarial=1.0, feature_matching=0.0,
      perceptual=0.0, d_adversarial=1.0, d_entropy=0.0, d_manifold=0.0, manifold_epsilon=1.0,
      d_consistency=0.0, perceptual_net="eval"))
  for key in objectives.weight_keys():  # a newly registered term starts switched off
    if key not in c.loss:
      c.loss[key] = 0.0
  # DiffAugment (ganjax.augment): the ops applied to every image D sees in training, e.g.
  # "color,translation,cutout"; "" turns it off.
  c.augment = ml_collections.ConfigDict(dict(policy=""))
  c.optimizer = ml_collections.ConfigDict(dict(g=optimizer_config(), d=optimizer_config()))
  c.parallel = ml_collections.ConfigDict(dict(mode="pmap", num_devices=0))
  # Multi-host: every process runs the same command (ganjax.distributed); 1: one process.
  c.distributed = ml_collections.ConfigDict(dict(coordinator="", num_processes=1, process_id=0))
  return c


def model_keys(num_classes: int = 0, conditioning: str = "projection",
               semi_supervised_classes: int = 0, compute_dtype: str = "float32",
               data_init_images: int = 0) -> dict:
  """The keys every ``config.model`` has besides its nets: class conditioning and the
  semi-supervised D (``ganjax.models.conditional``; 0 classes = off), the computation
  dtype (``bfloat16``: mixed precision with float32 parameters, MLP and DCGAN nets), and the
  number of training images for the data-dependent initialisation of D's weight-normalised
  layers (``ganjax.models.data_init``; 0 = off)."""
  return dict(num_classes=num_classes, conditioning=conditioning,
              semi_supervised_classes=semi_supervised_classes, compute_dtype=compute_dtype,
              data_init_images=data_init_images)


def dcgan28_model(width: int = 64, kernel_size: int = 5) -> ml_collections.ConfigDict:
  """The 28×28 DCGAN of TensorFlow's tutorial (``width`` 64), with its overridable knobs.

  Generator stages have 4·width → 2·width → width channels, discriminator convs width → 2·width.
  """
  return ml_collections.ConfigDict(dict(
      name="dcgan", **model_keys(),
      generator=dict(features=(4 * width, 2 * width, width), upsample="subpixel",
                     kernel_size=kernel_size, activation="leaky_relu", batch_norm=True,
                     dropout=0.0),
      discriminator=dict(features=(width, 2 * width), kernel_size=kernel_size,
                         batch_norm=False, spectral_norm=False, dropout=0.3, input_noise_std=0.0,
                         noise_std=0.0)))


def mlp_model(hidden: tuple = (128, 128, 100), d_hidden: tuple = (128, 128)) -> ml_collections.ConfigDict:
  """The fully connected GAN of the MNIST tutorials: G 100 → 128 → 128 → 100 → 784 (ReLU,
  sigmoid output), D 784 → 128 → 128 → 1 (LeakyReLU), no dropout."""
  return ml_collections.ConfigDict(dict(
      name="mlp", **model_keys(),
      generator=dict(hidden=hidden, hidden_activation="relu", output_activation="sigmoid",
                     dropout=0.0, batch_norm=False, output_weight_norm=False),
      discriminator=dict(hidden=d_hidden, hidden_activation="leaky_relu", dropout=0.0,
                         spectral_norm=False, weight_norm=False, weight_norm_learn_scale=True,
                         input_noise_std=0.0, noise_std=0.0)))


def balanced_mlp_model() -> ml_collections.ConfigDict:
  """The tutorial MLP GAN with the changes that keep it from collapsing on Fashion-MNIST:
  LeakyReLU (slope 0.2) between G's layers, a tanh output (images in [-1, 1]) and dropout 0.3
  in D, as in Radford et al. (2016) and the TensorFlow DCGAN tutorial. Same widths.

  With Adam 2e-4, β1 0.5 and batch 64, :func:`mlp_model`'s D wins within 500 steps and G
  collapses to one binary-noise image; this one keeps D's loss near 0.6 and draws clothes
  (the MLP cells of the blur and MLP-vs-DCGAN studies, ``docs/results/``).
  """
  model = mlp_model()
  model.generator.update(hidden_activation="leaky_relu", output_activation="tanh")
  model.discriminator.dropout = 0.3
  return model
