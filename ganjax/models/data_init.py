"""Data-dependent initialisation of weight-normalised layers (Salimans & Kingma 2016, §2.2).

A weight-normalised layer computes y = g · (v·x)/‖v‖ + b per output unit. Given a batch of
real inputs, its data-dependent initialisation sets

    t = (v·x)/‖v‖,   g ← 1/σ[t],   b ← −μ[t]/σ[t]

(μ, σ: the mean and standard deviation of t over the batch and, for convolutions, over the
positions), so that every unit starts with zero mean and unit variance on the data, layer by
layer from the input up. Salimans et al. 2016's semi-supervised GANs initialise their
discriminators this way (on 500 training images); it keeps each hidden layer's signal at unit
scale, so Gaussian noise of σ 0.5 added after every layer stays a fixed fraction of it.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

_EPS = 1e-6  # added to σ² so a unit that is constant on the batch stays finite


def _is_weight_norm(module: nn.Module, method: str) -> bool:
  return isinstance(module, nn.WeightNorm) and method == "__call__"


def _scale_key(wn_params: dict) -> str:
  """The one key of a WeightNorm's params, ``'<layer>/kernel/scale'`` (its length g)."""
  if len(wn_params) != 1:
    raise ValueError("data-dependent initialisation supports weight norm on layers with one "
                     f"kernel (a Dense or Conv); found scales {sorted(wn_params)}")
  (key,) = wn_params
  return key


def weight_norm_data_init(module: nn.Module, variables: dict, x, rngs=None, **kwargs) -> dict:
  """``variables`` with every ``nn.WeightNorm`` layer of ``module`` initialised from the batch.

  Args:
    module: the network; ``module.apply(variables, x, rngs=rngs, **kwargs)`` runs it.
    variables: its variables from ``module.init``; only ``params`` change.
    x: a batch of real inputs.
    rngs: RNG streams for the forward pass (Gaussian noise, dropout); the same draws serve
      every pass.
    **kwargs: passed to the network (e.g. ``train=True``, as Salimans et al. initialise with
      their noise layers on).

  Every layer is normalised in every pass. A layer's statistics are exact once the layers
  below it stop changing, so after as many passes as there are weight-normalised layers all
  of them are — the layer-by-layer procedure, without needing the layers' order.
  """
  def layer_outputs(params):
    _, state = module.apply({**variables, "params": params}, x, rngs=rngs,
                            capture_intermediates=_is_weight_norm, mutable=True, **kwargs)
    return state.get("intermediates", {})

  params = variables["params"]
  outputs = layer_outputs(params)
  num_layers = len(jax.tree_util.tree_leaves(outputs))
  for i in range(num_layers):
    params = _normalise(params, outputs)
    if i + 1 < num_layers:
      outputs = layer_outputs(params)
  return {**variables, "params": params}


def _normalise(params: dict, intermediates: dict) -> dict:
  """``params`` with each captured weight-norm layer's output standardised (see module doc)."""
  params = jax.tree_util.tree_map(lambda p: p, params)  # a fresh nested dict to edit
  flat = jax.tree_util.tree_flatten_with_path(intermediates)[0]
  for path, y in flat:
    # path: (..., 'WeightNorm_k', '__call__', 0) -> the module path (..., 'WeightNorm_k')
    names = tuple(p.key for p in path if isinstance(p, jax.tree_util.DictKey))[:-1]
    parent = params
    for name in names[:-1]:
      parent = parent[name]
    wn = parent[names[-1]]
    key = _scale_key(wn)
    layer = parent
    for name in key.split("/")[:-2]:  # the wrapped layer, a sibling of the WeightNorm
      layer = layer[name]
    y = y.astype(jnp.float32)
    axes = tuple(range(y.ndim - 1))
    mean, std = jnp.mean(y, axes), jnp.sqrt(jnp.var(y, axes) + _EPS)
    wn[key] = wn[key] / std
    if "bias" in layer:
      layer["bias"] = (layer["bias"] - mean) / std
  return params
