"""Test set-up: 8 host CPU devices (set before JAX is imported), a private cache, tiny fixtures."""

import atexit
import os
import shutil
import tempfile

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_force_host_platform_device_count=8").strip()
# Compiled programs (and trained feature nets) go to a per-session directory, not ~/.cache,
# removed when the session ends (~25 MB a run).
os.environ["GANJAX_CACHE_DIR"] = tempfile.mkdtemp(prefix="ganjax-test-cache-")
atexit.register(shutil.rmtree, os.environ["GANJAX_CACHE_DIR"], ignore_errors=True)

import json  # noqa: E402
import textwrap  # noqa: E402

import gc  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ganjax import cli  # noqa: E402
from ganjax.data import pipeline  # noqa: E402
from ganjax.data.idx import write_idx  # noqa: E402


def run_info(workdir, capsys) -> dict:
  """``ganjax info`` of ``workdir``, in this process: {"step": ..., "state_digest": ...}."""
  capsys.readouterr()
  assert cli.main(["info", "--workdir", str(workdir)]) == 0
  return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def logged_steps(workdir) -> int:
  """Complete records in ``workdir/metrics.jsonl`` (0 before the run writes one)."""
  try:
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      return sum(1 for line in f if line.endswith("\n"))
  except FileNotFoundError:
    return 0


def make_idx_dataset(directory, n_train=256, n_test=64, seed=0):
  """MNIST-format files of 28×28 images: a bright square whose position is the label."""
  rng = np.random.default_rng(seed)
  os.makedirs(directory, exist_ok=True)
  for prefix, n in (("train", n_train), ("t10k", n_test)):
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
      r, c = divmod(int(label), 5)
      images[i, 4 + 10 * r:12 + 10 * r, 2 + 5 * c:7 + 5 * c] = 255
    write_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz"), images)
    write_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte.gz"), labels)
  return str(directory)


@pytest.fixture(scope="session")
def idx_dir(tmp_path_factory):
  return make_idx_dataset(tmp_path_factory.mktemp("idx"))


TINY_CONFIG = """
from ganjax.config import base_config

def get_config():
  c = base_config()
  c.data.name = "fashion_mnist"
  c.data.source = "idx"
  c.data.path = {path!r}
  c.model.name = "dcgan"
  c.model.generator = dict(features=(16, 8, 4), upsample="subpixel", kernel_size=3,
                           batch_norm=True, dropout=0.0)
  c.model.discriminator = dict(features=(4, 8), kernel_size=3, batch_norm=False, dropout=0.3)
  c.latent_dim = 8
  c.batch_size = 16
  c.total_steps = 20
  c.log_every = 5
  c.ckpt_every = 5
  c.sample_every = 10
  c.num_sample_images = 4
  return c
"""


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory, idx_dir):
  """Path of a tiny DCGAN experiment on the generated IDX data."""
  path = tmp_path_factory.mktemp("configs") / "tiny_dcgan.py"
  path.write_text(textwrap.dedent(TINY_CONFIG.format(path=idx_dir)))
  return str(path)



@pytest.fixture
def nan_steps(monkeypatch):
  """Makes the batches of chosen steps NaN: ``nan_steps(steps, every_time, seed)``; only the
  first time each step is served unless ``every_time``, for every seed unless ``seed``."""
  original, served = pipeline.Batches.__call__, set()

  def install(steps, every_time=False, seed=None):
    def poisoned(self, step):
      batch = original(self, step)
      if (step in steps and (seed is None or self.seed == seed)
          and (every_time or step not in served)):
        served.add(step)
        batch = dict(batch, image=np.full_like(batch["image"], np.nan))
      return batch
    monkeypatch.setattr(pipeline.Batches, "__call__", poisoned)
  return install

@pytest.fixture(autouse=True, scope="module")
def release_compiled_programs():
  """Frees each test module's compiled programs when it ends. XLA:CPU keeps every
  executable's code mapped (tests/test_sweep.py alone leaves ~8000 of the 65,530 memory
  maps Linux allows a process), and the whole suite in one process segfaulted in XLA's
  executable serialisation, twice at the same test, though each half passed alone."""
  yield
  jax.clear_caches()
  gc.collect()


def assert_conv_equals(ours, reference, x, kernel, rtol, atol, grad_atol):
  """``ours(x, kernel)`` equals ``reference(x, kernel)``, and so do the gradients of a random
  linear function of the output with respect to ``x`` and ``kernel``."""
  expected = reference(x, kernel)
  np.testing.assert_allclose(jax.jit(ours)(x, kernel), expected, rtol=rtol, atol=atol)
  cotangent = jnp.asarray(np.random.default_rng(0).standard_normal(expected.shape),
                          expected.dtype)

  def grads(conv):
    return jax.jit(jax.grad(lambda x, k: jnp.sum(conv(x, k) * cotangent), (0, 1)))(x, kernel)

  for a, b in zip(grads(ours), grads(reference)):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=grad_atol)


def non_saturating():
  """The default objective's (D terms, G terms): the non-saturating loss and nothing else."""
  from ganjax import config, objectives
  return objectives.terms_from_config(config.base_config().loss)
