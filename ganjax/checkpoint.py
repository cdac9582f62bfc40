"""Checkpoints of the GAN state; the only module that imports Orbax.

Saves are asynchronous (the train loop continues while Orbax writes) and keep the newest
``max_to_keep`` steps. Restores go into an abstract state (``jax.eval_shape`` of the
initialiser) so a checkpoint that does not fit the configured model is refused, not reshaped.
"""

import os

import jax
import orbax.checkpoint as ocp

from ganjax.errors import UserError


class Checkpointer:
  """Orbax ``CheckpointManager`` over ``directory`` for one GAN state pytree."""

  def __init__(self, directory: str, max_to_keep: int = 3, async_save: bool = True):
    self.directory = os.path.abspath(directory)
    self._manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep,
                                             enable_async_checkpointing=async_save))

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, step: int, state) -> None:
    """Starts saving ``state`` (host or device arrays) as ``step``; returns before the write ends."""
    self._manager.save(step, args=ocp.args.StandardSave(state))

  def restore(self, abstract_state, step: int | None = None):
    """Restores ``step`` (default: latest) into the structure and shapes of ``abstract_state``."""
    step = self.latest_step() if step is None else step
    if step is None:
      raise UserError(f"no checkpoint in {self.directory}; train first")
    try:
      restored = self._manager.restore(step, args=ocp.args.StandardRestore(abstract_state))
    except (ValueError, KeyError, TypeError) as e:
      first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
      raise self._misfit(step, first) from None
    for (path, want), got in zip(jax.tree_util.tree_flatten_with_path(abstract_state)[0],
                                 jax.tree.leaves(restored)):
      if tuple(want.shape) != tuple(got.shape):
        raise self._misfit(step, f"{jax.tree_util.keystr(path)} is {tuple(got.shape)} in the "
                                 f"checkpoint, {tuple(want.shape)} in the config")
    return restored

  def _misfit(self, step: int, detail: str) -> UserError:
    return UserError(f"checkpoint {step} in {self.directory} does not fit the model in the "
                     f"config ({detail}); use a fresh --workdir or the config it was trained with")

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()

