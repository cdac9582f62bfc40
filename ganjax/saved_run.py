"""A trained (or training) run read back from its workdir: ``config.json`` and the newest
checkpoint that verifies, for ``ganjax sample``/``info``/``eval`` and for sweeps."""

import json
import os

import ml_collections

from ganjax import config as config_lib
from ganjax.checkpoint import Checkpointer
from ganjax.errors import UserError
from ganjax.experiment import Experiment, abstract_state, build
from ganjax.seeds import run_seeds, seed_slice, seed_workdirs
from ganjax.state import GANState


def read_config(run_dir: str) -> ml_collections.ConfigDict | None:
  """The filled config of the run in ``run_dir``; None when it has none."""
  path = os.path.join(run_dir, "config.json")
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      saved = json.load(f)
    if not isinstance(saved, dict):
      raise ValueError(f"a JSON {type(saved).__name__}, not an object")
  except (ValueError, OSError) as e:
    raise UserError(f"{path} is not a ganjax config ({e}); restore it from a backup, or "
                    "train into a new --workdir") from None
  return config_lib.with_defaults(ml_collections.ConfigDict(saved))


# What a resumed run may change: how long it trains, how often it logs, samples, checkpoints
# and evaluates, and where and how it runs (devices, processes, data location, CPU fast
# paths, the non-finite guard). Anything else would change what the checkpoint means.
RESUMABLE_KEYS = ("total_steps", "log_every", "ckpt_every", "sample_every", "num_sample_images",
                  "eval_every", "eval_num_samples", "keep_checkpoints", "log_layer_norms",
                  "data.on_device", "data.download", "data.path", "data.image_shape",
                  "fast_paths")
RESUMABLE_GROUPS = ("parallel.", "distributed.", "nonfinite.")


def check_resume(workdir: str, config: ml_collections.ConfigDict) -> None:
  """Refuses to resume the run in ``workdir`` under a config that changes its meaning (seed,
  model, data, batch, losses, optimizers), naming the keys that differ."""
  saved = read_config(workdir)
  if saved is None:
    return
  def comparable(c):
    flat = config_lib.flat_items(json.loads(c.to_json()))
    return {k: v for k, v in flat.items() if k not in RESUMABLE_KEYS
            and not k.startswith(RESUMABLE_GROUPS)}
  before, now = comparable(saved), comparable(config)
  # Keys only the saved config has are ones today's schema dropped (a run made before).
  differ = [k for k in sorted(now) if k not in before or before[k] != now[k]]
  if differ:
    key, more = differ[0], f" (and {', '.join(differ[1:])})" if differ[1:] else ""
    raise UserError(f"{workdir} holds a run made with config.{key}={before.get(key)!r}, but "
                    f"this command sets {now.get(key)!r}{more}; a resumed run may change only "
                    "total_steps, the logging, sampling, checkpoint and evaluation intervals and "
                    "where it runs. Use a new --workdir for a different run")


def load_run(workdir: str, stacked: bool = False) -> tuple[Experiment, GANState]:
  """The experiment and latest checkpointed state of a finished or running workdir.

  For a run of ``config.num_seeds`` > 1, ``workdir/seed_<s>`` gives seed s's state (and
  an experiment whose ``config.seed`` is s); ``workdir`` itself the stacked states of all
  seeds, only with ``stacked=True``.
  """
  config, index = read_config(workdir), None
  run_dir = workdir
  if config is None:
    parent = os.path.dirname(os.path.normpath(workdir))
    config = read_config(parent)
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
