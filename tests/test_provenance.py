"""provenance.json: the versions, device, CPU and source commit a run was trained with."""

import importlib.metadata
import json
import subprocess

import jax
import numpy as np

from ganjax import provenance


def test_collect_names_this_process_libraries_and_device():
  entry = provenance.collect()
  assert entry["libraries"]["jax"] == jax.__version__
  assert entry["libraries"]["numpy"] == np.__version__
  assert entry["libraries"]["optax"] == importlib.metadata.version("optax")
  assert entry["backend"] == jax.default_backend() == "cpu"
  assert entry["device_kind"] == jax.devices()[0].device_kind
  assert entry["device_count"] == jax.device_count()
  flags = open("/proc/cpuinfo").read()
  assert ("avx2" in entry["cpu_flags"]) == (" avx2" in flags)
  assert all(f.startswith(provenance.CPU_FLAG_PREFIXES) for f in entry["cpu_flags"])


def test_source_is_the_commit_and_whether_tracked_files_changed(tmp_path):
  def git(*args):
    subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)
  package = tmp_path / "ganjax"
  package.mkdir()
  (package / "step.py").write_text("x = 1\n")
  git("init", "-q")
  git("add", ".")
  git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
  head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], check=True,
                        capture_output=True, text=True).stdout.strip()
  assert provenance._git(str(package)) == {"commit": head, "dirty": False}
  (package / "new.py").write_text("")  # untracked files are not the code that ran
  assert provenance._git(str(package))["dirty"] is False
  (package / "step.py").write_text("x = 2\n")
  assert provenance._git(str(package)) == {"commit": head, "dirty": True}
  vendored = tmp_path / "vendor" / "ganjax"  # installed inside another project's repository
  vendored.mkdir(parents=True)
  assert provenance._git(str(vendored)) is None
  assert provenance._git("/") is None


def test_record_appends_one_entry_per_training_call(tmp_path):
  provenance.record(str(tmp_path), 0)
  provenance.record(str(tmp_path), 120)
  entries = json.loads((tmp_path / provenance.PROVENANCE_FILE).read_text())
  assert [e["step"] for e in entries] == [0, 120]
  assert provenance.read(str(tmp_path)) == entries
  assert provenance.read(str(tmp_path / "none")) == []
  lines = provenance.describe(entries[0])
  assert lines["jax"] == jax.__version__ and lines["device"].startswith("cpu · ")
