"""Host memory: keep XLA:CPU's per-step buffers mapped instead of faulting them in every step.

XLA:CPU allocates each execution's temporary buffer (227 MB for the benchmarked DCGAN step
at batch 128) with ``posix_memalign`` from its worker threads and frees it when the step
ends. glibc serves a block that large with a fresh ``mmap``: a thread's own arena cannot hold
it, and the main arena maps anything above ``M_MMAP_THRESHOLD`` (at most 32 MiB). So every
step the kernel zeroes and maps ~60,000 new 4 KiB pages as they are first touched, then
unmaps them at ``free``: on a 2-core CPU ~100 ms of a ~400 ms step, counted as minor page
faults (``getrusage``).

``retain_freed_memory`` sets three glibc ``mallopt`` options before the first computation:
one arena for all threads (``M_ARENA_MAX`` = 1), no ``mmap`` for large blocks
(``M_MMAP_MAX`` = 0), and no returning of freed heap to the kernel below 2 GiB
(``M_TRIM_THRESHOLD``). After the first few steps the buffer reuses pages that are already
mapped and a step faults in none. The cost is resident memory: the heap keeps what was
freed and grows to a few buffers' worth, as a new buffer does not always fit where the last
one was (DCGAN, batch 128, 2-core CPU: 313 instead of 396 ms per step, peak RSS 1.38
instead of 0.99 GB). Results do not change, only where buffers live.
``GANJAX_RETAIN_FREED_MEMORY=0`` keeps glibc's defaults; other C libraries (macOS, musl)
are left alone.
"""

import ctypes
import os
import sys

# glibc's <malloc.h> parameter numbers.
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
M_ARENA_MAX = -8
_SETTINGS = ((M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, 2**31 - 1))


def retain_freed_memory() -> bool:
  """Applies the settings above; True when glibc took all three. Call it before JAX runs
  anything: threads that allocated earlier keep their own arenas."""
  if os.environ.get("GANJAX_RETAIN_FREED_MEMORY", "1") == "0" or sys.platform != "linux":
    return False
  try:
    mallopt = ctypes.CDLL(None).mallopt
  except (OSError, AttributeError):
    return False
  mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
  mallopt.restype = ctypes.c_int
  return all(mallopt(param, value) == 1 for param, value in _SETTINGS)
