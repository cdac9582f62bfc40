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
  with open(path) as f:
    return config_lib.with_defaults(ml_collections.ConfigDict(json.load(f)))


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
