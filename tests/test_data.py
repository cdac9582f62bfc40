"""IDX reader, image folders, TFDS on mock data, and the step-indexed batch pipeline."""

import gzip
import os
import threading

import ml_collections
import numpy as np
import pytest
from PIL import Image

from conftest import run_info
from ganjax import cli, data
from ganjax import config as config_lib
from ganjax.data.idx import load_split, read_idx, write_idx
from ganjax.data.pipeline import StepBatches
from ganjax.errors import CorruptData, UserError
from ganjax.parallel import DataParallel


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
  array = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
  if dtype == np.uint8:
    array = np.arange(30, dtype=np.uint8).reshape(2, 3, 5)
  path = str(tmp_path / f"a-idx3-ubyte{suffix}")
  write_idx(path, array)
  np.testing.assert_array_equal(read_idx(path), array)


def test_idx_header_is_big_endian(tmp_path):
  # Hand-written file: magic 0x00000801 (uint8, 1 dim), 3 items.
  path = tmp_path / "labels-idx1-ubyte"
  path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
  np.testing.assert_array_equal(read_idx(str(path)), [7, 8, 9])


def test_idx_errors(tmp_path):
  bad = tmp_path / "bad-idx1-ubyte"
  bad.write_bytes(b"PK\x03\x04hello")
  with pytest.raises(UserError, match="not an IDX file"):
    read_idx(str(bad))
  short = tmp_path / "short-idx1-ubyte.gz"
  with gzip.open(short, "wb") as f:
    f.write(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]))
  with pytest.raises(UserError, match="truncated"):
    read_idx(str(short))
  cut = tmp_path / "cut-idx1-ubyte.gz"  # the gzip stream itself ends early
  cut.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 1, 0]) + bytes(256))[:20])
  with pytest.raises(CorruptData, match="cut-idx1-ubyte.gz is truncated or corrupt"):
    read_idx(str(cut))


@pytest.mark.parametrize("test_files", ["whole", "none", "cut off"])
def test_the_train_split_stands_in_for_a_missing_test_split_never_for_a_corrupt_one(
    idx_dir, tmp_path, test_files):
  """Evaluation and a semi-supervised D's test accuracy read ``data.test_split``."""
  for name in os.listdir(idx_dir):
    if name.startswith("train") or test_files != "none":
      (tmp_path / name).write_bytes(open(os.path.join(idx_dir, name), "rb").read())
  cfg = config_lib.base_config().data
  cfg.update(name="fashion_mnist", source="idx", path=str(tmp_path))
  if test_files == "cut off":
    images = tmp_path / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(CorruptData, match="t10k-images-idx3-ubyte.gz is truncated or corrupt"):
      data.test_split(cfg)
    return
  want = load_split(idx_dir, "test" if test_files == "whole" else "train")
  for got, expected in zip(data.test_split(cfg), want):
    np.testing.assert_array_equal(got, expected)


def test_generated_idx_dataset_loads(idx_dir):
  cfg = ml_collections.ConfigDict(dict(name="fashion_mnist", source="auto", path=idx_dir,
                                       split="train", download=False))
  source = data.open_source(cfg)
  assert len(source) == 256 and source.image_shape == (28, 28, 1)
  images, labels = source.get(np.array([0, 5]))
  assert images.dtype == np.uint8 and labels.dtype == np.int32 and images.shape == (2, 28, 28, 1)
  test = data.open_source(ml_collections.ConfigDict(dict(cfg, split="test")))
  assert len(test) == 64


def test_padded_source_centres_the_images_in_zeros(idx_dir):
  cfg = ml_collections.ConfigDict(dict(name="fashion_mnist", source="idx", path=idx_dir,
                                       split="train", download=False))
  plain = data.open_source(cfg)
  padded = data.open_source(ml_collections.ConfigDict(dict(cfg, pad_to=33)))
  assert padded.image_shape == (33, 33, 1) and len(padded) == len(plain)
  np.testing.assert_array_equal(padded.labels, plain.labels)  # what labeled_subset reads
  (images, labels), (small, small_labels) = padded.get(np.arange(8)), plain.get(np.arange(8))
  assert images.shape == (8, 33, 33, 1) and images.dtype == np.uint8
  np.testing.assert_array_equal(images[:, 2:30, 2:30], small)  # 5 rows/cols: 2 before, 3 after
  images[:, 2:30, 2:30] = 0
  assert not images.any() and small.any()
  np.testing.assert_array_equal(labels, small_labels)
  with pytest.raises(UserError, match="pad_to=20 is smaller than the 28×28"):
    data.open_source(ml_collections.ConfigDict(dict(cfg, pad_to=20)))


