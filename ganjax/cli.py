"""``ganjax`` command line: subcommands are thin wrappers around plain functions.

  ganjax train  --config experiments/NAME.py --workdir DIR [--config.KEY=VALUE ...]
  ganjax sample --workdir DIR --num N --out FILE.png [--seed S] [--label K]
  ganjax eval   --workdir DIR [--num-samples N] [--inception-weights FILE.pth|FILE.npz]
  ganjax info   --workdir DIR
  ganjax sweep  --config experiments/ablations/NAME.py --workdir DIR [--max-runs N] [--vmap-seeds] [--config.KEY=VALUE ...]
  ganjax bench  [--model dcgan|mlp|all] [--batch 128] [--compare torch]

Bad input is reported as one line on stderr with exit code 2 (``--debug`` shows the traceback).
"""

import argparse
import contextlib
import json
import os
import sys
import threading

from ganjax import workdir as workdir_lib
from ganjax.errors import UserError, disk_full, first_line, note_thread_disk_full
from ganjax.preemption import StopOnSignal


def cmd_train(args, overrides) -> None:
  from ganjax import catalog, config as config_lib, train
  config = config_lib.load(catalog.resolve(args.config, "experiment"), overrides)
  state = train.train(config, args.workdir, progress=not args.no_progress)
  # The digest of this process's final state: in a multi-host run each process prints its own.
  print(json.dumps(state_info(config, state)))


def cmd_sample(args, overrides) -> None:
  import jax.numpy as jnp

  from ganjax import cpu, experiment, logging, saved_run
  if args.num <= 0:
    raise UserError(f"--num must be positive, got {args.num}")
  if os.path.isdir(args.out):
    raise UserError(f"--out {args.out} is a directory; name an image file in it, e.g. "
                    f"{os.path.join(args.out, 'grid.png')}")
  if os.path.splitext(args.out)[1].lower() not in logging.IMAGE_FORMATS:
    raise UserError(f"--out {args.out}: name a {', '.join(logging.IMAGE_FORMATS)} file")
  exp, state = saved_run.load_run(args.workdir)
  labels = None
  if args.label is not None:
    if not exp.num_classes:
      raise UserError("--label needs a class-conditional run (config.model.num_classes > 0)")
    if not 0 <= args.label < exp.num_classes:
      raise UserError(f"--label {args.label} is not a class of this run; use 0..{exp.num_classes - 1}")
    labels = jnp.full((args.num,), args.label, jnp.int32)
  z = experiment.fixed_latents(exp.config, args.num, seed=args.seed)
  try:
    with cpu.fast_paths(exp.config.fast_paths):
      grid = experiment.sample_grid(exp, state, z, labels)
    logging.save_image(args.out, grid)
  except OSError as e:
    raise UserError(f"--out {args.out} cannot be written ({e.strerror}); choose another path")
  print(json.dumps({"out": args.out, "num": args.num, "step": int(state.step),
                    "label": args.label}))


def cmd_eval(args, overrides) -> None:
  from ganjax import evaluate
  if args.num_samples < 2:
    raise UserError(f"--num-samples must be at least 2, got {args.num_samples}")
  weights = args.inception_weights or os.environ.get("GANJAX_INCEPTION_WEIGHTS") or None
  print(json.dumps(evaluate.evaluate(args.workdir, args.num_samples, args.seed,
                                     progress=not args.no_progress, inception_weights=weights)))


def cmd_sweep(args, overrides) -> None:
  from ganjax import catalog, sweep_runner
  if args.max_runs is not None and args.max_runs < 0:
    raise UserError(f"--max-runs must be >= 0, got {args.max_runs}")
  path = catalog.resolve(args.config, "sweep")
  print(json.dumps(sweep_runner.run_sweep(path, args.workdir, overrides,
                                          progress=not args.no_progress,
                                          max_runs=args.max_runs, vmap_seeds=args.vmap_seeds)))


def cmd_bench(args, overrides) -> None:
  from ganjax import bench
  if min(args.batch, args.steps, args.repeats, args.num_seeds) <= 0 or args.devices < 0:
    raise UserError("--batch, --steps, --repeats and --num-seeds must be positive "
                    "(--devices >= 0)")
  bench.run(args.model, args.batch, args.steps, args.repeats, args.compare, args.upsample,
            args.parallel, args.devices, args.num_seeds, args.compute_dtype,
            args.fast_paths)


