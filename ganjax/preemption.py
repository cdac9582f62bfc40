"""Stop at a step boundary on SIGTERM or SIGINT, so a preempted run checkpoints and exits 0.

The first signal only sets ``requested``; the host loop checks it after each step, saves a
checkpoint and returns. A second SIGINT (Ctrl-C twice) raises KeyboardInterrupt at once.
Handlers are installed only in the main thread and restored on exit.
"""

import signal
import threading


class StopOnSignal:
  """Context manager whose ``requested`` names the signal that asked the run to stop."""

  SIGNALS = (signal.SIGTERM, signal.SIGINT)

  def __init__(self):
    self.requested: str | None = None
    self._previous = {}

  def _handle(self, signum, frame):
    if self.requested and signum == signal.SIGINT:
      raise KeyboardInterrupt
    self.requested = signal.Signals(signum).name

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      for sig in self.SIGNALS:
        self._previous[sig] = signal.signal(sig, self._handle)
    return self

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)
    self._previous.clear()
    return False
