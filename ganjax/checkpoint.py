"""Checkpoints of the GAN state; the only module that imports Orbax.

Saves are asynchronous (the train loop continues while Orbax writes) and keep the newest
``max_to_keep`` steps. Each checkpoint stores the state beside its ``state_digest`` (sha256
over every leaf). A restore goes into an abstract state (``jax.eval_shape`` of the
initialiser), so a checkpoint that does not fit the configured model is refused, not
reshaped; and it recomputes the digest, because a flipped byte in Orbax's compressed chunks
can restore without any error.

A checkpoint that cannot be read or whose digest differs is *corrupt*: the restore reports
it in one line and falls back to the newest older checkpoint that verifies. With
``quarantine=True`` (the training loop) the corrupt step is moved to ``<directory>_corrupt/``
so that training can save that step again; nothing else is touched.
"""

import os
import shutil
import sys
import time

import jax
import orbax.checkpoint as ocp

from ganjax.errors import UserError
from ganjax.state import state_digest


class CorruptCheckpoint(Exception):
  """A checkpoint that cannot be read back as it was written."""


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
    """Starts saving host-side ``state`` as ``step``; returns before the write ends."""
    self._manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        digest=ocp.args.JsonSave({"state_digest": state_digest(state)})))

  def save_replacing(self, step: int, state) -> None:
    """Saves ``step`` after deleting every step at or after it (for non-chronological saves)."""
    for old in self._manager.all_steps():
      if old >= step:
        self._manager.delete(old)
    self.save(step, state)

  def restore(self, abstract_state, step: int | None = None, quarantine: bool = False):
    """Restores ``step``, or the newest checkpoint that verifies, into ``abstract_state``.

    Raises ``UserError`` when there is no checkpoint, when it does not fit the model, or
    when none can be read.
    """
    steps = [step] if step is not None else sorted(self._manager.all_steps(), reverse=True)
    if not steps:
      raise UserError(f"no checkpoint in {self.directory}; train first")
    failed = []  # (step, reason, whether it was a structure or shape mismatch)
    for s in steps:
      try:
        state = self._restore_verified(s, abstract_state)
      except CorruptCheckpoint as e:
        failed.append((s, str(e), False))
        continue
      except ValueError as e:  # a structure or shape mismatch, unless an older one reads
        failed.append((s, _first_line(e), True))
        continue
      for bad, why, _ in failed:
        self._report_corrupt(bad, why, s, quarantine)
      return state
    newest, why, _ = failed[0]
    if all(misfit for *_, misfit in failed):
      raise UserError(f"checkpoint {newest} in {self.directory} does not fit the model in the "
                      f"config ({why}); use a fresh --workdir or the config it was trained with")
    raise UserError(f"no checkpoint in {self.directory} can be read (step {newest}: {why}); "
                    "restore the directory from a backup or use a fresh --workdir")

  def _restore_verified(self, step: int, abstract_state):
    _ignore_reads_left_behind()
    try:
      restored = self._manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(abstract_state), digest=ocp.args.JsonRestore()))
    except ValueError as e:  # a misfit only if the checkpoint reads as it was stored
      self._readable_as_stored(step)
      raise ValueError(_first_line(e)) from None
    except Exception as e:  # Orbax and TensorStore raise bare Exception, OSError, KeyError
      raise CorruptCheckpoint(_first_line(e)) from None
    state = restored["state"]
    for (path, want), got in zip(jax.tree_util.tree_flatten_with_path(abstract_state)[0],
                                 jax.tree.leaves(state)):
      if tuple(want.shape) != tuple(got.shape):
        raise ValueError(f"{jax.tree_util.keystr(path)} is {tuple(got.shape)} in "
                         f"the checkpoint, {tuple(want.shape)} in the config")
    stored = (restored["digest"] or {}).get("state_digest")
    if stored != state_digest(state):
      raise CorruptCheckpoint("its contents do not match the digest written with it")
    return state

  def _readable_as_stored(self, step: int) -> None:
    """Raises ``CorruptCheckpoint`` unless ``step`` restores in its own stored structure."""
    try:
      self._manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))
    except Exception as e:
      raise CorruptCheckpoint(_first_line(e)) from None

  def _report_corrupt(self, step: int, why: str, used: int, quarantine: bool) -> None:
    moved = ""
    if quarantine:
      target = os.path.join(f"{self.directory}_corrupt", f"{step}-{int(time.time())}")
      os.makedirs(os.path.dirname(target), exist_ok=True)
      shutil.move(os.path.join(self.directory, str(step)), target)
      self._manager.reload()
      moved = f"; moved it to {target}"
    print(f"ganjax: warning: checkpoint {step} in {self.directory} is corrupt ({why}); "
          f"restored step {used} instead{moved}", file=sys.stderr)

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    """Waits for a save still being written, then releases the directory."""
    self.wait()
    self._manager.close()


def _ignore_reads_left_behind() -> None:
  """Silences the noise of a failed restore's other reads.

  When one array fails to read, Orbax closes its asyncio loop while TensorStore finishes
  the other reads; each then calls back into the closed loop, and Python prints that
  RuntimeError as an unraisable exception, dozens of tracebacks with no information. Only
  that exact error is dropped (``sys.unraisablehook``); everything else still prints.
  """
  previous = sys.unraisablehook
  if getattr(previous, "ganjax_filter", False):
    return

  def hook(unraisable):
    error = unraisable.exc_value
    if not (isinstance(error, RuntimeError) and str(error) == "Event loop is closed"):
      previous(unraisable)

  hook.ganjax_filter = True
  sys.unraisablehook = hook


def _first_line(error: Exception, limit: int = 160) -> str:
  text = str(error).strip()
  line = text.splitlines()[0] if text else type(error).__name__
  return line if len(line) <= limit else line[:limit] + "…"
