"""A full disk, on a real filesystem: a 64 MB tmpfs mounted in a user namespace
(``unshare -rm``). Full at start-up, and filled while the run trains: either way the run
ends with exit 2 and one line, leaves nothing half-written behind, keeps its last complete
checkpoint, and, once space is back, the same command resumes to the state a run that never
met a full disk reaches.

  python tests/test_disk_full.py     # the same, printing what each phase did
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pytest

from conftest import TINY_CONFIG, make_idx_dataset

SCRIPT = r"""
set -u
mount -t tmpfs -o size=64m tmpfs "$MNT" || exit 77
run="$MNT/run"
train() { "$PYTHON" -m ganjax train --config "$CONFIG" --workdir "$run" --no-progress \
            --config.ckpt_every=5 --config.log_every=1 "$@"; }
fill() { dd if=/dev/zero of="$MNT/fill" bs=1M 2>/dev/null; sync; }

# 1. Full before the run starts.
mkdir -p "$run"; fill
train --config.total_steps=20 2> "$OUT/start.err"; echo $? > "$OUT/start.rc"
ls -A "$run" > "$OUT/start.ls"
rm -f "$MNT/fill"

# 2. Full while it trains, after its checkpoint at step 10.
train --config.total_steps=1000000 2> "$OUT/mid.err" & pid=$!
for i in $(seq 600); do [ -d "$run/checkpoints/10" ] && break; sleep 0.1; done
fill
wait $pid; echo $? > "$OUT/mid.rc"
ls -A "$run/checkpoints" > "$OUT/mid.ls"
rm -f "$MNT/fill"

# 3. Space is back: the same command resumes, to a fixed step.
latest=$(ls "$run/checkpoints" | grep -E '^[0-9]+$' | sort -n | tail -1)
echo $latest > "$OUT/latest"
train --config.total_steps=$((latest + 5)) 2> "$OUT/resume.err"; echo $? > "$OUT/resume.rc"
"$PYTHON" -m ganjax info --workdir "$run" > "$OUT/resume.json"
"""


def full_disk(config: str, root: str) -> dict:
  """Runs the three phases; returns what each left in ``root/out``, or None if no tmpfs."""
  out, mnt = os.path.join(root, "out"), os.path.join(root, "mnt")
  os.makedirs(out), os.makedirs(mnt)
  env = dict(os.environ, XLA_FLAGS="", MNT=mnt, OUT=out, CONFIG=config, PYTHON=sys.executable,
             GANJAX_CACHE_DIR=os.path.join(root, "cache"))
  if shutil.which("unshare") is None:
    return None
  done = subprocess.run(["unshare", "-rm", "bash", "-c", SCRIPT], env=env, cwd=os.getcwd(),
                        capture_output=True, text=True, timeout=900)
  if done.returncode == 77 or not os.path.exists(os.path.join(out, "start.rc")):
    return None
  read = lambda name: open(os.path.join(out, name)).read().strip()  # noqa: E731
  return {phase: {"rc": int(read(f"{phase}.rc")), "err": read(f"{phase}.err")}
          for phase in ("start", "mid", "resume")} | {
      "start_files": read("start.ls").split(), "mid_checkpoints": read("mid.ls").split(),
      "latest": int(read("latest")), "resumed": json.loads(read("resume.json"))}


def straight_info(config: str, root: str, total_steps: int) -> dict:
  env = dict(os.environ, XLA_FLAGS="", GANJAX_CACHE_DIR=os.path.join(root, "cache"))
  run = os.path.join(root, "straight")
  for argv in (["train", "--config", config, "--workdir", run, "--no-progress",
                "--config.ckpt_every=5", "--config.log_every=1",
                f"--config.total_steps={total_steps}"], ["info", "--workdir", run]):
    done = subprocess.run([sys.executable, "-m", "ganjax", *argv], env=env,
                          capture_output=True, text=True, check=True)
  return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_full_disk_ends_in_one_line_loses_nothing_and_resumes_exactly(tiny_config, tmp_path):
  result = full_disk(tiny_config, str(tmp_path))
  if result is None:
    pytest.skip("no tmpfs can be mounted here (unshare -rm needs user namespaces)")
  print(json.dumps({k: v for k, v in result.items()}, indent=1))
  for phase in ("start", "mid"):
    err = result[phase]["err"].splitlines()
    assert result[phase]["rc"] == 2 and len(err) == 1, result[phase]
    assert err[0].startswith("ganjax: error: no space left on device in "), err
  assert "a checkpoint of this run takes" in result["mid"]["err"]
  assert result["start_files"] == [], result["start_files"]  # no lock, no stray files
  steps = sorted(int(s) for s in result["mid_checkpoints"] if s.isdigit())
  assert steps and steps[-1] >= 10 and result["latest"] == steps[-1]
  assert result["resume"]["rc"] == 0, result["resume"]
  assert result["resumed"]["step"] == result["latest"] + 5
  assert result["resumed"] == straight_info(tiny_config, str(tmp_path), result["latest"] + 5)


if __name__ == "__main__":
  root = tempfile.mkdtemp()
  config = os.path.join(root, "tiny.py")
  with open(config, "w") as f:
    f.write(textwrap.dedent(TINY_CONFIG.format(path=make_idx_dataset(os.path.join(root, "idx")))))
  print(json.dumps(full_disk(config, root), indent=1))