def test_environment_variable_locates_idx_files(idx_dir, monkeypatch):
  monkeypatch.setenv("GANJAX_FASHION_MNIST_DIR", idx_dir)
  cfg = ml_collections.ConfigDict(dict(name="fashion_mnist", source="idx", path="",
                                       split="train", download=False))
  assert len(data.open_source(cfg)) == 256


def test_batches_are_a_function_of_the_step(idx_dir):
  source = data.ArraySource(*load_split(idx_dir, "train"))
  a = data.Batches(source, batch_size=32, n_critic=2, seed=3)
  b = data.Batches(source, batch_size=32, n_critic=2, seed=3)
  for step in (5, 0, 9, 3):  # out of order, across the epoch boundary (4 steps per epoch)
    np.testing.assert_array_equal(a(step)["image"], b(step)["image"])
  assert a(0)["image"].shape == (2, 32, 28, 28, 1)
  epoch = np.concatenate([a.indices(s) for s in range(a.steps_per_epoch)])
  assert sorted(epoch) == list(range(256))  # each example once per epoch
  assert not np.array_equal(a.indices(0), a.indices(a.steps_per_epoch))  # reshuffled
  assert not np.array_equal(a.indices(0), data.Batches(source, 32, 2, seed=4).indices(0))
  image = a(0)["image"]
  assert image.min() >= -1.0 and image.max() <= 1.0 and image.max() == 1.0
  unit = data.Batches(source, 32, 1, seed=3, value_range=(0.0, 1.0))(0)["image"]
  assert unit.min() >= 0.0 and unit.max() == 1.0


def test_xflip_mirrors_about_half_the_examples_the_same_way_at_every_call(idx_dir):
  source = data.ArraySource(*load_split(idx_dir, "train"))
  plain = data.Batches(source, batch_size=32, n_critic=2, seed=3)
  flipped = data.Batches(source, batch_size=32, n_critic=2, seed=3, xflip=True)
  mirrored = []
  for step in (0, 5, 9):
    a, b = plain(step), flipped(step)
    np.testing.assert_array_equal(a["label"], b["label"])  # the same examples, in order
    same = np.all(a["image"] == b["image"], axis=(2, 3, 4))
    mirror = np.all(a["image"][..., ::-1, :] == b["image"], axis=(2, 3, 4))
    assert np.all(same | mirror)  # each example as it is, or mirrored left-right
    mirrored.append(mirror & ~same)
    np.testing.assert_array_equal(flipped(step)["image"], b["image"])  # a function of the step
  share = np.mean(mirrored)
  assert 0.35 < share < 0.65, share  # 192 examples, each mirrored with probability ½
  assert not np.array_equal(mirrored[0], mirrored[1])


def test_generator_batch_walks_a_second_permutation(idx_dir):
  source = data.ArraySource(*load_split(idx_dir, "train"))
  plain = data.Batches(source, batch_size=32, n_critic=2, seed=3)
  both = data.Batches(source, batch_size=32, n_critic=2, seed=3, generator_batch=True)
  for step in (0, 5):  # D's stream is unchanged
    np.testing.assert_array_equal(both(step)["image"], plain(step)["image"])
  assert sorted(both(0)) == ["g_image", "g_label", "image", "label"]
  assert both(0)["g_image"].shape == (1, 32, 28, 28, 1)
  g_epoch = np.concatenate([both.plan(s)["g_"][0] for s in range(both.steps_per_epoch)])
  assert len(set(g_epoch)) == len(g_epoch) == 128  # no example twice in an epoch
  assert not np.array_equal(both.plan(0)["g_"][0], both.indices(0)[:32])
  assert not np.array_equal(both.plan(0)["g_"], both.plan(both.steps_per_epoch)["g_"])
  images, labels = source.get(both.plan(3)["g_"][0])
  np.testing.assert_array_equal(both(3)["g_label"][0], labels)
  np.testing.assert_array_equal(both(3)["g_image"][0], both.scale_table()[images])


def test_prefetch_yields_the_same_batches(idx_dir):
  batches = data.Batches(data.ArraySource(*load_split(idx_dir, "train")), 16, 1, seed=0)
  got = list(batches.prefetch(3, 12))
  assert [s for s, _ in got] == list(range(3, 12))
  for step, batch in got:
    np.testing.assert_array_equal(batch["image"], batches(step)["image"])


