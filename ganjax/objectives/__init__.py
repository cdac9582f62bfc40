"""GAN objectives: loss families (``losses``), regularisers (``regularizers``) and the
registered terms the train step sums (``terms``). :func:`terms_from_config` is the one reader
of ``config.loss``; every registered term's weight key is in the config schema."""

import functools
from typing import Callable, NamedTuple

import ml_collections

from ganjax.objectives import losses
from ganjax.objectives.terms import D_TERMS, G_TERMS, Term

class Setup(NamedTuple):
  """What term factories may read: the loss config, the family's two losses, and a thunk
  returning the perceptual term's fixed feature network."""
  loss: ml_collections.ConfigDict
  g_loss: Callable
  d_loss: Callable
  perceptual_features: Callable


def weight_keys() -> list[str]:
  """The ``config.loss`` keys that weigh a registered term."""
  return list(dict.fromkeys(r.key for r in (*D_TERMS.values(), *G_TERMS.values())))


def terms_from_config(loss: ml_collections.ConfigDict, classifier: str = "",
                      perceptual_features: Callable | None = None) -> tuple[list[Term], list[Term]]:
  """The discriminator and generator terms ``config.loss`` turns on, in summation order.

  ``classifier``: ``"acgan"`` when D has an AC-GAN class head, ``"semi_supervised"`` when it
  is a K-class semi-supervised classifier, ``""`` otherwise; terms that need another D stay
  off. ``perceptual_features``: a thunk returning the perceptual term's feature network,
  called only when that term is on.
  """
  g_loss, d_loss = losses.get(loss.name)
  if loss.real_label != 1.0:
    d_loss = functools.partial(d_loss, real_label=loss.real_label)
  setup = Setup(loss, g_loss, d_loss, perceptual_features)

  def build(registry) -> list[Term]:
    return [r.factory(loss[r.key], setup) for r in registry.values()
            if r.requires in ("", classifier) and (r.always or loss[r.key] > 0)]
  return build(D_TERMS), build(G_TERMS)