def run_info(workdir: str) -> dict:
  from ganjax import saved_run
  exp, state = saved_run.load_run(workdir, stacked=True)
  return state_info(exp.config, state)


def state_info(config, state) -> dict:
  """Step and state digest of a run, or of each seed of a run of several."""
  from ganjax import seeds as seeds_lib, state as state_lib
  seeds = seeds_lib.run_seeds(config)
  if len(seeds) == 1:
    return {"step": int(state.step), "state_digest": state_lib.state_digest(state)}
  # A run of several seeds: the step and digest of each one's slice of the stacked state.
  return {"seeds": [{"seed": s, "step": int(state.step[k]),
                     "state_digest": state_lib.state_digest(seeds_lib.seed_slice(state, k))}
                    for k, s in enumerate(seeds)]}


def cmd_info(args, overrides) -> None:
  print(json.dumps(run_info(args.workdir)))


def cmd_configs(args, overrides) -> None:
  from ganjax import catalog
  print(catalog.listing())


def parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(prog="ganjax", description=__doc__.splitlines()[0])
  p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
  sub = p.add_subparsers(dest="command", required=True)

  t = sub.add_parser("train", help="train or resume a run (extra --config.KEY=VALUE overrides)")
  t.add_argument("--config", required=True,
                 help="experiments/NAME.py, or the NAME of a shipped config (ganjax configs)")
  t.add_argument("--workdir", required=True)
  t.add_argument("--no-progress", action="store_true", help="no progress bar")
  t.set_defaults(fn=cmd_train)

  s = sub.add_parser("sample", help="write a grid of samples from the latest checkpoint")
  s.add_argument("--workdir", required=True)
  s.add_argument("--num", type=int, default=64)
  s.add_argument("--out", required=True)
  s.add_argument("--seed", type=int, default=None, help="latent seed (default: the run's)")
  s.add_argument("--label", type=int, default=None,
                 help="class of every sample (conditional runs; default: column k is class k)")
  s.set_defaults(fn=cmd_sample)

  e = sub.add_parser("eval", help="FID, KID, precision/recall, ... of the latest checkpoint")
  e.add_argument("--workdir", required=True)
  e.add_argument("--num-samples", type=int, default=10000)
  e.add_argument("--seed", type=int, default=0, help="latent seed of the generated samples")
  e.add_argument("--no-progress", action="store_true")
  e.add_argument("--inception-weights", default=None,
                 help="the FID Inception's weights (pytorch-fid's pt_inception-2015-12-05-"
                      "6726825d.pth, or an .npz of its state dict; default: "
                      "$GANJAX_INCEPTION_WEIGHTS): adds inception_fid, _fid_inf, _kid, _is, "
                      "_precision, _recall")
  e.set_defaults(fn=cmd_eval)

  w = sub.add_parser("sweep", help="train and evaluate a grid of configs x seeds; report "
                     "mean ± 95%% CI (extra --config.KEY=VALUE apply to every run)")
  w.add_argument("--config", required=True,
                 help="experiments/ablations/NAME.py, or the NAME of a shipped sweep")
  w.add_argument("--workdir", required=True)
  w.add_argument("--max-runs", type=int, default=None,
                 help="train at most N unfinished runs this time (rerun to continue)")
  w.add_argument("--vmap-seeds", action="store_true",
                 help="train each cell's seeds together as one vmapped program "
                      "(config.num_seeds; faster on accelerators)")
  w.add_argument("--no-progress", action="store_true")
  w.set_defaults(fn=cmd_sweep)

  b = sub.add_parser("bench", help="images/s, FLOPs and memory of the train steps, sampling "
                     "and the input pipeline (JSON lines)")
  b.add_argument("--model", default="dcgan", choices=("dcgan", "mlp", "all"))
  b.add_argument("--batch", type=int, default=128)
  b.add_argument("--steps", type=int, default=20, help="steps per timed block")
  b.add_argument("--repeats", type=int, default=3, help="timed blocks (the median is kept)")
  b.add_argument("--compare", choices=("torch",), default=None,
                 help="also time the PyTorch eager DCGAN and print the ratio")
  b.add_argument("--upsample", default="subpixel", choices=("subpixel", "conv_transpose"),
                 help="the DCGAN generator's upsampling")
  b.add_argument("--fast-paths", default="auto", choices=("auto", "on", "off"),
                 help="the CPU fast paths: Winograd and im2col convolutions, unrolled "
                      "Threefry (auto: on the CPU)")
  b.add_argument("--parallel", default="shard_map", choices=("shard_map", "pmap"))
  b.add_argument("--devices", type=int, default=1, help="local devices (0: all)")
  b.add_argument("--compute-dtype", default="float32", choices=("float32", "bfloat16"),
                 help="the nets' matmul/convolution dtype (bfloat16: for GPUs and TPUs)")
  b.add_argument("--num-seeds", type=int, default=8,
                 help="MLP GANs in the vmapped-seeds measurement")
  b.set_defaults(fn=cmd_bench)

  i = sub.add_parser("info", help="print step and state digest of the latest checkpoint")
  i.add_argument("--workdir", required=True)
  i.set_defaults(fn=cmd_info)

  c = sub.add_parser("configs", help="list the experiment and sweep configs that ship with "
                     "ganjax, for --config NAME")
  c.set_defaults(fn=cmd_configs)
  return p


