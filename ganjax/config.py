"""Experiment configs: load ``experiments/*.py``, apply ``--config.KEY=VALUE``, validate.

A config module defines ``get_config() -> ml_collections.ConfigDict`` in the style of
big_vision. Overrides are typed by the value already in the config, so
``--config.batch_size=64`` stays an int and ``--config.optimizer.g.b1=0.5`` a float.
"""

import ast
import difflib
import importlib.util
import os
import sys

import ml_collections

from ganjax import latents, objectives
from ganjax.errors import UserError

NONFINITE_ACTIONS = ("rollback", "stop")
REQUIRED_KEYS = (
    "seed", "total_steps", "batch_size", "log_every", "ckpt_every", "sample_every",
    "data.name", "model.name", "loss.name", "optimizer.g.name", "optimizer.d.name",
)


def run_get_config(path: str, what: str = "config file",
                   where: str = "configs live in experiments/*.py"):
  """Imports the module at ``path`` and returns its ``get_config()``; any failure of the
  user's Python becomes a one-line ``UserError`` naming the file."""
  if not os.path.isfile(path):
    raise UserError(f"{what} {path!r} not found; {where}")
  spec = importlib.util.spec_from_file_location("ganjax_user_config", path)
  module = importlib.util.module_from_spec(spec)
  sys.path.insert(0, os.path.dirname(os.path.abspath(path)))  # the config's own modules
  try:
    spec.loader.exec_module(module)
    if not hasattr(module, "get_config"):
      raise UserError(f"{what} {path!r} has no get_config() function")
    return module.get_config()
  except UserError:
    raise
  except Exception as e:  # the user's Python: say where it failed, in one line
    line = f" (line {e.lineno})" if isinstance(e, SyntaxError) else ""
    raise UserError(f"{what} {path!r} failed to load{line}: {type(e).__name__}: "
                    f"{str(e).splitlines()[0] if str(e) else ''}; fix the file, or run with "
                    "--debug for the traceback") from e
  finally:
    sys.path.remove(os.path.dirname(os.path.abspath(path)))


def load(path: str, overrides: dict[str, str] | None = None) -> ml_collections.ConfigDict:
  """Loads the config module at ``path``, applies string overrides and validates."""
  config = run_get_config(path)
  if not isinstance(config, ml_collections.ConfigDict):
    raise UserError(f"config file {path!r}: get_config() returned "
                    f"{type(config).__name__}, not an ml_collections.ConfigDict")
  with_defaults(config)
  apply_overrides(config, overrides or {})
  validate(config)
  return config


