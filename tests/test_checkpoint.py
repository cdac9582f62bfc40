"""Checkpoints: digests catch silent corruption, and a bad latest step falls back to the last good one."""

import glob
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganjax.checkpoint import Checkpointer
from ganjax.errors import UserError


def _state(step):
  rng = np.random.default_rng(step)
  return {"w": jnp.asarray(rng.normal(size=(64, 64)), jnp.float32),
          "b": jnp.asarray(rng.normal(size=(64,)), jnp.float32), "step": jnp.int32(step)}


def _saved(tmp_path, steps=(1, 2, 3)):
  ckpt = Checkpointer(str(tmp_path / "checkpoints"), max_to_keep=5, async_save=False)
  for step in steps:
    ckpt.save(step, _state(step))
  ckpt.wait()
  return ckpt


def _largest_chunk(tmp_path, step):
  files = glob.glob(str(tmp_path / "checkpoints" / str(step) / "state" / "**" / "d" / "*"),
                    recursive=True)
  return max(files, key=os.path.getsize)


def _flip_byte(tmp_path, step):
  path = _largest_chunk(tmp_path, step)
  data = bytearray(open(path, "rb").read())
  data[len(data) // 2] ^= 0xFF
  open(path, "wb").write(bytes(data))


def _truncate(tmp_path, step):
  path = _largest_chunk(tmp_path, step)
  os.truncate(path, os.path.getsize(path) // 2)


def _remove_metadata(tmp_path, step):
  os.remove(tmp_path / "checkpoints" / str(step) / "state" / "_METADATA")


def _replace_with_file(tmp_path, step):
  shutil.rmtree(tmp_path / "checkpoints" / str(step))
  (tmp_path / "checkpoints" / str(step)).write_text("not a checkpoint")


def _assert_equal(a, b):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_round_trip_is_exact(tmp_path):
  ckpt = _saved(tmp_path)
  _assert_equal(ckpt.restore(jax.eval_shape(lambda: _state(0))), _state(3))
  _assert_equal(ckpt.restore(jax.eval_shape(lambda: _state(0)), step=1), _state(1))


@pytest.mark.parametrize("damage", [_flip_byte, _truncate, _remove_metadata, _replace_with_file])
def test_corrupt_latest_falls_back_to_previous_good_one(tmp_path, capsys, damage):
  ckpt = _saved(tmp_path)
  damage(tmp_path, 3)
  restored = ckpt.restore(jax.eval_shape(lambda: _state(0)), quarantine=True)
  _assert_equal(restored, _state(2))
  warning = capsys.readouterr().err.strip().splitlines()
  assert len(warning) == 1 and "checkpoint 3" in warning[0] and "corrupt" in warning[0]
  assert "restored step 2" in warning[0]
  # Moved aside, not deleted; the older steps are untouched and step 3 can be written again.
  assert ckpt.latest_step() == 2
  assert len(glob.glob(str(tmp_path / "checkpoints_corrupt" / "3-*"))) == 1
  assert sorted(os.listdir(tmp_path / "checkpoints")) == ["1", "2"]
  ckpt.save(3, _state(3))
  ckpt.wait()
  _assert_equal(ckpt.restore(jax.eval_shape(lambda: _state(0))), _state(3))


def test_flipped_byte_is_not_silently_restored(tmp_path):
  # Orbax itself restores this without an error; only the stored digest catches it.
  ckpt = _saved(tmp_path, steps=(1,))
  _flip_byte(tmp_path, 1)
  with pytest.raises(UserError, match="no checkpoint .* can be read .*digest"):
    ckpt.restore(jax.eval_shape(lambda: _state(0)))


def test_checkpoint_of_another_model_is_refused_not_skipped(tmp_path):
  ckpt = _saved(tmp_path)
  other = {"w": jnp.zeros((32, 64)), "b": jnp.zeros((64,)), "step": jnp.int32(0)}
  with pytest.raises(UserError, match="checkpoint 3 .* does not fit the model"):
    ckpt.restore(jax.eval_shape(lambda: other))
  assert sorted(os.listdir(tmp_path / "checkpoints")) == ["1", "2", "3"]
