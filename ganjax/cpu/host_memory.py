"""Host memory: keep XLA:CPU's per-step buffers mapped instead of faulting them in every step.

XLA:CPU allocates each execution's temporary buffer (hundreds of MB for a DCGAN step) with
``posix_memalign`` from its worker threads and frees it when the step ends. glibc serves a
block that large with a fresh ``mmap`` (a thread's arena cannot hold it, and the main arena
maps anything above ``M_MMAP_THRESHOLD``, at most 32 MiB), so every step the kernel zeroes
and maps tens of thousands of pages again, counted as minor page faults (``getrusage``).

``retain_freed_memory`` sets three glibc ``mallopt`` options before the first computation:
one arena (``M_ARENA_MAX`` = 1), no ``mmap`` for large blocks (``M_MMAP_MAX`` = 0), and no
returning of freed heap below 2 GiB (``M_TRIM_THRESHOLD``). After the first steps a step
faults in no pages; the heap keeps what was freed, so resident memory grows. Results do not
change, only where buffers live (docs/performance.md has the measurements).
``GANJAX_RETAIN_FREED_MEMORY=0`` keeps glibc's defaults; other C libraries are left alone.
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
