"""Where the per-user cache lives, and what needs it."""

import numpy as np
import pytest

from ganjax.cache import cache_dir
from ganjax.errors import UserError
from ganjax.feature_net import load_or_train


def test_cache_dir_follows_ganjax_cache_dir_then_xdg_then_home(monkeypatch, tmp_path):
  monkeypatch.setenv("GANJAX_CACHE_DIR", str(tmp_path / "mine"))
  assert cache_dir("xla") == str(tmp_path / "mine" / "xla")
  monkeypatch.delenv("GANJAX_CACHE_DIR")
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
  assert cache_dir("features", "k") == str(tmp_path / "xdg" / "ganjax" / "features" / "k")
  monkeypatch.delenv("XDG_CACHE_HOME")
  monkeypatch.setenv("HOME", str(tmp_path / "home"))
  assert cache_dir() == str(tmp_path / "home" / ".cache" / "ganjax")
  monkeypatch.setenv("GANJAX_CACHE_DIR", "off")
  assert cache_dir("xla") is None


def test_the_feature_network_refuses_to_train_without_a_cache(monkeypatch):
  monkeypatch.setenv("GANJAX_CACHE_DIR", "off")
  images, labels = np.zeros((4, 8, 8, 1), np.uint8), np.array([0, 1, 0, 1])
  with pytest.raises(UserError, match="the feature network needs a cache; unset "
                                      "GANJAX_CACHE_DIR=off"):
    load_or_train("tiny", (images, labels), (images, labels), progress=False)


def test_the_feature_network_needs_more_than_one_class():
  images, labels = np.zeros((4, 8, 8, 1), np.uint8), np.zeros(4, int)
  with pytest.raises(UserError, match="dataset 'tiny' has one class"):
    load_or_train("tiny", (images, labels), (images, labels), progress=False)
