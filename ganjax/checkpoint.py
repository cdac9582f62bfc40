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

import contextlib
import logging
import os
import shutil
import sys
import tempfile
import time

import jax
import orbax.checkpoint as ocp

from ganjax.errors import DISK_FULL_TEXT, UserError, disk_full, first_line
from ganjax.state import state_digest


_silenced = False  # _silence_orbax_noise has run in this process
# A reader retries while a concurrent writer replaces the steps it lists (``restore``).
READ_ATTEMPTS = 20
READ_RETRY_SECONDS = 0.2


class CorruptCheckpoint(Exception):
  """A checkpoint that cannot be read back as it was written."""


class Checkpointer:
  """Orbax ``CheckpointManager`` over ``directory`` for one GAN state pytree."""

  def __init__(self, directory: str, max_to_keep: int = 3, async_save: bool = True):
    _silence_orbax_noise()
    self.directory = os.path.abspath(directory)
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep,
                                           enable_async_checkpointing=async_save)
    self._manager = _listing(lambda: ocp.CheckpointManager(self.directory, options=options))

  def latest_step(self) -> int | None:
    return _listing(self._manager.latest_step)

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

    A reader may race a training run that replaces its checkpoints (``keep_checkpoints``):
    a step that disappears while being read was replaced, not corrupt, so the newest steps
    are listed again and read again until the list holds still. Raises ``UserError`` when
    there is no checkpoint, when it does not fit the model, or when none can be read.
    """
    steps = self._steps(step)
    for _ in range(READ_ATTEMPTS):
      if not steps:
        raise UserError(f"no checkpoint in {self.directory}; train first")
      state, failed = self._newest_verified(steps, abstract_state, snapshot=not quarantine)
      failed = [(s, why, misfit) for s, why, misfit in failed if self._exists(s)]
      if state is not None:
        for bad, why, _ in failed:
          self._report_corrupt(bad, why, state[1], quarantine)
        if step is None:
          for stray in self._not_directories(newer_than=state[1]):
            self._report_corrupt(stray, "a file, not a checkpoint directory", state[1],
                                 quarantine)
        return state[0]
      time.sleep(READ_RETRY_SECONDS)
      _listing(self._manager.reload)
      listed, steps = steps, self._steps(step)
      if steps == listed and len(failed) == len(listed):  # nothing moved: they are corrupt
        break
    else:
      raise UserError(f"the checkpoints in {self.directory} kept changing while being read "
                      "(a run is writing them); try again")
    newest, why, _ = failed[0]
    if all(misfit for *_, misfit in failed):
      raise UserError(f"checkpoint {newest} in {self.directory} does not fit the model in the "
                      f"config ({why}); use a fresh --workdir or the config it was trained with")
    raise UserError(f"no checkpoint in {self.directory} can be read (step {newest}: {why}); "
                    "restore the directory from a backup or use a fresh --workdir")

  def _steps(self, step: int | None) -> list[int]:
    """``[step]`` if it is given, else every saved step, newest first."""
    return [step] if step is not None else sorted(_listing(self._manager.all_steps),
                                                  reverse=True)

  def _not_directories(self, newer_than: int) -> list[int]:
    """Step-named entries after ``newer_than`` that are not directories: a file left where a
    checkpoint was, which Orbax does not list and a restore would otherwise skip in silence."""
    try:
      names = os.listdir(self.directory)
    except OSError:
      return []
    return sorted(int(n) for n in names if n.isdigit() and int(n) > newer_than
                  and not os.path.isdir(os.path.join(self.directory, n)))

  def _exists(self, step: int) -> bool:
    return os.path.isdir(os.path.join(self.directory, str(step)))

  def _newest_verified(self, steps: list[int], abstract_state, snapshot: bool):
    """((state, step), failures before it) for the first of ``steps`` that verifies, or
    (None, failures) with a (step, reason, structure or shape mismatch) for each. With
    ``snapshot`` each step is read from hard links to its files (``_linked_copy``)."""
    failed = []
    for s in steps:
      with _linked_copy(self.directory, s) if snapshot else contextlib.nullcontext() as copy:
        manager = self._manager if copy is None else copy
        # Reasons name the step's own directory, not the links read in its place.
        here = lambda why: why.replace(str(manager.directory), self.directory)  # noqa: E731
        try:
          return (self._restore_verified(manager, s, abstract_state), s), failed
        except CorruptCheckpoint as e:
          failed.append((s, first_line(here(str(e))), False))
        except ValueError as e:  # a structure or shape mismatch, unless an older one reads
          failed.append((s, first_line(here(str(e))), True))
    return None, failed

  @staticmethod
  def _restore_verified(manager, step: int, abstract_state):
    try:
      restored = manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(abstract_state), digest=ocp.args.JsonRestore()))
    except ValueError as e:  # a misfit only if the checkpoint reads as it was stored
      _readable_as_stored(manager, step)
      raise ValueError(str(e)) from None
    except Exception as e:  # Orbax and TensorStore raise bare Exception, OSError, KeyError
      raise CorruptCheckpoint(str(e) or type(e).__name__) from None
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


def _readable_as_stored(manager, step: int) -> None:
  """Raises ``CorruptCheckpoint`` unless ``step`` restores in its own stored structure."""
  try:
    manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))
  except Exception as e:
    raise CorruptCheckpoint(str(e) or type(e).__name__) from None


@contextlib.contextmanager
def _linked_copy(directory: str, step: int):
  """A read-only CheckpointManager over hard links to ``step``'s files, made beside
  ``directory`` and removed after: a training run may then delete the step (replacing it
  with a newer one) while this read holds its files. None where links cannot be made
  (a read-only workdir, a filesystem without them): the read goes to the step itself."""
  root = None
  try:
    root = tempfile.mkdtemp(prefix=".ganjax-read-", dir=os.path.dirname(directory))
    source = os.path.join(directory, str(step))
    for folder, _, files in os.walk(source):
      target = os.path.join(root, str(step), os.path.relpath(folder, source))
      os.makedirs(target, exist_ok=True)
      for name in files:
        os.link(os.path.join(folder, name), os.path.join(target, name))
    manager = ocp.CheckpointManager(root, options=ocp.CheckpointManagerOptions(read_only=True))
  except OSError:
    manager = None
  try:
    yield manager
  finally:
    if manager is not None:
      manager.close()
    if root is not None:
      shutil.rmtree(root, ignore_errors=True)


def _listing(read):
  """``read()`` (Orbax listing the step directories), again while a concurrent writer
  deletes a step between the listing and its ``stat``."""
  for _ in range(READ_ATTEMPTS - 1):
    try:
      return read()
    except FileNotFoundError:
      time.sleep(READ_RETRY_SECONDS)
  return read()


def _silence_orbax_noise() -> None:
  """Keeps Orbax's internals off the user's terminal; ganjax reports what matters itself.

  - Orbax's absl warnings (e.g. that it removes an unfinished write left by a killed run)
    are dropped, and so are its error logs of a full disk, which the CLI reports in one
    line; its other errors still print.
  - When one array fails to read or write, its siblings' futures fail too and asyncio logs
    each as "exception was never retrieved": dropped, the restore reports the failure.
    Orbax then closes its asyncio loop while TensorStore
    finishes the other operations; each then calls back into the closed loop, and Python
    prints that RuntimeError (as an unraisable exception, or by ``sys.excepthook`` from
    TensorStore's threads): dozens of tracebacks with no information. Only that exact
    error is dropped.
  """
  global _silenced
  if _silenced:  # once per process: every Checkpointer would wrap the hooks again
    return
  _silenced = True
  logging.getLogger("absl").addFilter(_orbax_record_shown)
  logging.getLogger("asyncio").addFilter(_asyncio_record_shown)
  unraisable_hook, except_hook = sys.unraisablehook, sys.excepthook

  def noise(error) -> bool:
    return isinstance(error, RuntimeError) and str(error) == "Event loop is closed"

  def on_unraisable(unraisable):
    if not noise(unraisable.exc_value):
      unraisable_hook(unraisable)

  def on_exception(kind, error, traceback):
    if not noise(error):
      except_hook(kind, error, traceback)

  sys.unraisablehook, sys.excepthook = on_unraisable, on_exception


def _asyncio_record_shown(record: logging.LogRecord) -> bool:
  return not record.getMessage().split("\n", 1)[0].endswith("exception was never retrieved")


def _orbax_record_shown(record: logging.LogRecord) -> bool:
  if f"{os.sep}orbax{os.sep}" not in record.pathname:
    return True
  if record.levelno < logging.ERROR:
    return False
  error = record.exc_info[1] if record.exc_info else None
  return not (disk_full(error) or DISK_FULL_TEXT in record.getMessage())