def with_defaults(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Adds every schema key ``config`` lacks, with its default, in place; returns it. The
  schema (:func:`base_config`, :func:`model_keys`, :func:`optimizer_config`) is the one place
  defaults live: library code reads keys directly, and an older run's ``config.json`` loads
  with today's defaults. The nets' own groups (``model.generator``/``discriminator``) stay."""
  schema = base_config()
  schema.model = ml_collections.ConfigDict(model_keys())
  _fill(config, schema)
  for player in ("g", "d"):
    _fill(config.optimizer[player], optimizer_config())
  return config


def filled(group: ml_collections.ConfigDict, schema: str) -> ml_collections.ConfigDict:
  """A copy of ``config.model``, ``.data`` or ``.optimizer.*`` with the schema's missing keys."""
  group = ml_collections.ConfigDict(group.to_dict())
  _fill(group, {"model": ml_collections.ConfigDict(model_keys()), "data": base_config().data,
                "optimizer": optimizer_config()}[schema])
  return group


def _fill(config: ml_collections.ConfigDict, schema: ml_collections.ConfigDict) -> None:
  for key, default in schema.items():
    if key not in config:
      config[key] = default
    elif isinstance(default, ml_collections.ConfigDict) and default:
      _fill(config[key], default)


def flat_keys(config: ml_collections.ConfigDict, prefix: str = "") -> list[str]:
  """All dotted leaf keys of a config."""
  keys = []
  for key, value in config.items():
    name = f"{prefix}{key}"
    if isinstance(value, ml_collections.ConfigDict):
      keys += flat_keys(value, name + ".")
    else:
      keys.append(name)
  return keys


def _parse_value(text: str, current, key: str):
  """Parses ``text`` into the type of ``current`` (the value the config already holds)."""
  if isinstance(current, bool):
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
      return True
    if lowered in ("false", "0", "no"):
      return False
    raise UserError(f"--config.{key}={text}: expected a boolean (true/false)")
  if isinstance(current, str):
    return text
  try:
    value = ast.literal_eval(text)
  except (ValueError, SyntaxError):
    if current is None:
      return text
    raise UserError(f"--config.{key}={text}: expected {type(current).__name__}, "
                    f"got text that is not a Python literal") from None
  if current is None:
    return value
  if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
    return float(value)
  if isinstance(current, (tuple, list)) and isinstance(value, (tuple, list)):
    return type(current)(value)
  if type(value) is not type(current):
    raise UserError(f"--config.{key}={text}: expected {type(current).__name__}, "
                    f"got {type(value).__name__}")
  return value


def _parent(config: ml_collections.ConfigDict, key: str, valid: list[str]):
  """The node holding dotted ``key`` and the key's last part; unknown keys are refused."""
  if key not in valid:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f"; did you mean --config.{close[0]}?" if close else ""
    raise UserError(f"unknown config key {key!r}{hint}")
  *parents, leaf = key.split(".")
  node = config
  for part in parents:
    node = node[part]
  return node, leaf


def apply_overrides(config: ml_collections.ConfigDict, overrides: dict[str, str]) -> None:
  """Sets each dotted ``key`` to its parsed value, refusing keys the config lacks."""
  valid = flat_keys(config)
  for key, text in overrides.items():
    node, leaf = _parent(config, key, valid)
    node[leaf] = _parse_value(text, node[leaf], key)


def set_values(config: ml_collections.ConfigDict, values: dict) -> None:
  """Sets each dotted ``key`` to a Python value of its current type (ints widen to float).

  A key naming a group (``optimizer.g``) replaces the whole group with the given dict.
  """
  valid = flat_keys(config)
  subtrees = sorted({k.rsplit(".", i)[0] for k in valid for i in range(1, k.count(".") + 1)})
  for key, value in values.items():
    node, leaf = _parent(config, key, valid + subtrees)
    current = node[leaf]
    if isinstance(current, ml_collections.ConfigDict):
      if not isinstance(value, (dict, ml_collections.ConfigDict)):
        raise UserError(f"config.{key} is a group of settings; set it to a dict, or set one "
                        f"of its keys ({', '.join(sorted(current.keys()))})")
      node[leaf] = ml_collections.ConfigDict(
          value.to_dict() if isinstance(value, ml_collections.ConfigDict) else dict(value))
      continue
    if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
      value = float(value)
    if isinstance(current, (tuple, list)) and isinstance(value, (tuple, list)):
      value = type(current)(value)
    if current is not None and type(value) is not type(current):
      raise UserError(f"config.{key}={value!r}: expected {type(current).__name__}, "
                      f"got {type(value).__name__}")
    node[leaf] = value


def validate(config: ml_collections.ConfigDict) -> None:
  """Checks the keys every experiment needs and the values that must be positive."""
  valid = set(flat_keys(config))
  missing = [k for k in REQUIRED_KEYS if k not in valid]
  if missing:
    raise UserError(f"config lacks required keys: {', '.join(missing)}")
  for key in ("total_steps", "batch_size", "log_every", "ckpt_every", "sample_every"):
    if config[key] <= 0:
      raise UserError(f"config.{key} must be positive, got {config[key]}")
  if config.model.num_classes < 0:
    raise UserError(f"config.model.num_classes must be >= 0 (0: unconditional), "
                    f"got {config.model.num_classes}")
  if config.num_seeds < 1:
    raise UserError(f"config.num_seeds must be >= 1, got {config.num_seeds}")
  if config.latent_distribution not in latents.DISTRIBUTIONS:
    raise UserError(f"config.latent_distribution must be one of {latents.DISTRIBUTIONS}, "
                    f"got {config.latent_distribution!r}")
  if config.n_critic < 1:
    raise UserError(f"config.n_critic must be >= 1, got {config.n_critic}")
  _validate_loss(config.loss)
  for key in ("d_entropy", "d_consistency"):
    if config.loss[key] and not config.model.semi_supervised_classes:
      raise UserError(f"config.loss.{key} needs a semi-supervised discriminator; set "
                      "config.model.semi_supervised_classes")
  d_model = config.model.discriminator  # the net's own keys: absent means its default
  weight_norm = "weight_norm" in d_model and d_model.weight_norm
  if "weight_norm_learn_scale" in d_model and not d_model.weight_norm_learn_scale and not weight_norm:
    raise UserError("config.model.discriminator.weight_norm_learn_scale=False fixes the "
                    "weight-norm lengths; set config.model.discriminator.weight_norm=True")
  if config.model.data_init_images > 0:
    if not weight_norm:
      raise UserError("config.model.data_init_images initialises weight-normalised layers; "
                      "set config.model.discriminator.weight_norm=True")
    if config.model.num_classes:
      raise UserError("config.model.data_init_images needs an unconditional or "
                      "semi-supervised discriminator, not a class-conditional one")
  guard = config.nonfinite
  if guard.action not in NONFINITE_ACTIONS:
    raise UserError(f"config.nonfinite.action must be one of {', '.join(NONFINITE_ACTIONS)}, "
                    f"got {guard.action!r}")
  if guard.max_consecutive < 0 or guard.max_rollbacks < 0:
    raise UserError("config.nonfinite.max_consecutive and max_rollbacks must be >= 0")
  if not 0.0 < guard.lr_factor < 1.0:
    raise UserError(f"config.nonfinite.lr_factor must be in (0, 1) so that a rollback changes "
                    f"something, got {guard.lr_factor}")


def _validate_loss(loss: ml_collections.ConfigDict) -> None:
  losses = objectives.losses
  if loss.name not in losses.FAMILIES:
    raise UserError(f"unknown config.loss.name {loss.name!r}; choose from "
                    f"{', '.join(losses.FAMILIES)}")
  if loss.real_label != 1.0 and loss.name not in losses.SOFT_LABEL_FAMILIES:
    raise UserError(f"config.loss.real_label={loss.real_label} smooths a cross-entropy target; "
                    f"loss {loss.name!r} has none (use {' or '.join(losses.SOFT_LABEL_FAMILIES)})")
  for key in objectives.weight_keys():
    if loss[key] < 0:
      raise UserError(f"config.loss.{key} must be >= 0 (0 turns it off), got {loss[key]}")
  if loss.d_manifold and loss.manifold_epsilon <= 0:
    raise UserError(f"config.loss.manifold_epsilon is the latent step of the manifold penalty "
                    f"and must be > 0, got {loss.manifold_epsilon}")


def split_cli_overrides(argv: list[str]) -> tuple[list[str], dict[str, str]]:
  """Separates ``--config.KEY=VALUE`` / ``--config.KEY VALUE`` from other arguments."""
  rest, overrides = [], {}
  i = 0
  while i < len(argv):
    arg = argv[i]
    if arg.startswith("--config."):
      body = arg[len("--config."):]
      if "=" in body:
        key, value = body.split("=", 1)
      elif i + 1 < len(argv):
        key, value = body, argv[i + 1]
        i += 1
      else:
        raise UserError(f"{arg} needs a value: {arg}=VALUE")
      overrides[key] = value
    else:
      rest.append(arg)
    i += 1
  return rest, overrides


def optimizer_config(name: str = "adam", learning_rate: float = 2e-4,
                     **overrides) -> ml_collections.ConfigDict:
  """Every optimizer hyper-parameter the factory reads, so each can be overridden."""
  cfg = ml_collections.ConfigDict(dict(
      # adam divides by sqrt(v̂ + eps_root) + eps (Salimans et al.'s code: eps 0, eps_root 1e-8)
      name=name, learning_rate=learning_rate, b1=0.5, b2=0.999, eps=1e-8, eps_root=0.0,
      momentum=0.9, nesterov=False, decay=0.9, schedule="constant", warmup_steps=0,
      end_learning_rate_factor=0.0, grad_clip_norm=0.0,
      # {top-level layer name: m}: that layer learns at m × learning_rate (StyleGAN's mapping
      # network: {"MappingNetwork_0": 0.01}); set in a config file (ganjax.optim.layer_scale)
      lr_multipliers={},
      # cg: the β formula and its bounds (ganjax.optim.conjugate)
      beta="fr", beta_max=0.5, beta_scale=1.0,
      # orthogonal: mode, Newton–Schulz steps, projection options (ganjax.optim.orthogonal)
      mode="polar", ns_steps=5, scale_by_shape=True, keep_norm=False,
      projection_threshold=0.1))
  cfg.update(overrides)
  return cfg


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
      on_device=False))
  c.model = ml_collections.ConfigDict(dict(name="dcgan", generator={}, discriminator={},
                                          **model_keys()))
  # The loss family (ganjax.objectives.losses) and the weight of every objective term
  # (ganjax.objectives.terms: each term's docstring has its math and paper); 0 turns one off.
  # real_label < 1: one-sided label smoothing; r1 is γ (the term adds γ/2·E‖∇D(x)‖²);
  # weight_clip is WGAN's c; manifold_epsilon the latent step of the manifold penalty.
  c.loss = ml_collections.ConfigDict(dict(
      name="non_saturating", real_label=1.0, gradient_penalty=0.0, r1=0.0, weight_clip=0.0,
      g_orthogonal_reg=0.0, class_weight=1.0, g_adversarial=1.0, feature_matching=0.0,
      perceptual=0.0, d_adversarial=1.0, d_entropy=0.0, d_manifold=0.0, manifold_epsilon=1.0,
      d_consistency=0.0))
  for key in objectives.weight_keys():  # a newly registered term starts switched off
    if key not in c.loss:
      c.loss[key] = 0.0
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
