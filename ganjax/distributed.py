"""Multi-host training: ``jax.distributed.initialize`` from the config or the environment.

Every process runs the same ``ganjax train`` command; ``pmap`` then spans the devices of all
processes, each process feeds its own slice of the global batch (``ganjax.parallel``), only
process 0 writes metrics, samples and plots, and every process takes part in Orbax's saves.
On CPU the cross-process collectives use gloo.

  GANJAX_COORDINATOR=10.0.0.1:1234 GANJAX_NUM_PROCESSES=2 GANJAX_PROCESS_ID=0 ganjax train ...

or ``--config.distributed.coordinator=... --config.distributed.num_processes=2
--config.distributed.process_id=0``; the environment wins over the config.
"""

import os

import jax
import ml_collections
import numpy as np

from ganjax.errors import UserError

_joined = False  # jax.distributed.initialize may run once per process
ENV = {"coordinator": "GANJAX_COORDINATOR", "num_processes": "GANJAX_NUM_PROCESSES",
       "process_id": "GANJAX_PROCESS_ID"}


def settings(config: ml_collections.ConfigDict) -> dict:
  """Coordinator address, process count and this process's id (environment first)."""
  cfg = config.distributed
  out = {"coordinator": cfg.coordinator, "num_processes": cfg.num_processes,
         "process_id": cfg.process_id}
  for key, env in ENV.items():
    if os.environ.get(env):
      out[key] = os.environ[env] if key == "coordinator" else int(os.environ[env])
  return out


def initialize(config: ml_collections.ConfigDict) -> None:
  """Joins the multi-process run the config or environment describes; a no-op for one
  process. Call before any JAX computation."""
  global _joined
  s = settings(config)
  if s["num_processes"] <= 1 or _joined:
    return
  if not s["coordinator"] or not 0 <= s["process_id"] < s["num_processes"]:
    raise UserError(f"a {s['num_processes']}-process run needs a coordinator host:port and a "
                    f"process id in 0..{s['num_processes'] - 1}; got {s['coordinator']!r} and "
                    f"{s['process_id']} (config.distributed.* or {', '.join(ENV.values())})")
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(s["coordinator"], num_processes=s["num_processes"],
                             process_id=s["process_id"])
  _joined = True


def primary_decides(decision: bool) -> bool:
  """Process 0's ``decision``, in every process (one collective; a no-op for one process).

  For choices that every process must act on alike (Orbax saves are collective) but that
  only process 0 can make, such as whether an evaluation found a new best FID.
  """
  if jax.process_count() == 1:
    return decision
  from jax.experimental import multihost_utils
  return bool(multihost_utils.broadcast_one_to_all(np.asarray(decision)))


def is_primary() -> bool:
  """Whether this process writes the run's files (process 0)."""
  return jax.process_index() == 0
