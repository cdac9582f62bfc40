"""The run directory: checked writable, and locked so that one run at a time uses it."""

import json
import os
import socket
import tempfile

from ganjax.errors import UserError

LOCK_FILE = ".lock"
# Wall time of every `ganjax train` call on the workdir, summed: {"train_seconds", "segments"}.
TIMING_FILE = "timing.json"


def prepare_workdir(workdir: str) -> None:
  """Creates ``workdir`` and checks that it is writable."""
  try:
    os.makedirs(workdir, exist_ok=True)
    # A probe of its own: the processes of a multi-host run share the workdir.
    fd, probe = tempfile.mkstemp(prefix=".write_test", dir=workdir)
    os.close(fd)
    os.remove(probe)
  except OSError as e:
    raise UserError(f"workdir {workdir!r} is not writable ({e.strerror}); choose another "
                    "--workdir or fix its permissions") from None


def write_atomically(path: str, data: str | bytes) -> None:
  """Writes ``path`` so that a crash leaves the old file or the new one, never half of one."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = f"{path}.tmp{os.getpid()}"
  try:
    with open(tmp, "wb" if isinstance(data, bytes) else "w") as f:
      f.write(data)
    os.replace(tmp, path)
  except OSError:
    if os.path.exists(tmp):  # a full disk or a bad target leaves nothing behind
      os.remove(tmp)
    raise


def checkpoint_bytes(workdir: str) -> int:
  """The size on disk of the newest checkpoint in ``workdir``; 0 when there is none."""
  directory = os.path.join(workdir, "checkpoints")
  steps = sorted((int(n) for n in _listdir(directory) if n.isdigit()), reverse=True)
  if not steps:
    return 0
  total = 0
  for root, _, files in os.walk(os.path.join(directory, str(steps[0]))):
    total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
  return total


def _listdir(path: str) -> list[str]:
  try:
    return os.listdir(path)
  except OSError:
    return []


def read_json(path: str):
  """The JSON value in ``path``; None when there is no such file."""
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def train_seconds(workdir: str) -> float:
  """The wall time of the ``ganjax train`` calls on ``workdir`` so far (0 before the first)."""
  timing = read_json(os.path.join(workdir, TIMING_FILE))
  return timing["train_seconds"] if timing else 0.0


def add_train_seconds(workdir: str, seconds: float) -> None:
  """Adds one ``ganjax train`` call's wall time (start-up and compilation included) to the
  workdir's total, so a run resumed many times is timed over all its segments."""
  path = os.path.join(workdir, TIMING_FILE)
  timing = read_json(path) or {"train_seconds": 0.0, "segments": 0}
  timing = {"train_seconds": timing["train_seconds"] + seconds,
            "segments": timing["segments"] + 1}
  write_atomically(path, json.dumps(timing))


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


class WorkdirLock:
  """``workdir/.lock`` holding "host pid"; refuses a second live run, replaces a stale lock.

  A lock is stale when its process no longer exists on this host. A lock written on
  another host cannot be checked and is respected; delete it by hand if that run is gone.
  """

  def __init__(self, workdir: str):
    self.path = os.path.join(workdir, LOCK_FILE)
    self.owner = f"{socket.gethostname()} {os.getpid()}"

  def _holder(self) -> tuple[str, int] | None:
    try:
      with open(self.path) as f:
        host, pid = f.read().split()
      return host, int(pid)
    except (OSError, ValueError):
      return None

  def __enter__(self):
    # Written whole to a private file, then hard-linked into place: the link fails if a
    # lock exists, and a lock never exists half-written.
    private = f"{self.path}.{os.getpid()}"
    try:
      with open(private, "w") as f:  # inside the try: a full disk leaves no private file
        f.write(self.owner)
      for _ in range(2):
        try:
          os.link(private, self.path)
          return self
        except FileExistsError:
          holder = self._holder()
          if holder and (holder[0] != socket.gethostname() or _alive(holder[1])):
            raise UserError(f"workdir is in use by another ganjax run (host {holder[0]}, pid "
                            f"{holder[1]}); wait for it, or delete {self.path} if it is gone"
                            ) from None
          os.remove(self.path)  # stale: its process is gone
      raise UserError(f"could not take the lock {self.path}; another run may be starting")
    finally:
      if os.path.exists(private):
        os.remove(private)

  def __exit__(self, *exc):
    if self._holder() == (self.owner.split()[0], os.getpid()):
      os.remove(self.path)
    return False
