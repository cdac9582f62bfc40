"""``jax.random``'s exact Bernoulli and normal draws, with the Threefry hash unrolled: fast
dropout and noise layers on the CPU.

``jax.random`` draws from Threefry-2x32 (Salmon et al. 2011): 20 rounds of add, rotate and
xor on a pair of 32-bit words per output. On the CPU, JAX lowers them as a loop of 5 that
reads and writes the whole counter arrays on each pass; unrolled, XLA fuses the rounds into
one pass over memory (docs/performance.md has the timings).

``bernoulli`` and ``normal`` return what ``jax.random.bernoulli(key, p, shape)`` and
``jax.random.normal(key, shape)`` return, bit for bit (float32, the default Threefry key,
``jax_threefry_partitionable``; tests/test_threefry.py), so a model trains exactly as with
``jax.random``. Where those assumptions do not hold (another PRNG, the older counter
layout, a backend other than the CPU) they call ``jax.random``.
"""

import jax
import jax.numpy as jnp
import numpy as np

ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
KEY_PARITY = np.uint32(0x1BD11BDA)  # Threefry's constant for the third key word
MANTISSA_BITS = 23  # float32


def threefry2x32(k1: jax.Array, k2: jax.Array, x1: jax.Array, x2: jax.Array):
  """The Threefry-2x32 hash of the counter pairs (x1, x2) under key (k1, k2), 20 rounds.

  Five groups of four rounds (x1 += x2; x2 = rotl(x2, r) ^ x1), each followed by a key
  injection ks[i+1], ks[i+2] + i + 1 (indices mod 3, ks = (k1, k2, k1 ^ k2 ^ parity)).
  """
  ks = (k1, k2, k1 ^ k2 ^ KEY_PARITY)
  x1, x2 = x1 + ks[0], x2 + ks[1]
  for i in range(5):
    for r in ROTATIONS[i % 2]:
      x1 = x1 + x2
      x2 = x1 ^ ((x2 << np.uint32(r)) | (x2 >> np.uint32(32 - r)))
    x1 = x1 + ks[(i + 1) % 3]
    x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
  return x1, x2


def random_bits(key_words: jax.Array, shape) -> jax.Array:
  """32 random bits per entry of ``shape`` from a raw Threefry key (u32[2]): the values of
  ``jax.random.bits`` with partitionable counters (the flat index, split into two words)."""
  size = int(np.prod(shape))
  if size >= 2**32:
    raise ValueError(f"{size} random values exceed the 32-bit counter of this path")
  counts = jax.lax.iota(jnp.uint32, size).reshape(shape)
  hi, lo = threefry2x32(key_words[0], key_words[1], jnp.zeros_like(counts), counts)
  return hi ^ lo


def _raw_threefry_key(key):
  """The key's two words if it is a Threefry key whose bits this module reproduces."""
  if not jax.config.jax_threefry_partitionable:
    return None
  if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
    if "threefry" not in str(jax.random.key_impl(key)):
      return None
    return jax.random.key_data(key)
  return key if jax.config.jax_default_prng_impl == "threefry2x32" else None


def _uniform(words: jax.Array, shape, minval: np.float32, maxval: np.float32) -> jax.Array:
  """``jax.random.uniform``'s float32 values in [minval, maxval): the top 23 of the 32 bits
  as the mantissa of a float in [1, 2), shifted and scaled."""
  bits = random_bits(words, tuple(shape))
  one = np.array(1.0, np.float32).view(np.uint32)
  u = jax.lax.bitcast_convert_type((bits >> np.uint32(32 - MANTISSA_BITS)) | one,
                                   jnp.float32) - np.float32(1.0)
  return jnp.maximum(minval, u * (maxval - minval) + minval)


def bernoulli(key: jax.Array, p: float, shape) -> jax.Array:
  """``jax.random.bernoulli(key, p, shape)`` (float32 ``p``): True with probability p,
  as u < p for a uniform u in [0, 1)."""
  words = _raw_threefry_key(key)
  if words is None or jax.default_backend() != "cpu":
    return jax.random.bernoulli(key, p, shape)
  return _uniform(words, shape, np.float32(0.0), np.float32(1.0)) < np.float32(p)


def normal(key: jax.Array, shape, dtype=jnp.float32) -> jax.Array:
  """``jax.random.normal(key, shape, dtype)``; in float32 here: √2 · erf⁻¹(u) for a uniform
  u in (−1, 1), the inverse-CDF method JAX uses."""
  words = _raw_threefry_key(key)
  if words is None or jax.default_backend() != "cpu" or jnp.dtype(dtype) != jnp.float32:
    return jax.random.normal(key, shape, dtype)
  lo = np.nextafter(np.float32(-1.0), np.float32(0.0), dtype=np.float32)
  u = _uniform(words, shape, lo, np.float32(1.0))
  return np.float32(np.sqrt(2)) * jax.lax.erf_inv(u)
