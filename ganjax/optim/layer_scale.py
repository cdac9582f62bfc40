"""Per-layer learning-rate multipliers as an Optax transform.

``scale_by_layer({"MappingNetwork_0": 0.01})`` multiplies the updates of every parameter under
that top-level layer by 0.01 and leaves the others alone. Chained after an optimizer whose
update is linear in its learning rate (Adam, RMSprop, SGD, momentum, conjugate gradient)
it gives that layer the learning rate λ·m: uₗ = m·(−λ·dₗ) = −(m·λ)·dₗ, where dₗ is the
optimizer's direction. StyleGAN's mapping network learns at λ' = 0.01·λ (Karras et al. 2019,
appendix C), without which its style codes drift faster than the synthesis net follows.
"""

from typing import Mapping

import jax
import optax

from ganjax.errors import UserError


def scale_by_layer(multipliers: Mapping[str, float]) -> optax.GradientTransformation:
  """Updates of the parameters under top-level key ``name`` are multiplied by
  ``multipliers[name]``; a name the parameters do not have is an error."""
  multipliers = dict(multipliers)

  def init_fn(params):
    unknown = sorted(set(multipliers) - set(params))
    if unknown:
      raise UserError(f"lr_multipliers name layers the network does not have: {unknown}; "
                       f"its top-level layers are {sorted(params)}")
    return optax.EmptyState()

  def update_fn(updates, state, params=None):
    del params
    scaled = {name: jax.tree.map(lambda u, m=multipliers.get(name, 1.0): u * m, sub)
              for name, sub in updates.items()}
    return scaled, state

  return optax.GradientTransformation(init_fn, update_fn)
