"""The redesign's safety net: the state digest after two steps of every experiment config.

Each case trains ``experiments/<name>.py`` (shrunk: synthetic image folder, batch 16, tiny
widths) for two steps through the CLI on 8 host devices and compares ``ganjax info``'s
``state_digest`` with the value recorded in ``tests/golden_digests.json``. A refactoring
that changes no numbers keeps every digest; a change of numbers that is intended is its own
commit, which re-records them:

  .venv/bin/python tests/test_golden_digests.py --record

XLA's floating-point results depend on the CPU's instruction set and the jax version, so
digests are recorded per platform (``platform_key()``); on a platform with no record the
cases are skipped with that reason, never passed.
"""

import glob
import json
import os
import platform
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
EXPERIMENTS = os.path.join(os.path.dirname(HERE), "experiments")
GOLDEN = os.path.join(HERE, "golden_digests.json")

# Widths small enough to compile in seconds; each key exists in that model's config.
SHRINK = {
    "resnet": {"model.generator.channels": "16", "model.discriminator.channels": "16",
               "model.generator.embed_dim": "8"},
    "style": {"model.generator.channels": "(16, 8, 4)", "model.generator.w_dim": "16",
              "model.discriminator.features": "(4, 8)"},
    "dcgan": {},
    "mlp": {},
}
# Beyond the configs: every objective term and training option that none of them turns on.
VARIANTS = {
    "num_seeds_2": ("dcgan_fashion_mnist", {"num_seeds": "2"}),
    "shard_map": ("dcgan_fashion_mnist", {"parallel.mode": "shard_map"}),
    "ssgan_terms": ("ssgan_mlp_fashion_mnist", {
        "loss.d_entropy": "0.5", "loss.d_manifold": "0.1", "loss.d_consistency": "0.3",
        "g_fresh_batch": "true", "d_ema_decay": "0.99"}),
    "dcgan_regularised": ("dcgan_fashion_mnist", {
        "loss.real_label": "0.9", "loss.r1": "0.5", "loss.feature_matching": "0.2",
        "loss.g_orthogonal_reg": "0.001", "loss.g_adversarial": "0.7",
        "log_layer_norms": "true", "n_critic": "2", "ema_decay": "0.9"}),
    "relativistic_hinge": ("dcgan_fashion_mnist", {"loss.name": "relativistic_hinge"}),
}


def platform_key() -> str:
  """jax version, CPU model and vector width: what XLA:CPU's bits depend on."""
  import jax
  model = platform.processor()
  flags = ""
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name") and not model:
          model = line.split(":", 1)[1].strip()
        if line.startswith("flags"):
          flags = line
  except OSError:
    pass
  model = model or platform.machine()
  width = "avx512" if " avx512f" in flags else "avx2" if " avx2" in flags else "other"
  return f"jax {jax.__version__} / {model} / {width}"


def cases() -> dict:
  """{case name: (config name, overrides)} for every experiment config and variant."""
  names = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(EXPERIMENTS, "[!_]*.py")))
  return {**{name: (name, {}) for name in names}, **VARIANTS}


def synthetic_folder(root: str, size: int, channels: int) -> str:
  """10 class folders of 8 random PNG images each."""
  import numpy as np
  from PIL import Image
  rng = np.random.default_rng(0)
  for k in range(10):
    os.makedirs(os.path.join(root, f"class_{k}"), exist_ok=True)
    for i in range(8):
      pixels = rng.integers(0, 256, (size, size, channels), dtype=np.uint8)
      Image.fromarray(pixels[..., 0] if channels == 1 else pixels).save(
          os.path.join(root, f"class_{k}", f"{i}.png"))
  return root


def shrunk_overrides(config_name: str, extra: dict, folders: dict) -> dict:
  """The command-line overrides that run ``config_name`` for two tiny steps."""
  from ganjax import config as config_lib
  c = config_lib.load(os.path.join(EXPERIMENTS, config_name + ".py"))
  rgb = c.data.name.startswith(("cifar", "imagenet"))
  overrides = {
      "data.source": "folder", "data.path": folders["rgb" if rgb else "grey"],
      "batch_size": "16", "total_steps": "2", "log_every": "1", "ckpt_every": "2",
      "sample_every": "2", "num_sample_images": "4", "eval_every": "0",
      **SHRINK[c.model.name]}
  if c.data.labels_per_class:
    overrides["data.labels_per_class"] = "2"
  if c.model.semi_supervised_classes:
    overrides["data.labeled_batch_size"] = "8"
  if c.model.data_init_images:
    overrides["model.data_init_images"] = "16"
  return {**overrides, **extra}


def info_of(case: str, workdir: str, folders: dict) -> dict:
  """Trains ``case`` into ``workdir`` through the CLI; returns ``ganjax info``'s answer
  (step and state digest, one per seed with ``num_seeds`` > 1)."""
  from ganjax import cli
  config_name, extra = cases()[case]
  overrides = shrunk_overrides(config_name, extra, folders)
  argv = ["train", "--config", os.path.join(EXPERIMENTS, config_name + ".py"),
          "--workdir", workdir, "--no-progress"]
  assert cli.main(argv + [f"--config.{k}={v}" for k, v in overrides.items()]) == 0
  return cli.run_info(workdir)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
  root = tmp_path_factory.mktemp("golden_data")
  return {"grey": synthetic_folder(str(root / "grey"), 28, 1),
          "rgb": synthetic_folder(str(root / "rgb"), 32, 3)}


@pytest.fixture(scope="module")
def golden() -> dict:
  with open(GOLDEN) as f:
    recorded = json.load(f)
  key = platform_key()
  if key not in recorded:
    pytest.skip(f"no golden digests recorded for this platform ({key}); record them with "
                "`python tests/test_golden_digests.py --record` on a known-good commit")
  return recorded[key]


@pytest.mark.parametrize("case", sorted(cases()))
def test_digest_unchanged(case, golden, folders, tmp_path):
  assert case in golden, f"no golden digest for {case}; record it"
  assert info_of(case, str(tmp_path / case), folders) == golden[case]


def record() -> None:
  """Trains every case and writes its digest under this platform's key."""
  import tempfile
  recorded = {}
  if os.path.exists(GOLDEN):
    with open(GOLDEN) as f:
      recorded = json.load(f)
  with tempfile.TemporaryDirectory() as tmp:
    folders = {"grey": synthetic_folder(os.path.join(tmp, "grey"), 28, 1),
               "rgb": synthetic_folder(os.path.join(tmp, "rgb"), 32, 3)}
    digests = {}
    for case in sorted(cases()):
      start = time.perf_counter()
      digests[case] = info_of(case, os.path.join(tmp, case), folders)
      print(f"{case}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
  recorded[platform_key()] = digests
  with open(GOLDEN, "w") as f:
    json.dump(recorded, f, indent=2, sort_keys=True)
    f.write("\n")
  print(f"recorded {len(digests)} digests for {platform_key()} in {GOLDEN}")


if __name__ == "__main__":
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                             " --xla_force_host_platform_device_count=8").strip()
  if sys.argv[1:] != ["--record"]:
    sys.exit("usage: python tests/test_golden_digests.py --record")
  record()
