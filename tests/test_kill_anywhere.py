"""SIGKILL a real ``ganjax train`` at random moments; the resumed run must end bit-identical.

Run as a script for the full proof, printing what each kill interrupted:

  python tests/test_kill_anywhere.py --kills 10 --seed 0

The test does the same with the tiny config. Kills land anywhere: during start-up, between
steps, and while Orbax is still writing a checkpoint in the background (left behind as a
``*.orbax-checkpoint-tmp*`` directory, which the next run must ignore).
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import textwrap
import time

from conftest import TINY_CONFIG, logged_steps, make_idx_dataset

OVERRIDES = ("--config.ckpt_every=5", "--config.log_every=1", "--config.sample_every=50",
             "--config.keep_checkpoints=2")


def _train(config, workdir, total_steps):
  """Starts ``ganjax train``; its stderr goes to a file (a full pipe would stall it)."""
  command = [sys.executable, "-m", "ganjax", "train", "--config", config, "--workdir", workdir,
             "--no-progress", f"--config.total_steps={total_steps}", *OVERRIDES]
  log = tempfile.TemporaryFile("w+")
  return subprocess.Popen(command, env=_env(workdir), stdout=subprocess.DEVNULL, stderr=log), log


def _finish(config, workdir, total_steps):
  proc, log = _train(config, workdir, total_steps)
  if proc.wait() != 0:
    log.seek(0)
    raise AssertionError(log.read()[-2000:])


def _env(workdir):
  """One device (starts faster than the tests' eight); a compilation cache for this study."""
  cache = os.path.join(os.path.dirname(workdir), "cache")
  return dict(os.environ, XLA_FLAGS="", GANJAX_CACHE_DIR=cache)


def _info(workdir):
  out = subprocess.run([sys.executable, "-m", "ganjax", "info", "--workdir", workdir],
                       env=_env(workdir), capture_output=True, text=True, check=True).stdout
  return json.loads(out.strip().splitlines()[-1])


def _checkpoints(workdir):
  try:
    names = os.listdir(os.path.join(workdir, "checkpoints"))
  except FileNotFoundError:
    return [], []
  return (sorted(int(n) for n in names if n.isdigit()),
          [n for n in names if "tmp" in n])


def _wait_for_steps(proc, workdir, target, timeout=120.0):
  """Returns once metrics.jsonl has ``target`` records (or the process ends, or time is up)."""
  deadline = time.perf_counter() + timeout
  while logged_steps(workdir) < target and proc.poll() is None and time.perf_counter() < deadline:
    time.sleep(0.01)


def kill_anywhere(config, root, kills, seed):
  """Trains with ``kills`` SIGKILLs, then straight to the same step; returns both infos + events.

  Odd-numbered kills come after a delay drawn uniformly from [0, the wall time of a 40-step
  run], so they may hit start-up, a step, or a checkpoint write. Even-numbered kills wait
  until the run has made 1–30 new steps (drawn at random) and then a random 0–0.3 s more, so
  some kills always land mid-training, however fast or loaded the machine is. The killed run
  never reaches its (huge) total_steps; afterwards it is finished 10 steps past its last
  checkpoint. A first run fills the compilation cache, so restarts take seconds.
  """
  _finish(config, os.path.join(root, "warm-up"), 5)
  start = time.perf_counter()
  _finish(config, os.path.join(root, "timing"), 40)
  window = time.perf_counter() - start

  rng, run, events = random.Random(seed), os.path.join(root, "killed"), []
  for i in range(kills):
    before, _ = _checkpoints(run)
    logged = logged_steps(run)
    began = time.perf_counter()
    proc, _ = _train(config, run, 10**9)
    if i % 2:
      time.sleep(rng.uniform(0.0, window))
    else:
      # A resumed run drops the records past its checkpoint and logs those steps again, so
      # the count passes ``logged`` only with steps no earlier run reached.
      _wait_for_steps(proc, run, logged + rng.randint(1, 30))
      time.sleep(rng.uniform(0.0, 0.3))
    proc.kill()
    proc.wait()
    after, partial = _checkpoints(run)
    events.append(dict(kill=i, after_s=round(time.perf_counter() - began, 2),
                       exit=proc.returncode, logged_before=logged,
                       latest_before=before[-1] if before else None,
                       latest_after=after[-1] if after else None, unfinished_writes=partial))
  total = (_checkpoints(run)[0] or [0])[-1] + 10
  _finish(config, run, total)
  _finish(config, os.path.join(root, "straight"), total)
  return _info(os.path.join(root, "straight")), _info(run), events


def test_sigkill_at_random_moments_then_resume_is_bit_identical(tiny_config, tmp_path):
  straight, killed, events = kill_anywhere(tiny_config, str(tmp_path), kills=10, seed=0)
  print("\n".join(json.dumps(e) for e in events))
  assert all(e["exit"] == -9 for e in events)
  assert sum(e["latest_after"] != e["latest_before"] for e in events) >= 3  # mid-training kills
  assert straight == killed and straight["step"] > 10


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--kills", type=int, default=10)
  p.add_argument("--seed", type=int, default=0)
  args = p.parse_args()
  with tempfile.TemporaryDirectory() as root:
    config = os.path.join(root, "tiny.py")
    with open(config, "w") as f:
      f.write(textwrap.dedent(TINY_CONFIG.format(path=make_idx_dataset(os.path.join(root, "idx")))))
    straight, killed, events = kill_anywhere(config, root, args.kills, args.seed)
  for e in events:
    print(json.dumps(e))
  print(json.dumps(dict(straight=straight, killed=killed,
                        identical=straight == killed)))
  return 0 if straight == killed else 1


if __name__ == "__main__":
  sys.exit(main())
