"""The exception types that the command line reports as a single line."""

import errno

DISK_FULL_TEXT = "No space left on device"  # strerror(ENOSPC), inside other libraries' errors


class UserError(Exception):
  """Bad input from the user: the message names the problem and the fix.

  The CLI prints it as one line (no traceback unless ``--debug``) and exits 2.
  """


class CorruptData(UserError):
  """Dataset files that exist but cannot be read as what they claim to be."""


def check_choice(key: str, value, names) -> None:
  """Fails in one line unless ``value``, the setting of ``config.<key>``, is one of ``names``."""
  if value not in names:
    raise UserError(f"unknown config.{key} {value!r}; choose from {', '.join(names)}")


# The full-disk error a background writer thread died of (cli's thread hook records it), so
# that the main thread raises it instead of waiting on that thread's queue for ever.
_thread_disk_full: list[BaseException] = []


def note_thread_disk_full(error: BaseException) -> None:
  """Records that a writer thread died of a full disk."""
  _thread_disk_full.append(error)


def raise_if_thread_disk_full() -> None:
  """Raises, in the calling thread, the full-disk error a writer thread died of."""
  if _thread_disk_full:
    raise OSError(errno.ENOSPC, f"a writer thread stopped: {_thread_disk_full[0]}")


def disk_full(error: BaseException) -> bool:
  """Whether ``error``, or an error it was raised from, is "no space left on device" (Orbax
  and TensorStore report it as text inside their own exception types)."""
  seen = set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    if ((isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT))
        or DISK_FULL_TEXT in str(error)):
      return True
    error = error.__cause__ or error.__context__
  return False


def first_line(error: BaseException, limit: int = 160) -> str:
  """The first line of ``error``'s message (its type when it has none), at most ``limit``."""
  text = str(error).strip()
  line = text.splitlines()[0] if text else type(error).__name__
  return line if len(line) <= limit else line[:limit] + "…"
