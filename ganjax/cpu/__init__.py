"""CPU fast paths: the same functions as XLA's and ``jax.random``'s, computed faster on the CPU.

- ``convolution``: Winograd's minimal filtering (``winograd``) for wide 3×3 and 5×5
  convolutions and a patch matrix product (``im2col``) for those that read an image; models
  get them by building convolutions with ``ganjax.models.layers.Conv``.
- ``threefry``: ``jax.random``'s Bernoulli and normal draws, bit for bit, with the hash
  unrolled; ``layers.Dropout`` and ``layers.GaussianNoise`` draw with it.
- ``host_memory``: glibc keeps XLA's per-step buffers mapped. A process-wide setting made
  before JAX starts (so before a config is read): ``GANJAX_RETAIN_FREED_MEMORY=0`` turns it off.

``config.fast_paths`` (``switch``: auto, on, off) turns the first two on or off; they change
results only by float32 rounding (the convolutions) or not at all (the draws), and a
checkpoint loads under any setting.
"""

from ganjax.cpu.switch import SETTINGS, enabled, fast_paths

__all__ = ["SETTINGS", "enabled", "fast_paths"]
