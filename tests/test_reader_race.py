"""Readers racing a writer: ``info``/``sample``/``eval`` read a run's newest checkpoint while
``ganjax train`` replaces it every step (``ckpt_every=1``, ``keep_checkpoints=1``). A step
that vanishes mid-read was replaced, not corrupt: every read must return a verified state,
none may say "restore the directory from a backup".

  python tests/test_reader_race.py --seconds 60    # a longer race, printing the counts
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from conftest import TINY_CONFIG, make_idx_dataset

from ganjax import saved_run, state as state_lib


def race(config: str, workdir: str, seconds: float) -> dict:
  """Reads ``workdir`` in a loop for ``seconds`` while a run writes it; returns the counts."""
  env = dict(os.environ, XLA_FLAGS="")
  command = [sys.executable, "-m", "ganjax", "train", "--config", config, "--workdir", workdir,
             "--no-progress", "--config.total_steps=1000000", "--config.ckpt_every=1",
             "--config.keep_checkpoints=1", "--config.log_every=1000",
             "--config.sample_every=1000000"]
  log = tempfile.TemporaryFile("w+")
  writer = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
  counts, steps, errors = {"reads": 0, "failed": 0}, set(), []
  try:
    checkpoints = os.path.join(workdir, "checkpoints")
    deadline = time.perf_counter() + 300
    while not any(n.isdigit() for n in _listdir(checkpoints)):
      assert writer.poll() is None and time.perf_counter() < deadline, _tail(log)
      time.sleep(0.05)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
      assert writer.poll() is None, _tail(log)
      try:
        _, state = saved_run.load_run(workdir)
        state_lib.state_digest(state)
        steps.add(int(state.step))
      except Exception as e:  # noqa: BLE001 (counted and shown)
        counts["failed"] += 1
        errors.append(f"{type(e).__name__}: {e}")
      counts["reads"] += 1
  finally:
    writer.terminate()
    writer.wait()
  return {**counts, "distinct_steps": len(steps), "errors": errors[:3]}


def _listdir(path):
  try:
    return os.listdir(path)
  except FileNotFoundError:
    return []


def _tail(log) -> str:
  log.seek(0)
  return log.read()[-2000:]


def test_readers_never_fail_while_a_run_replaces_its_checkpoint(tiny_config, tmp_path):
  result = race(tiny_config, str(tmp_path / "run"), seconds=20)
  print(result)
  assert result["failed"] == 0, result["errors"]
  assert result["distinct_steps"] >= 3  # the reads did overlap the writer's replacements


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--seconds", type=float, default=60.0)
  args = p.parse_args()
  root = tempfile.mkdtemp()
  config = os.path.join(root, "tiny.py")
  with open(config, "w") as f:
    f.write(TINY_CONFIG.format(path=make_idx_dataset(os.path.join(root, "idx"))))
  print(race(config, os.path.join(root, "run"), args.seconds))


if __name__ == "__main__":
  main()
