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

from ganjax import augment, cpu, data, latents, models, objectives, parallel
from ganjax.errors import UserError, check_choice
from ganjax.metrics import features
from ganjax.optim import factory
# The schema's builders, for experiment configs (``from ganjax.config import base_config``).
from ganjax.schema import (BOUNDS, balanced_mlp_model, base_config, dcgan28_model,  # noqa: F401
                           filled, mlp_model, model_keys, optimizer_config,
                           renamed_optimizer, with_defaults)

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


def flat_keys(config: ml_collections.ConfigDict) -> list[str]:
  """All dotted leaf keys of a config."""
  return list(flat_items(config))


def flat_items(tree, prefix: str = "") -> dict:
  """``{dotted key: value}`` over the leaves of a config or of its JSON dict."""
  flat = {}
  for key, value in tree.items():
    if isinstance(value, (dict, ml_collections.ConfigDict)):
      flat.update(flat_items(value, f"{prefix}{key}."))
    else:
      flat[f"{prefix}{key}"] = value
  return flat


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


OPTIMIZER_NAMES = ("optimizer.g.name", "optimizer.d.name")


def _names_first(values: dict) -> list:
  """Optimizer names before other keys: a new name reshapes its group (its own keys)."""
  return sorted(values.items(), key=lambda item: item[0] not in OPTIMIZER_NAMES)


def _rename_optimizer(config: ml_collections.ConfigDict, key: str, name) -> None:
  player = key.split(".")[1]
  config.optimizer[player] = renamed_optimizer(config.optimizer[player], name)


def apply_overrides(config: ml_collections.ConfigDict, overrides: dict[str, str]) -> None:
  """Sets each dotted ``key`` to its parsed value, refusing keys the config lacks. A new
  ``optimizer.{g,d}.name`` comes first and brings that optimizer's own keys."""
  for key, text in _names_first(overrides):
    node, leaf = _parent(config, key, flat_keys(config))
    value = _parse_value(text, node[leaf], key)
    if key in OPTIMIZER_NAMES:
      _rename_optimizer(config, key, value)
    else:
      node[leaf] = value


def set_values(config: ml_collections.ConfigDict, values: dict) -> None:
  """Sets each dotted ``key`` to a Python value of its current type (ints widen to float).

  A key naming a group (``optimizer.g``) replaces the whole group with the given dict; a
  new ``optimizer.{g,d}.name`` comes first and brings that optimizer's own keys.
  """
  for key, value in _names_first(values):
    valid = flat_keys(config)
    subtrees = sorted({k.rsplit(".", i)[0] for k in valid for i in range(1, k.count(".") + 1)})
    node, leaf = _parent(config, key, valid + subtrees)
    if key in OPTIMIZER_NAMES:
      _rename_optimizer(config, key, value)
      continue
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
  """Checks the keys every experiment needs, every numeric key's range (``schema.BOUNDS``),
  every name against its registry and the combinations that exclude each other."""
  flat = flat_items(config)
  missing = [k for k in REQUIRED_KEYS if k not in flat]
  if missing:
    raise UserError(f"config lacks required keys: {', '.join(missing)}")
  for key, bounds in BOUNDS.items():
    value = flat[key]
    if not bounds.holds(value):
      raise UserError(f"config.{key} must be {bounds.text()}{bounds.why}, got {value}")
  if config.latent_distribution not in latents.DISTRIBUTIONS:
    raise UserError(f"config.latent_distribution must be one of {latents.DISTRIBUTIONS}, "
                    f"got {config.latent_distribution!r}")
  _validate_names(config)
  _validate_loss(config.loss)
  for key in ("d_entropy", "d_consistency"):
    if config.loss[key] and not config.model.semi_supervised_classes:
      raise UserError(f"config.loss.{key} needs a semi-supervised discriminator; set "
                      "config.model.semi_supervised_classes")
  if config.data.xflip and config.data.on_device:
    raise UserError("config.data.xflip mirrors batches on the host; it cannot be combined with "
                    "config.data.on_device=True yet (turn one off)")
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


def _validate_names(config: ml_collections.ConfigDict) -> None:
  """Every name a key may take comes from its registry: models, optimizers (with their
  hyper-parameters) and schedules, data sources, parallel modes (losses: ``_validate_loss``)."""
  models.check(config.model)
  for player in ("g", "d"):  # hyper-parameters too: building a transform compiles nothing
    factory.make(config.optimizer[player], config.total_steps, f"optimizer.{player}")
  check_choice("data.source", config.data.source, data.SOURCES)
  check_choice("parallel.mode", config.parallel.mode, parallel.MODES)
  check_choice("fast_paths", config.fast_paths, cpu.SETTINGS)
  check_choice("loss.perceptual_net", config.loss.perceptual_net, tuple(features.NETWORKS))
  for op in augment.parse(config.augment.policy):
    check_choice("augment.policy", op, augment.POLICIES)


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