def test_prefetch_raises_a_batch_error_in_the_training_loop():
  """An error while a batch is made in the read-ahead thread must reach the loop that
  consumes the batches, after the batches before it, and not leave the loop waiting."""
  class FailsAtStep4(StepBatches):
    def __call__(self, step):
      if step == 4:
        raise OSError("disk gone")
      return {"step": step}

  seen, raised = [], []

  def training_loop():
    try:
      for step, batch in FailsAtStep4().prefetch(2, 9):
        seen.append((step, batch["step"]))
    except OSError as e:
      raised.append(str(e))

  loop = threading.Thread(target=training_loop, daemon=True)
  loop.start()
  loop.join(timeout=60)
  assert not loop.is_alive(), "the loop still waits for a batch that will never come"
  assert raised == ["disk gone"] and seen == [(2, 2), (3, 3)]


@pytest.mark.parametrize("mode,devices,seeds", [("shard_map", 1, 1), ("shard_map", 8, 1),
                                                 ("pmap", 8, 1), ("pmap", 8, 2)])
def test_device_batches_equal_the_host_batches_bit_for_bit(idx_dir, mode, devices, seeds):
  images, labels = load_split(idx_dir, "train")
  source = data.PaddedSource(data.ArraySource(images, labels), 32)
  parallel = DataParallel(mode, devices, seeds)
  runs = [data.Batches(source, 16, 2, seed=3 + k, value_range=(-1.0, 1.0),
                       labeled=(data.labeled_subset(labels, 2, seed=3 + k), 8),
                       generator_batch=mode == "pmap")
          for k in range(seeds)]
  host = runs[0] if seeds == 1 else data.StackedBatches(runs)
  on_device = data.DeviceBatches(runs, parallel)
  for step in (0, 7, 8, 3):  # across the epoch boundary (8 steps per epoch)
    got, want = on_device(step), parallel.put_batch(host(step))
    assert sorted(got) == sorted(want) == sorted(
        ["image", "label", "labeled_image", "labeled_label"] +
        (["g_image", "g_label"] if mode == "pmap" else []))
    for key in want:
      assert got[key].sharding.is_equivalent_to(want[key].sharding, want[key].ndim), key
      assert got[key].dtype == want[key].dtype
      np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(want[key]))
  assert float(np.asarray(on_device(0)["image"]).max()) == 1.0
  assert [s for s, _ in on_device.prefetch(2, 5)] == [2, 3, 4]


def test_training_on_device_data_is_bit_identical(tiny_config, tmp_path, capsys):
  digests = []
  for on_device in (False, True):
    workdir = tmp_path / str(on_device)
    assert cli.main(["train", "--config", tiny_config, "--workdir", str(workdir), "--no-progress",
                     "--config.total_steps=4", "--config.parallel.mode=pmap",
                     f"--config.data.on_device={on_device}"]) == 0
    digests.append(run_info(workdir, capsys)["state_digest"])
  assert digests[0] == digests[1]


def test_image_folder(tmp_path):
  for label, name in enumerate(["cats", "dogs"]):
    os.makedirs(tmp_path / name)
    for i in range(3):
      Image.fromarray(np.full((8, 8, 3), 40 * i + label, np.uint8)).save(tmp_path / name / f"{i}.png")
  cfg = ml_collections.ConfigDict(dict(name="folder", source="folder", path=str(tmp_path),
                                       split="train", download=False))
  source = data.open_source(cfg)
  images, labels = source.get(np.arange(6))
  assert images.shape == (6, 8, 8, 3) and list(labels) == [0, 0, 0, 1, 1, 1]
  Image.fromarray(np.zeros((9, 8, 3), np.uint8)).save(tmp_path / "dogs" / "odd.png")
  with pytest.raises(UserError, match="odd.png"):
    data.open_source(cfg)
  (tmp_path / "dogs" / "odd.png").write_bytes(b"not a png")
  with pytest.raises(UserError, match="cannot read image"):
    data.open_source(cfg)


@pytest.mark.parametrize("name,shape", [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3)),
                                        ("imagenet_resized/32x32", (32, 32, 3))])
def test_tfds_source_on_mock_data(name, shape):
  import tensorflow_datasets as tfds
  cfg = ml_collections.ConfigDict(dict(name=name, source="tfds", path="", split="train",
                                       download=False))
  with tfds.testing.mock_data(num_examples=40):
    source = data.open_source(cfg)
    assert len(source) == 40 and source.image_shape == shape
    batch = data.Batches(source, batch_size=8, n_critic=1, seed=0)(2)
  assert batch["image"].shape == (1, 8, *shape) and batch["image"].dtype == np.float32
  assert -1.0 <= batch["image"].min() and batch["image"].max() <= 1.0


def test_missing_dataset_says_how_to_get_it(tmp_path):
  cfg = ml_collections.ConfigDict(dict(name="fashion_mnist", source="auto",
                                       path=str(tmp_path / "nothing"), split="train",
                                       download=False, ))
  with pytest.raises(UserError, match="apt-get install dataset-fashion-mnist"):
    data.open_source(cfg)
