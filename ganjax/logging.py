"""Host-side outputs of a run: metrics.jsonl, TensorBoard events, sample PNGs, loss plots."""

import io
import json
import math
import os
import sys

import numpy as np
from PIL import Image

from ganjax.errors import raise_if_thread_disk_full
from ganjax.workdir import write_atomically

METRICS_FILE = "metrics.jsonl"
# The records of the steps a non-finite rollback undid (they are trained again after it).
ROLLED_BACK_FILE = "metrics_rolled_back.jsonl"


def image_grid(images: np.ndarray, value_range=(-1.0, 1.0), columns: int | None = None) -> np.ndarray:
  """(N, H, W, C) float images in ``value_range`` → one uint8 (rows·H, cols·W, C) grid."""
  lo, hi = value_range
  n, h, w, c = images.shape
  columns = columns or int(math.ceil(math.sqrt(n)))
  rows = int(math.ceil(n / columns))
  pixels = np.clip((np.asarray(images, np.float32) - lo) / (hi - lo), 0.0, 1.0)
  pixels = np.round(pixels * 255).astype(np.uint8)
  grid = np.zeros((rows * h, columns * w, c), np.uint8)
  for i in range(n):
    r, col = divmod(i, columns)
    grid[r * h:(r + 1) * h, col * w:(col + 1) * w] = pixels[i]
  return grid


IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def save_image(path: str, grid: np.ndarray, scale: int = 2) -> None:
  """Writes a uint8 grid in the format of ``path``'s extension (``IMAGE_FORMATS``), enlarged
  ``scale``× with nearest-neighbour pixels."""
  image = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
  if scale > 1:
    image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
  encoded = io.BytesIO()
  image.save(encoded, format=IMAGE_FORMATS[os.path.splitext(path)[1].lower()])
  write_atomically(path, encoded.getvalue())


def read_metrics(workdir: str) -> list[dict]:
  """The records of metrics.jsonl. A last line cut short by a killed process is skipped in
  silence; any other line that is not a record (``{"step": ..., ...}``) with a warning."""
  path = os.path.join(workdir, METRICS_FILE)
  if not os.path.exists(path):
    return []
  with open(path, errors="replace") as f:
    lines = [line for line in f if line.strip()]
  records, bad = [], []
  for number, line in enumerate(lines, 1):
    record = _record(line)
    if record is not None:
      records.append(record)
    elif number < len(lines):
      bad.append(number)
  if bad:
    print(f"ganjax: warning: {path}: skipped {len(bad)} line(s) that are not metrics records "
          f"(line {bad[0]}{', …' if bad[1:] else ''})", file=sys.stderr)
  return records


def _record(line: str) -> dict | None:
  try:
    record = json.loads(line)
  except json.JSONDecodeError:
    return None
  ok = isinstance(record, dict) and isinstance(record.get("step"), int)
  return record if ok else None


class NullWriter:
  """RunWriter's interface, writing nothing: the non-primary processes of a multi-host run."""

  def scalars(self, step: int, metrics: dict) -> None:
    pass

  def samples(self, step: int, grid: np.ndarray) -> None:
    pass

  def rewind(self, step: int) -> None:
    pass

  def close(self) -> None:
    pass


class RunWriter:
  """Writes one run's metrics and images into its workdir (JSONL + TensorBoard + PNG)."""

  def __init__(self, workdir: str, resume_step: int = 0):
    from tensorboardX import SummaryWriter
    self.workdir = workdir
    self._drop_records_after(resume_step)
    self._jsonl = open(os.path.join(workdir, METRICS_FILE), "a")
    self._tb = SummaryWriter(os.path.join(workdir, "tb"))

  def rewind(self, step: int) -> None:
    """Moves the records after ``step`` to metrics_rolled_back.jsonl (a rollback restarts
    the run from ``step``; the rejected steps stay on record there)."""
    self._jsonl.close()
    undone = self._drop_records_after(step)
    with open(os.path.join(self.workdir, ROLLED_BACK_FILE), "a") as f:
      f.writelines(json.dumps(r) + "\n" for r in undone)
    self._jsonl = open(os.path.join(self.workdir, METRICS_FILE), "a")

  def _drop_records_after(self, step: int) -> list[dict]:
    """Keeps only records up to ``step`` (and none cut short by a killed process or not
    records at all); returns the records it dropped."""
    records = read_metrics(self.workdir)
    path = os.path.join(self.workdir, METRICS_FILE)
    if os.path.exists(path):
      write_atomically(path, "".join(json.dumps(r) + "\n" for r in records if r["step"] <= step))
    return [r for r in records if r["step"] > step]

  def scalars(self, step: int, metrics: dict) -> None:
    self._jsonl.write(json.dumps({"step": step, **metrics}) + "\n")
    self._jsonl.flush()
    for key, value in metrics.items():
      if math.isfinite(value):  # a rejected step's NaN stays in the JSONL, not in TensorBoard
        # TensorBoard's writer thread may have died of a full disk: its full queue would
        # block this put for ever
        raise_if_thread_disk_full()
        self._tb.add_scalar(key, value, step)

  def samples(self, step: int, grid: np.ndarray) -> str:
    path = os.path.join(self.workdir, "samples", f"step_{step:07d}.png")
    save_image(path, grid)
    raise_if_thread_disk_full()
    self._tb.add_image("samples", grid, step, dataformats="HWC")
    return path

  def close(self) -> None:
    self._jsonl.close()
    self._tb.close()


def pyplot():
  """matplotlib.pyplot on the Agg backend (files only, no display)."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  return plt


def _save_figure(fig, workdir: str, name: str) -> str:
  path = os.path.join(workdir, "plots", name)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  pyplot().close(fig)
  return path


def plot_losses(workdir: str, keys=("d_loss", "g_loss")) -> str | None:
  """Plots the loss curves from metrics.jsonl to plots/losses.png; returns the path."""
  records = read_metrics(workdir)
  if not records:
    return None
  fig, ax = pyplot().subplots(figsize=(7, 4))
  for key in keys:
    points = [(r["step"], r[key]) for r in records if key in r]
    if points:
      ax.plot(*zip(*points), label=key)
  ax.set_xlabel("step")
  ax.set_ylabel("loss")
  ax.legend()
  ax.grid(alpha=0.3)
  return _save_figure(fig, workdir, "losses.png")


LAYER_NORM_PREFIXES = ("g_grad_norm/", "g_update_norm/", "d_grad_norm/", "d_update_norm/")


def plot_layer_norms(workdir: str) -> str | None:
  """Per-layer gradient and update norms (log scale) to plots/layer_norms.png, if logged."""
  records = read_metrics(workdir)
  if not any(k.startswith(LAYER_NORM_PREFIXES) for r in records for k in r):
    return None
  fig, axes = pyplot().subplots(2, 2, figsize=(11, 7), sharex=True)
  for ax, prefix in zip(axes.ravel(), LAYER_NORM_PREFIXES):
    layers = sorted({k for r in records for k in r if k.startswith(prefix)})
    for key in layers:
      points = [(r["step"], r[key]) for r in records if key in r]
      ax.plot(*zip(*points), label=key[len(prefix):])
    ax.set_yscale("log")
    ax.set_title(prefix.rstrip("/"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
  for ax in axes[-1]:
    ax.set_xlabel("step")
  return _save_figure(fig, workdir, "layer_norms.png")