TRAINING_COMMANDS = ("train", "sweep")


def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else list(argv)
  command = next((a for a in argv if not a.startswith("-")), None)
  training = command in TRAINING_COMMANDS
  # First of all: from here on SIGTERM/SIGINT stop a training run at a step boundary, even
  # one that arrives while JAX is being imported.
  with StopOnSignal() if training else contextlib.nullcontext():
    _quiet_disk_full_in_threads()
    from ganjax.cpu.host_memory import retain_freed_memory
    retain_freed_memory()  # before JAX starts its threads
    return _run(argv, training)


def _quiet_disk_full_in_threads() -> None:
  """A writer thread (TensorBoard's, Orbax's) that meets a full disk dies in silence, and
  records it: the main thread raises it at its next write to that thread
  (``errors.raise_if_thread_disk_full``) and reports it in one line."""
  previous = threading.excepthook
  if getattr(previous, "ganjax_filter", False):
    return

  def hook(args):
    if disk_full(args.exc_value):
      note_thread_disk_full(args.exc_value)
    else:
      previous(args)

  hook.ganjax_filter = True
  threading.excepthook = hook


def _run(argv: list[str], training: bool) -> int:
  """Runs the command; bad input, a full disk and any other error end in one line."""
  from ganjax.config import split_cli_overrides
  debug, args = "--debug" in argv, None
  try:
    rest, overrides = split_cli_overrides(argv)
    args = parser().parse_args(rest)
    if overrides and args.command not in TRAINING_COMMANDS:
      raise UserError("--config.* overrides only apply to 'ganjax train' and 'ganjax sweep'")
    from ganjax.cache import enable_compilation_cache
    enable_compilation_cache()
    args.fn(args, overrides)
  except UserError as e:
    if debug:
      raise
    print(f"ganjax: error: {e}", file=sys.stderr)
    return 2
  except KeyboardInterrupt:
    resume = "; rerun the same command to resume from the last complete checkpoint"
    print(f"ganjax: interrupted{resume if training else ''}", file=sys.stderr)
    return 130
  except Exception as e:  # noqa: BLE001 (one line; --debug shows the traceback)
    if debug:
      raise
    if disk_full(e):
      print(f"ganjax: error: no space left on device{_space_needed(args)}; free some and "
            "rerun the same command: it resumes from the last complete checkpoint",
            file=sys.stderr)
      return 2
    print(f"ganjax: error: {type(e).__name__}: {first_line(e)} (unexpected: rerun with "
          "--debug for the traceback and report it)", file=sys.stderr)
    return 1
  return 0


def _space_needed(args) -> str:
  """" in WORKDIR; a checkpoint of this run takes N MB", as far as they are known."""
  workdir = getattr(args, "workdir", None)
  if not workdir:
    return ""
  size = workdir_lib.checkpoint_bytes(workdir)
  each = f"; a checkpoint of this run takes {size / 2**20:.1f} MB" if size else ""
  return f" in {workdir}{each}"


if __name__ == "__main__":
  sys.exit(main())
