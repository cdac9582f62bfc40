"""``config.num_seeds``: K runs of seeds ``seed, …, seed + K − 1`` trained as one program.

Their states are stacked along a new leading axis and stepped by ``jax.vmap`` of one
run's step; each seed keeps its own data order, latents, metrics and samples, in
``workdir/seed_<s>/``, while the stacked checkpoint stays in ``workdir``. A run of one
seed has no extra axis and writes straight into ``workdir``.
"""

import os

import jax
import ml_collections
import numpy as np


def run_seeds(config: ml_collections.ConfigDict) -> list[int]:
  """The seeds of the runs a config trains: ``seed, ..., seed + num_seeds − 1``."""
  return [config.seed + k for k in range(config.num_seeds)]


def seed_workdirs(workdir: str, config: ml_collections.ConfigDict) -> list[str]:
  """Where each seed's metrics and samples go: the workdir itself for one seed, else
  ``workdir/seed_<s>/`` (the checkpoint of the stacked states stays in ``workdir``)."""
  seeds = run_seeds(config)
  return [workdir] if len(seeds) == 1 else [os.path.join(workdir, f"seed_{s}") for s in seeds]


def seed_slice(state, index: int):
  """Run ``index`` of a state stacked over seeds."""
  return jax.tree.map(lambda x: x[index], state)


def per_seed(state, num_seeds: int) -> list:
  """Each seed's part of a host state (the state itself when there is one seed)."""
  return [state] if num_seeds == 1 else [seed_slice(state, k) for k in range(num_seeds)]


def run_scalar(x) -> float:
  """A per-run scalar of the state, such as its step (the same for every seed of a state
  stacked over seeds)."""
  return float(np.ravel(x)[0])
