"""Multi-host: two local processes (2 CPU devices each, gloo collectives) train one run."""

import json
import os
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from ganjax import saved_run


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _train(tiny_config, workdir, devices: int, processes: int = 1, seeds: int = 1) -> list[dict]:
  """Runs ``ganjax train`` as ``processes`` processes; each one's printed final state."""
  args = [sys.executable, "-m", "ganjax", "train", "--config", tiny_config, "--workdir",
          str(workdir), "--no-progress", "--config.total_steps=2", "--config.ckpt_every=2",
          "--config.sample_every=2", "--config.log_every=1", f"--config.num_seeds={seeds}",
          "--config.eval_every=2", "--config.eval_num_samples=64"]
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
  if processes > 1:
    env.update(GANJAX_COORDINATOR=f"127.0.0.1:{_free_port()}",
               GANJAX_NUM_PROCESSES=str(processes))
  # Output goes to files, not pipes: waiting on one process while another fills its pipe
  # would block that one short of the shutdown barrier, and both would time out there.
  logs = [(workdir.parent / f"{workdir.name}_{i}.out", workdir.parent / f"{workdir.name}_{i}.err")
          for i in range(processes)]
  procs = []
  for i, (out, err) in enumerate(logs):
    with open(out, "w") as stdout, open(err, "w") as stderr:
      procs.append(subprocess.Popen(args, env=dict(env, GANJAX_PROCESS_ID=str(i)),
                                    stdout=stdout, stderr=stderr))
  for proc in procs:
    proc.wait(timeout=600)
  # One process's failure shows in the others as a coordinator timeout: report every one.
  assert all(proc.returncode == 0 for proc in procs), "\n".join(
      f"process {i} exited {proc.returncode}: {err.read_text()[-1500:]}"
      for i, (proc, (_, err)) in enumerate(zip(procs, logs)))
  return [json.loads(out.read_text().strip().splitlines()[-1]) for out, _ in logs]


@pytest.mark.parametrize("seeds", [1, 2])
def test_two_processes_hold_identical_states_equal_to_one_process(tiny_config, tmp_path, seeds):
  two = _train(tiny_config, tmp_path / "two_hosts", devices=2, processes=2, seeds=seeds)
  assert two[0] == two[1]
  assert [s["step"] for s in two[0].get("seeds", [two[0]])] == [2] * seeds
  # Only process 0 writes the run's files (each seed's in seed_<s>/ when several); the
  # checkpoint holds the shared state.
  run_dirs = [""] if seeds == 1 else [f"seed_{s}" for s in range(seeds)]
  fids = {}
  for run_dir in run_dirs:
    records = [json.loads(line) for line in open(tmp_path / "two_hosts" / run_dir / "metrics.jsonl")]
    assert [r["step"] for r in records if "d_loss" in r] == [1, 2]
    # Process 0 evaluated; both saved the best checkpoint (Orbax saves are collective).
    fids[run_dir] = [r["eval_fid"] for r in records if "eval_fid" in r]
    assert json.load(open(tmp_path / "two_hosts" / run_dir / "best.json")) == {
        "step": 2, "fid": fids[run_dir][0]}
    assert os.listdir(tmp_path / "two_hosts" / run_dir / "checkpoints_best") == ["2"]
  # One process with the same 4 devices and global batch computes the same step; gloo sums
  # across processes in another order, so equal to float tolerance rather than bit for bit.
  one = _train(tiny_config, tmp_path / "one_host", devices=4, seeds=seeds)
  assert [s["step"] for s in one[0].get("seeds", [one[0]])] == [2] * seeds
  _, state_two = saved_run.load_run(str(tmp_path / "two_hosts"), stacked=True)
  _, state_one = saved_run.load_run(str(tmp_path / "one_host"), stacked=True)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
               state_two, state_one)
  for run_dir, fid in fids.items():
    records = [json.loads(line) for line in open(tmp_path / "one_host" / run_dir / "metrics.jsonl")]
    np.testing.assert_allclose(fid, [r["eval_fid"] for r in records if "eval_fid" in r],
                               rtol=1e-3)
