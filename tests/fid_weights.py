"""Random FID-Inception weights from a seed, in torch's state-dict layout (numpy only, so the
peers' script ``scripts/fid_reference.py`` builds the very same arrays without JAX).

Conv and fc weights are He-normal (std √(2 / fan_in)), so activations keep their scale
through the ReLUs; batch-norm scales and running variances are log-uniform around 1 and
biases and running means small, so every array the loader maps is exercised and a swap of
two of them changes the output.
"""

import hashlib

import numpy as np


def random_state_dict(shapes: dict, seed: int = 0) -> dict:
  """``{key: float32 array}`` for ``shapes`` (``{torch key: shape}``), drawn in sorted key
  order from ``np.random.default_rng(seed)``."""
  rng = np.random.default_rng(seed)
  state = {}
  for key in sorted(shapes):
    shape = tuple(shapes[key])
    if key.endswith("weight") and len(shape) > 1:  # conv (O, I, H, W) or fc (O, I)
      fan_in = int(np.prod(shape[1:]))
      value = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
    elif key.endswith(("bn.weight", "running_var")):
      value = np.exp(rng.uniform(-0.3, 0.3, shape))
    else:  # bn.bias, running_mean, fc.bias
      value = rng.uniform(-0.1, 0.1, shape)
    state[key] = value.astype(np.float32)
  return state


def digest(state: dict) -> str:
  """sha256 over the keys and bytes of ``state`` in sorted key order."""
  h = hashlib.sha256()
  for key in sorted(state):
    h.update(key.encode())
    h.update(np.ascontiguousarray(state[key]).tobytes())
  return h.hexdigest()
