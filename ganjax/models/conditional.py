"""Class-conditional wrappers around any generator and discriminator of ``ganjax.models``.

Generator (Mirza & Osindero 2014): G(z, y) is the base generator applied to [z, onehot(y)].
Discriminator, by ``conditioning``: ``concat`` shows D onehot(y) beside the image (Mirza &
Osindero); ``projection`` computes D(x, y) = ψ(φ(x)) + ⟨V·onehot(y), φ(x)⟩ (Miyato & Koyama
2018, eq. 3); ``acgan`` adds an auxiliary class head on φ(x) (Odena et al. 2017). The
semi-supervised discriminator (Salimans et al. 2016, §5) is a K-class classifier whose
"fake" class has logit 0, so its adversarial logit is logsumexp of the K class logits.
Each class's docstring has the details.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax.models.layers import spectrally_normalized, weight_normalized

CONDITIONINGS = ("concat", "projection", "acgan")


class ConditionalGenerator(nn.Module):
  """G(z, y) = base([z, onehot(y)])."""
  base: nn.Module
  num_classes: int

  takes_labels = True

  @property
  def output_activation(self) -> str:
    return self.base.output_activation

  @nn.compact
  def __call__(self, z, labels, train: bool = True):
    y = jax.nn.one_hot(labels, self.num_classes, dtype=z.dtype)
    return self.base(jnp.concatenate([z, y], axis=-1), train=train)


class ConditionalDiscriminator(nn.Module):
  """D(x, y) by ``conditioning``.

  concat: the base D sees onehot(y) beside the image (extra channels of every pixel for
    convolutional nets, appended to the flattened image for MLPs; Mirza & Osindero 2014).
  projection: D(x, y) = ψ(φ(x)) + ⟨V·onehot(y), φ(x)⟩, φ(x) the base net's features before
    its output layer, V a learned class embedding, spectrally normalised with the rest
    (Miyato & Koyama 2018, "cGANs with Projection Discriminator", eq. 3).
  acgan: D does not see y; an auxiliary head predicts it from φ(x) and the module returns
    ``(logit, class_logits)`` (Odena et al. 2017); the class cross-entropy is an objective term.
  """
  base: nn.Module
  num_classes: int
  conditioning: str = "projection"
  takes_labels = True

  @nn.compact
  def __call__(self, x, labels, train: bool = True, return_features: bool = False):
    """The output (the class docstring), and with ``return_features`` (output, φ(x))."""
    y = jax.nn.one_hot(labels, self.num_classes, dtype=x.dtype)
    if self.conditioning == "concat":
      return self.base(x, train=train, condition=y, return_features=return_features)
    logit, features = self.base(x, train=train, return_features=True)
    if self.conditioning == "projection":
      embed = nn.Dense(features.shape[-1], use_bias=False, name="class_embedding")
      embed = spectrally_normalized(embed, getattr(self.base, "spectral_norm", False), train)
      out = logit + jnp.sum(embed(y) * features, axis=-1)
    elif self.conditioning == "acgan":
      out = logit, nn.Dense(self.num_classes, name="class_head")(features)
    else:
      raise ValueError(f"unknown conditioning {self.conditioning!r}; choose from {CONDITIONINGS}")
    return (out, features) if return_features else out


class SemiSupervisedDiscriminator(nn.Module):
  """K class logits l(x) from the base net's features; adversarial logit logsumexp(l).

  Salimans et al. 2016, "Improved Techniques for Training GANs", §5: a K-class classifier
  whose (K+1)-th "fake" class has its logit fixed at 0, so D(x) = Z(x)/(Z(x) + 1) with
  Z = Σₖ exp lₖ(x). G stays unconditional; D also learns from labelled examples.
  """
  base: nn.Module
  num_classes: int

  @nn.compact
  def __call__(self, x, train: bool = True, return_features: bool = False):
    """``(logsumexp(l), l)``, and with ``return_features`` ((…), φ(x))."""
    _, features = self.base(x, train=train, return_features=True)
    dense = weight_normalized(nn.Dense(self.num_classes, name="class_head"),
                              getattr(self.base, "weight_norm", False))
    class_logits = spectrally_normalized(dense, getattr(self.base, "spectral_norm", False),
                                         train)(features)
    out = jax.nn.logsumexp(class_logits, axis=-1), class_logits
    return (out, features) if return_features else out


def is_conditional(module: nn.Module) -> bool:
  """Whether ``module`` takes class labels (a wrapper, or a net conditioned inside)."""
  return bool(getattr(module, "takes_labels", False))
