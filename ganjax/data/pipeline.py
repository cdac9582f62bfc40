"""Deterministic, resumable batches: the batch for step n is a pure function of (seed, n).

Each epoch is a permutation drawn from ``np.random.default_rng([seed, epoch])``; a step takes
the next ``batch_size · n_critic`` indices (the remainder of an epoch is dropped). A resumed
run therefore sees exactly the batches an uninterrupted run would.
"""

import queue
import threading

import numpy as np

from ganjax.errors import UserError


class ArraySource:
  """In-memory images (uint8 NHWC) and labels (int32)."""

  def __init__(self, images: np.ndarray, labels: np.ndarray):
    self.images, self.labels = images, labels
    self.image_shape = tuple(images.shape[1:])

  def __len__(self) -> int:
    return len(self.images)

  def get(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return self.images[indices], self.labels[indices]


class PaddedSource:
  """``source`` with every image zero-padded, centred, to ``size`` × ``size``: Fashion-MNIST's
  28×28 at the 32×32 that the CIFAR-10 architectures (SNGAN, BigGAN) are built for. Other
  attributes (labels, has_labels) are the wrapped source's."""

  def __init__(self, source, size: int):
    height, width = source.image_shape[:2]
    if size < max(height, width):
      raise UserError(f"config.data.pad_to={size} is smaller than the {height}×{width} images")
    self.source = source
    top, left = (size - height) // 2, (size - width) // 2
    self.padding = ((0, 0), (top, size - height - top), (left, size - width - left), (0, 0))
    self.image_shape = (size, size, *source.image_shape[2:])

  def __getattr__(self, name):
    return getattr(self.source, name)

  def __len__(self) -> int:
    return len(self.source)

  def get(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    images, labels = self.source.get(indices)
    return np.pad(images, self.padding), labels


class StepBatches:
  """A map from step number to batch, read ahead in a thread by :meth:`prefetch`."""

  def __call__(self, step: int) -> dict:
    raise NotImplementedError

  def prefetch(self, start: int, stop: int, depth: int = 2, transform=lambda b: b):
    """Yields ``(step, transform(batch))`` for steps in [start, stop), prepared in a thread."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    done = threading.Event()

    def produce():
      try:
        for step in range(start, stop):
          if done.is_set():
            return
          slots.put((step, transform(self(step))))
      except BaseException as e:  # surfaced in the consumer
        slots.put(e)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
      for _ in range(start, stop):
        item = slots.get()
        if isinstance(item, BaseException):
          raise item
        yield item
    finally:
      done.set()
      while thread.is_alive():
        try:
          slots.get_nowait()
        except queue.Empty:
          thread.join(timeout=0.05)


class Batches(StepBatches):
  """Maps a step number to its batch: ``{"image": (n_critic, B, H, W, C), "label": (n_critic, B)}``.

  Images are scaled from uint8 to ``value_range`` as float32. With ``labeled = (indices,
  batch)`` every step also holds ``"labeled_image"`` / ``"labeled_label"`` (n_critic, batch,
  …): examples of that labelled subset, drawn with a generator seeded by (seed, step). With
  ``generator_batch`` it also holds ``"g_image"`` / ``"g_label"`` (1, B, …), the generator
  update's own real batch: the same walk through a second permutation of every epoch. With
  ``xflip`` each example is mirrored left-right with probability ½, drawn from (seed, step),
  so a resumed run sees the same flips (the dataset doubled, as StyleGAN2-ADA's ``--mirror``).
  """

  def __init__(self, source, batch_size: int, n_critic: int, seed: int,
               value_range: tuple[float, float] = (-1.0, 1.0), labeled=None,
               generator_batch: bool = False, xflip: bool = False):
    self.source, self.batch_size, self.n_critic, self.seed = source, batch_size, n_critic, seed
    self.labeled, self.generator_batch, self.xflip = labeled, generator_batch, xflip
    self.per_step = batch_size * n_critic
    self.steps_per_epoch = len(source) // self.per_step
    if self.steps_per_epoch == 0:
      raise UserError(f"dataset has {len(source)} examples, fewer than one step needs "
                      f"(batch_size·n_critic = {self.per_step})")
    lo, hi = value_range
    self._scale, self._shift = (hi - lo) / 255.0, lo
    self._perms = {}  # stream → (epoch, that epoch's permutation)

  def indices(self, step: int, stream: int = 0) -> np.ndarray:
    """Step ``step``'s ``batch_size · n_critic`` dataset indices; stream 1 walks a second,
    independent permutation of each epoch (the generator's batch)."""
    epoch, i = divmod(int(step), self.steps_per_epoch)
    if self._perms.get(stream, (None,))[0] != epoch:
      key = [self.seed, epoch] if stream == 0 else [self.seed, epoch, 2]
      self._perms[stream] = epoch, np.random.default_rng(key).permutation(len(self.source))
    return self._perms[stream][1][i * self.per_step:(i + 1) * self.per_step]

  def scale_table(self) -> np.ndarray:
    """float32 value of each uint8 level: what ``__call__`` maps pixel values to."""
    return self._scale_images(np.arange(256, dtype=np.uint8))

  def _scale_images(self, images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) * self._scale + self._shift

  def plan(self, step: int) -> dict:
    """The dataset indices of step ``step``'s examples: ``{"": (n_critic, B)}``, with a
    labelled subset ``"labeled_": (n_critic, labelled batch)``, with ``generator_batch``
    ``"g_": (1, B)``."""
    out = {"": self.indices(step).reshape(self.n_critic, self.batch_size)}
    if self.labeled is not None:
      subset, batch = self.labeled
      rng = np.random.default_rng([self.seed, int(step), 1])
      picked = rng.choice(subset, self.n_critic * batch, replace=len(subset) < self.n_critic * batch)
      out["labeled_"] = picked.reshape(self.n_critic, batch)
    if self.generator_batch:
      out["g_"] = self.indices(step, stream=1)[:self.batch_size].reshape(1, self.batch_size)
    return out

  def __call__(self, step: int) -> dict:
    out = {}
    for stream, (prefix, indices) in enumerate(self.plan(step).items()):
      images, labels = self.source.get(indices.reshape(-1))
      if self.xflip:
        flip = np.random.default_rng([self.seed, int(step), 3, stream]).random(len(images)) < 0.5
        images = np.where(flip[:, None, None, None], images[:, :, ::-1], images)
      out[prefix + "image"] = self._scale_images(images).reshape(*indices.shape, *images.shape[1:])
      out[prefix + "label"] = labels.reshape(indices.shape)
    return out


class StackedBatches(StepBatches):
  """The batches of K runs (one :class:`Batches` per seed) stacked on a leading seed axis:
  ``(K, n_critic, B, ...)``, for K seeds trained as one vmapped program."""

  def __init__(self, runs: list[Batches]):
    self.runs = runs

  def __call__(self, step: int) -> dict:
    return stack_over_seeds([run(step) for run in self.runs])


def stack_over_seeds(per_seed: list[dict]) -> dict:
  """K dicts of equally shaped arrays → one dict of arrays with a leading axis of size K."""
  return {key: np.stack([d[key] for d in per_seed]) for key in per_seed[0]}


def labeled_subset(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
  """Indices of ``per_class`` examples of every class, the same for a given seed (0: all)."""
  if per_class == 0:
    return np.arange(len(labels))
  rng = np.random.default_rng([seed, 0x55])
  picked = []
  for label in np.unique(labels):
    members = np.flatnonzero(labels == label)
    if len(members) < per_class:
      raise UserError(f"config.data.labels_per_class={per_class} but class {label} has only "
                      f"{len(members)} examples")
    picked.append(rng.permutation(members)[:per_class])
  return np.sort(np.concatenate(picked))
