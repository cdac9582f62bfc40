"""Stop at a step boundary on SIGTERM or SIGINT, so a preempted run checkpoints and exits 0.

The first signal only sets ``requested``; the host loop checks it after each step, saves a
checkpoint and returns. A second SIGINT (Ctrl-C twice) raises KeyboardInterrupt at once.
The CLI installs the handlers before anything else runs (``ganjax train`` and ``sweep``), so
a signal during start-up or compilation is honoured too, not lost inside JAX's callbacks;
a ``StopOnSignal`` entered while another is installed shares it. Handlers are installed only
in the main thread and restored on exit.
"""

import signal
import threading


class StopOnSignal:
  """Context manager whose ``requested`` names the signal that asked the run to stop."""

  SIGNALS = (signal.SIGTERM, signal.SIGINT)
  _installed: "StopOnSignal | None" = None  # the outermost one, whose handlers are in place

  def __init__(self):
    self.requested: str | None = None
    self._previous = {}

  def _handle(self, signum, frame):
    if self.requested and signum == signal.SIGINT:
      raise KeyboardInterrupt
    self.requested = signal.Signals(signum).name

  def __enter__(self) -> "StopOnSignal":
    if StopOnSignal._installed is not None:
      return StopOnSignal._installed
    if threading.current_thread() is threading.main_thread():
      for sig in self.SIGNALS:
        self._previous[sig] = signal.signal(sig, self._handle)
      StopOnSignal._installed = self
    return self

  def __exit__(self, *exc):
    if StopOnSignal._installed is self:
      for sig, handler in self._previous.items():
        signal.signal(sig, handler)
      self._previous.clear()
      StopOnSignal._installed = None
    return False
