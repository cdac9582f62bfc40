"""The GAN state pytree: everything a resumed run needs except the config."""

import hashlib
from typing import Any

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ganjax.models.conditional import is_conditional
from ganjax.models.data_init import weight_norm_data_init


@flax.struct.dataclass
class GANState:
  """One GAN run as a plain pytree.

  Attributes:
    step: int32 scalar, number of completed train steps.
    rng: uint32[2] raw PRNG key; step n uses ``fold_in(rng, n)``.
    g_params, d_params: generator and discriminator parameters.
    g_batch_stats, d_batch_stats: batch-norm running statistics ({} when a net has none).
    g_opt_state, d_opt_state: optax states.
    ema_params: exponential moving average of ``g_params``, or None when EMA is off.
    d_ema_params: the same for ``d_params`` (a semi-supervised D classifies with it).
    lr_scale: float32 factor on both learning rates, lowered by each NaN rollback; the host
      builds the optimizers with it (``ganjax.train``).
    rejected_steps: int32, steps whose update was dropped for a non-finite loss or gradient.
    nonfinite_streak: int32, how many steps in a row were rejected up to now.
    rollbacks: int32, how often the run went back to a checkpoint after a streak.
  """
  step: jax.Array
  rng: jax.Array
  g_params: Any
  d_params: Any
  g_batch_stats: Any
  d_batch_stats: Any
  g_opt_state: optax.OptState
  d_opt_state: optax.OptState
  ema_params: Any = None
  d_ema_params: Any = None
  lr_scale: jax.Array = None
  rejected_steps: jax.Array = None
  nonfinite_streak: jax.Array = None
  rollbacks: jax.Array = None


def init_state(seed: int, generator, discriminator, g_tx: optax.GradientTransformation,
               d_tx: optax.GradientTransformation, latent_dim: int, image_shape,
               use_ema: bool = False, use_d_ema: bool = False, d_init_images=None) -> GANState:
  """Initialises both networks and optimizers from ``seed`` (pure; works under eval_shape).

  ``d_init_images`` (a batch of real images): D's weight-normalised layers get their
  data-dependent initialisation on it (``ganjax.models.data_init``), with D in training mode
  (its noise and dropout on, drawn from the seed) as Salimans et al. 2016 do.
  """
  rng = jax.random.PRNGKey(seed)
  g_key, d_key, run_key = jax.random.split(rng, 3)
  z = jnp.zeros((1, latent_dim), jnp.float32)
  x = jnp.zeros((1, *image_shape), jnp.float32)
  g_labels = {"labels": jnp.zeros((1,), jnp.int32)} if is_conditional(generator) else {}
  d_labels = {"labels": jnp.zeros((1,), jnp.int32)} if is_conditional(discriminator) else {}
  g_vars = generator.init({"params": g_key, "dropout": g_key}, z, train=False, **g_labels)
  d_vars = discriminator.init({"params": d_key, "dropout": d_key}, x, train=False, **d_labels)
  if d_init_images is not None:
    if d_labels:
      raise ValueError("data-dependent initialisation of a class-conditional D is not "
                       "supported (it would need labels for the images)")
    init_key = jax.random.fold_in(d_key, 1)
    d_vars = weight_norm_data_init(discriminator, d_vars, d_init_images,
                                   rngs={"noise": init_key, "dropout": init_key}, train=True)
  g_params, d_params = g_vars["params"], d_vars["params"]
  return GANState(
      step=jnp.zeros((), jnp.int32),
      rng=run_key,
      g_params=g_params,
      d_params=d_params,
      g_batch_stats=g_vars.get("batch_stats", {}),
      d_batch_stats=d_vars.get("batch_stats", {}),
      g_opt_state=g_tx.init(g_params),
      d_opt_state=d_tx.init(d_params),
      ema_params=jax.tree.map(jnp.copy, g_params) if use_ema else None,
      d_ema_params=jax.tree.map(jnp.copy, d_params) if use_d_ema else None,
      lr_scale=jnp.ones((), jnp.float32),
      rejected_steps=jnp.zeros((), jnp.int32),
      nonfinite_streak=jnp.zeros((), jnp.int32),
      rollbacks=jnp.zeros((), jnp.int32),
  )


def state_digest(state) -> str:
  """sha256 over every leaf (path, dtype, shape and bytes) of a host-side state."""
  digest = hashlib.sha256()
  for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]:
    array = np.asarray(jax.device_get(leaf))
    digest.update(jax.tree_util.keystr(path).encode())
    digest.update(f"{array.dtype}{array.shape}".encode())
    digest.update(np.ascontiguousarray(array).tobytes())
  return digest.hexdigest()
