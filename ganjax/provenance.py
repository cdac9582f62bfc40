"""Where a result came from: library versions, backend and device, CPU, and the source tree.

``ganjax train`` appends one entry per call to ``workdir/provenance.json`` (a run resumed
on another machine or after an upgrade has several, each with the step it started from);
``ganjax.report`` prints what a study's runs were trained with, and says when they differ.
"""

import importlib.metadata
import json
import os
import platform
import subprocess

import jax

import ganjax
from ganjax.workdir import read_json, write_atomically

PROVENANCE_FILE = "provenance.json"
LIBRARIES = ("jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "numpy", "scipy",
             "ml_collections")
# The instruction-set extensions that change XLA's CPU code (and so the last bits of a float).
CPU_FLAG_PREFIXES = ("sse", "avx", "fma", "amx", "f16c")


def _version(name: str) -> str | None:
  try:
    return importlib.metadata.version(name)
  except importlib.metadata.PackageNotFoundError:
    return None


def _cpu() -> tuple[str, list[str]]:
  """The CPU's model name and its SIMD flags (Linux ``/proc/cpuinfo``; elsewhere the
  platform's processor string and no flags)."""
  try:
    with open("/proc/cpuinfo") as f:
      fields = dict(line.split(":", 1) for line in f.read().split("\n\n")[0].splitlines()
                    if ":" in line)
  except OSError:
    return platform.processor(), []
  fields = {k.strip(): v.strip() for k, v in fields.items()}
  flags = sorted(f for f in fields.get("flags", "").split() if f.startswith(CPU_FLAG_PREFIXES))
  return fields.get("model name", platform.processor()), flags


def _git(directory: str) -> dict | None:
  """The commit checked out at ``directory`` and whether tracked files differ from it; None
  outside a git checkout (an installed package)."""
  def git(*args):
    return subprocess.run(["git", "-C", directory, *args], capture_output=True, text=True,
                          timeout=30, check=True).stdout.strip()
  try:
    top = git("rev-parse", "--show-toplevel")
    if os.path.realpath(top) != os.path.realpath(os.path.dirname(directory)):
      return None  # ganjax installed inside some other repository
    return {"commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
  except (OSError, subprocess.SubprocessError):
    return None


def collect() -> dict:
  """What this process computes with."""
  model, flags = _cpu()
  device = jax.devices()[0]
  return {"ganjax": ganjax.__version__, "python": platform.python_version(),
          "libraries": {name: _version(name) for name in LIBRARIES},
          "backend": jax.default_backend(), "device_kind": device.device_kind,
          "device_count": jax.device_count(), "process_count": jax.process_count(),
          "platform": platform.platform(), "cpu": model, "cpu_flags": flags,
          "source": _git(os.path.dirname(os.path.abspath(ganjax.__file__)))}


def record(workdir: str, step: int) -> None:
  """Appends this process's ``collect()`` to ``workdir/provenance.json``, with the step it
  starts training from."""
  path = os.path.join(workdir, PROVENANCE_FILE)
  entries = read_json(path) or []
  entries.append({"step": step, **collect()})
  write_atomically(path, json.dumps(entries, indent=1))


def read(workdir: str) -> list[dict]:
  """The entries of ``workdir``'s ``provenance.json``; [] for a run trained before it existed."""
  return read_json(os.path.join(workdir, PROVENANCE_FILE)) or []


def describe(entry: dict) -> dict[str, str]:
  """One entry as the report's ``key: value`` lines."""
  source = entry.get("source")
  lines = {name: version for name, version in entry["libraries"].items() if version}
  lines.update(python=entry["python"], ganjax=entry["ganjax"],
               device=f"{entry['backend']} · {entry['device_kind']} × {entry['device_count']}",
               cpu=entry["cpu"], cpu_flags=" ".join(entry["cpu_flags"]) or "—",
               source="not a git checkout" if source is None else
               source["commit"][:12] + (" with uncommitted changes" if source["dirty"] else ""))
  return lines


def markdown(workdirs) -> list[str]:
  """Markdown: what the runs in ``workdirs`` were trained with (a run without its own
  ``provenance.json``, a vmapped seed, reads its cell's); a setting that differs between runs,
  or between segments of one run, lists each value with its number of runs."""
  values = {}
  for workdir in workdirs:
    for entry in read(workdir) or read(os.path.dirname(workdir)):
      for key, value in describe(entry).items():
        values.setdefault(key, {}).setdefault(value, set()).add(workdir)
  if not values:
    return []
  lines = ["## Provenance", "", "What the runs were trained with (`provenance.json` in each run "
           "directory, one entry per `ganjax train` call).", "", "| | value | runs |",
           "|---|---|---|"]
  for key, seen in values.items():
    for value, runs in seen.items():
      lines.append(f"| {key} | {value} | {len(runs)}{'' if len(seen) == 1 else ' (differs)'} |")
  return lines + [""]
