"""Preemption (SIGTERM checkpoints at a step boundary, exit 0, resume is exact) and the workdir lock."""

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import logged_steps, run_info
from ganjax import cli
from ganjax.errors import UserError
from ganjax.workdir import LOCK_FILE, WorkdirLock, prepare_workdir


def test_sigterm_checkpoints_exits_zero_and_resumes_bit_identically(tiny_config, tmp_path, capsys):
  run = tmp_path / "preempted"
  proc = subprocess.Popen(
      [sys.executable, "-m", "ganjax", "train", "--config", tiny_config, "--workdir", str(run),
       "--no-progress", "--config.total_steps=100000", "--config.ckpt_every=100000",
       "--config.sample_every=100000", "--config.log_every=1"],
      stderr=subprocess.PIPE, text=True)
  deadline = time.time() + 240
  while logged_steps(run) < 3 and time.time() < deadline and proc.poll() is None:
    time.sleep(0.2)
  assert proc.poll() is None, proc.stderr.read()
  proc.send_signal(signal.SIGTERM)
  _, err = proc.communicate(timeout=120)
  assert proc.returncode == 0, err
  assert "SIGTERM received" in err and "Traceback" not in err
  stopped = run_info(run, capsys)["step"]
  assert 3 <= stopped < 100000
  assert not (run / LOCK_FILE).exists()

  target = f"--config.total_steps={stopped + 2}"
  assert cli.main(["train", "--config", tiny_config, "--workdir", str(run), "--no-progress",
                   target]) == 0
  straight = tmp_path / "straight"
  assert cli.main(["train", "--config", tiny_config, "--workdir", str(straight), "--no-progress",
                   target]) == 0
  assert run_info(run, capsys) == run_info(straight, capsys)


@pytest.mark.parametrize("signum,delay", [(signal.SIGINT, 0.5), (signal.SIGTERM, 2.0)],
                         ids=["sigint", "sigterm"])
def test_a_signal_during_start_up_stops_the_run_at_once_in_one_line(tiny_config, tmp_path,
                                                                    signum, delay):
  """Sent while Python imports JAX or compiles, the signal is honoured: no step is trained
  after it (the run stops at the first boundary), exit 0, no traceback, and no
  KeyboardInterrupt swallowed by a JAX callback."""
  run = tmp_path / "run"
  proc = subprocess.Popen(
      [sys.executable, "-m", "ganjax", "train", "--config", tiny_config, "--workdir", str(run),
       "--no-progress", "--config.total_steps=100000", "--config.log_every=1"],
      stderr=subprocess.PIPE, text=True, env=dict(os.environ, XLA_FLAGS=""))
  try:
    time.sleep(delay)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=240)
  finally:
    proc.kill()  # a run that ignored the signal must not outlive the test
  assert proc.returncode == 0, err
  assert f"ganjax: {signal.Signals(signum).name} received; stopped" in err, err
  assert "Traceback" not in err and "Exception ignored" not in err, err
  assert logged_steps(run) <= 1  # at most the step that was running when it came


def test_a_second_ctrl_c_checkpoints_the_finished_steps_and_resumes_exactly(
    tiny_config, tmp_path, capsys, monkeypatch):
  """A second SIGINT raises KeyboardInterrupt wherever the loop is (``StopOnSignal``); here it
  lands while step 3's metrics are being logged. The 3 finished steps must be checkpointed,
  the CLI must exit 130, and a rerun must end where an uninterrupted run does."""
  from ganjax.logging import RunWriter
  log_scalars = RunWriter.scalars

  def interrupted_at_step_3(self, step, metrics):
    if step == 3:
      raise KeyboardInterrupt
    log_scalars(self, step, metrics)

  monkeypatch.setattr(RunWriter, "scalars", interrupted_at_step_3)
  run = tmp_path / "interrupted"
  flags = ["--no-progress", "--config.total_steps=5", "--config.log_every=1"]
  assert cli.main(["train", "--config", tiny_config, "--workdir", str(run), *flags]) == 130
  assert ("interrupted; rerun the same command to resume from the last complete checkpoint"
          in capsys.readouterr().err)
  assert run_info(run, capsys)["step"] == 3
  assert not (run / LOCK_FILE).exists()

  monkeypatch.setattr(RunWriter, "scalars", log_scalars)
  assert cli.main(["train", "--config", tiny_config, "--workdir", str(run), *flags]) == 0
  straight = tmp_path / "straight"
  assert cli.main(["train", "--config", tiny_config, "--workdir", str(straight), *flags]) == 0
  assert run_info(run, capsys) == run_info(straight, capsys)


def test_a_live_run_holds_the_workdir(tiny_config, tmp_path, capsys):
  run = tmp_path / "locked"
  run.mkdir()
  (run / LOCK_FILE).write_text(f"{socket.gethostname()} {os.getpid()}")  # this process: alive
  assert cli.main(["train", "--config", tiny_config, "--workdir", str(run), "--no-progress"]) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and "in use by another ganjax run" in err[0] and str(os.getpid()) in err[0]


def test_a_stale_lock_is_replaced_and_released(tmp_path):
  gone = subprocess.Popen([sys.executable, "-c", "pass"])
  gone.wait()
  (tmp_path / LOCK_FILE).write_text(f"{socket.gethostname()} {gone.pid}")
  with WorkdirLock(str(tmp_path)):
    assert (tmp_path / LOCK_FILE).read_text() == f"{socket.gethostname()} {os.getpid()}"
    with pytest.raises(UserError, match="in use"):
      WorkdirLock(str(tmp_path)).__enter__()
  assert not (tmp_path / LOCK_FILE).exists()


@pytest.mark.parametrize("content,replaced", [("", True), ("not a lock", True),
                                              ("another-host 1", False)])
def test_an_unreadable_lock_is_replaced_and_another_host_s_is_respected(tmp_path, content,
                                                                       replaced):
  """A lock that names no host and pid cannot belong to a live run, so it is replaced; one
  written on another host cannot be checked from here, so it stands."""
  (tmp_path / LOCK_FILE).write_text(content)
  if replaced:
    with WorkdirLock(str(tmp_path)):
      assert (tmp_path / LOCK_FILE).read_text() == f"{socket.gethostname()} {os.getpid()}"
    assert not (tmp_path / LOCK_FILE).exists()
  else:
    with pytest.raises(UserError, match=r"in use by another ganjax run \(host another-host, "
                                        r"pid 1\)"):
      WorkdirLock(str(tmp_path)).__enter__()
    assert (tmp_path / LOCK_FILE).read_text() == content


def _prepare_repeatedly(workdir: str) -> None:
  for _ in range(2000):
    prepare_workdir(workdir)


def test_processes_sharing_a_workdir_check_it_without_tripping_each_other(tmp_path):
  # Every process of a multi-host run checks the shared workdir at the same moment.
  ctx = multiprocessing.get_context("spawn")
  procs = [ctx.Process(target=_prepare_repeatedly, args=(str(tmp_path),)) for _ in range(2)]
  for proc in procs:
    proc.start()
  for proc in procs:
    proc.join(timeout=120)
  assert [proc.exitcode for proc in procs] == [0, 0]
  assert os.listdir(tmp_path) == []
