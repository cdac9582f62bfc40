"""Data-parallel wrappers for a per-device train step.

The step is written per device and averages with ``jax.lax.pmean(..., AXIS)``. ``pmap``
(default) keeps a replicated copy of the state per device (leading axis); ``shard_map``
keeps one logical state replicated by sharding over a 1-D mesh and compiles with ``jax.jit``.
A single device is the same code on a one-device axis, so all three run one function.
With ``num_seeds = K > 1`` the state and batches carry a leading seed axis and the step is
``jax.vmap``-ed over it: K independent runs as one program on the same devices.
"""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from ganjax.errors import UserError

AXIS = "batch"
MODES = ("pmap", "shard_map")


class DataParallel:
  """Places state and batches on ``num_devices`` local devices and runs the step there.

  Batches arrive as host arrays shaped (n_critic, global_batch, ...), or (num_seeds,
  n_critic, global_batch, ...), and are split along the global-batch axis.
  """

  def __init__(self, mode: str = "pmap", num_devices: int = 0, num_seeds: int = 1):
    if mode not in MODES:
      raise UserError(f"unknown config.parallel.mode {mode!r}; choose from {', '.join(MODES)}")
    available = jax.local_devices()
    if num_devices > len(available):
      raise UserError(f"config.parallel.num_devices={num_devices} but only "
                      f"{len(available)} local devices exist")
    self.processes, self.process = jax.process_count(), jax.process_index()
    if self.processes > 1 and (mode != "pmap" or num_devices):
      raise UserError("a multi-process run uses config.parallel.mode=pmap over every device "
                      "of every process (config.parallel.num_devices=0)")
    self.mode = mode
    self.devices = available[:num_devices] if num_devices else available
    self.num_devices = len(self.devices)  # this process's
    self.mesh = Mesh(np.array(self.devices), (AXIS,))
    self.num_seeds = num_seeds
    self.batch_axis = 1 if num_seeds == 1 else 2  # after (num_seeds,) n_critic

  def check_batch(self, global_batch: int) -> None:
    total = self.num_devices * self.processes
    if global_batch % total:
      raise UserError(f"batch_size {global_batch} is not divisible by the {total} "
                      f"devices; use a multiple of {total} or set "
                      "config.parallel.num_devices")

  def compile(self, step_fn):
    """Wraps ``step_fn(state, batch) -> (state, metrics)`` written per device."""
    if self.num_seeds > 1:
      step_fn = jax.vmap(step_fn)
    if self.mode == "pmap":
      # Across processes pmap must span the global devices (devices=None): with this
      # process's devices named, its collectives would stay within the process.
      devices = None if self.processes > 1 else self.devices
      return jax.pmap(step_fn, axis_name=AXIS, devices=devices, donate_argnums=0)
    # check_vma=False keeps pmap's semantics: a gradient with respect to the replicated
    # state is the per-device gradient, averaged by the step's own pmean (with type
    # checking on, its transpose would already psum it across devices).
    mapped = jax.shard_map(step_fn, mesh=self.mesh, in_specs=(P(), self._batch_spec()),
                           out_specs=(P(), P()), check_vma=False)
    return jax.jit(mapped, donate_argnums=0)

  def put_state(self, state):
    """Host state → device state (replicated)."""
    if self.mode == "pmap":
      stacked = jax.tree.map(lambda x: np.broadcast_to(x, (self.num_devices, *np.shape(x))), state)
      return jax.device_put(stacked, NamedSharding(self.mesh, P(AXIS)))
    return jax.device_put(state, NamedSharding(self.mesh, P()))

  def get_state(self, state):
    """Device state → one host copy."""
    return self._first_replica(state)

  def _first_replica(self, tree):
    """Host copy of a replicated device tree, read from this process's first device.

    Under pmap each device holds a whole replica along the leading axis. Reading it from
    a local shard keeps this off the other processes: ``x[0]`` on an array that spans
    processes is a program every process must run at the same point, and a process that
    reads at another time (process 0 plots first) waits on the others forever.
    """
    if self.mode == "pmap":
      return jax.tree.map(lambda x: np.asarray(x.addressable_data(0))[0], tree)
    return jax.device_get(tree)

  def _batch_spec(self) -> P:
    return P(*[None] * self.batch_axis, AXIS)

  def put_batch(self, batch: dict):
    """([num_seeds,] n_critic, B, ...) host arrays → per-device shards of B (of this
    process's slice of B when several processes share the global batch)."""
    a = self.batch_axis
    if self.processes > 1:
      def own_slice(x):
        per_process = x.shape[a] // self.processes
        return x[(slice(None),) * a + (slice(self.process * per_process,
                                             (self.process + 1) * per_process),)]
      batch = jax.tree.map(own_slice, batch)
    if self.mode == "pmap":
      def split(x):
        return np.moveaxis(x.reshape(*x.shape[:a], self.num_devices, -1, *x.shape[a + 1:]), a, 0)
      batch = jax.tree.map(split, batch)
    return jax.device_put(batch, self.batch_sharding())

  def batch_sharding(self) -> NamedSharding:
    """Where :meth:`put_batch` places a batch: split over the devices along the batch axis
    (pmap: a leading device axis in front of it)."""
    return NamedSharding(self.mesh, P(AXIS) if self.mode == "pmap" else self._batch_spec())

  def put_replicated(self, tree):
    """Host arrays → one whole copy on each of this process's devices."""
    return jax.device_put(tree, NamedSharding(self.mesh, P()))

  def get_metrics(self, metrics) -> list[dict]:
    """Device metrics (already averaged over devices) → host floats, one dict per seed."""
    metrics = self._first_replica(metrics)
    if self.num_seeds == 1:
      return [{k: float(v) for k, v in metrics.items()}]
    return [{k: float(v[i]) for k, v in metrics.items()} for i in range(self.num_seeds)]
