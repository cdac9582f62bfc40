"""Objective terms: each discriminator or generator term is one small pure function.

A term reads one context — :class:`DContext` in a critic update, :class:`GContext` in the
generator update — and returns ``(value, metrics)``; the step adds ``weight × value`` of
every configured term, in order, and logs the metrics. Terms are registered by name with
:func:`d_term` / :func:`g_term`; ``ganjax.objectives.terms_from_config`` picks them from
``config.loss``. A new idea is one function here (or in its own module) plus one line there.

Three kinds (``Term.kind``): ``"outputs"`` terms see D's outputs and the images (their
gradient reaches G through its images), ``"params"`` terms are functions of the updated
player's parameters (``fn(params)``), and ``"projection"`` terms map D's parameters after
each update (``fn(params) -> params``, e.g. WGAN's clipping). Each term's math and paper
are in ``ganjax.objectives.losses`` / ``regularizers``.
"""

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from ganjax.objectives import losses, regularizers

# Registration order is summation order.
D_TERMS: dict[str, "Registered"] = {}
G_TERMS: dict[str, "Registered"] = {}


@dataclasses.dataclass(frozen=True)
class Term:
  """One weighted part of a player's objective (see the module docstring)."""
  name: str
  fn: Callable
  weight: float = 1.0
  kind: str = "outputs"          # "outputs", "params" or "projection"
  needs_features: bool = False   # G side: D's features of the fake images (ctx.fake_features)


@dataclasses.dataclass(frozen=True)
class Registered:
  """A term factory ``factory(weight, setup) -> Term`` and when it is on: its weight is
  ``config.loss[key]`` (on when > 0, or always), and ``requires`` names the kind of D it
  needs (``"semi_supervised"``, ``"acgan"``, or "" for any)."""
  key: str
  factory: Callable
  requires: str = ""
  always: bool = False


def d_term(key: str, requires: str = "", always: bool = False):
  """Registers a discriminator term whose weight is ``config.loss[key]``."""
  return _register(D_TERMS, key, requires, always)


def g_term(key: str, requires: str = "", always: bool = False):
  """Registers a generator term whose weight is ``config.loss[key]``."""
  return _register(G_TERMS, key, requires, always)


def _register(registry: dict, key: str, requires: str, always: bool):
  def add(factory):
    registry[f"{key}:{factory.__name__}"] = Registered(key, factory, requires, always)
    return factory
  return add


def split_heads(out):
  """D's output → (adversarial logits, class logits or None)."""
  return out if isinstance(out, tuple) else (out, None)


@dataclasses.dataclass(frozen=True)
class DContext:
  """What a discriminator term sees in one critic update.

  ``real_logits``/``fake_logits``: D's adversarial outputs; ``class_logits``: its class
  head's on real, fake and (semi-supervised) labelled images concatenated, or None.
  ``apply(images, key, labels)``: D's raw output with the parameters being differentiated
  (batch statistics discarded). ``nearby_fakes(epsilon)``: G(z + ε r̄) for this update's
  latents z (Lecouat et al.'s manifold step), without gradient.
  """
  real: jax.Array
  fake: jax.Array
  real_labels: Any
  fake_labels: Any
  labeled: Any                   # (images, labels) of a semi-supervised D, else None
  real_logits: jax.Array
  fake_logits: jax.Array
  class_logits: Any
  key: jax.Array
  apply: Callable
  nearby_fakes: Callable

  def heads(self, images, salt: int, labels):
    """(adversarial logits, class logits or None) of ``images`` with key fold ``salt``."""
    return split_heads(self.apply(images, jax.random.fold_in(self.key, salt), labels))


@dataclasses.dataclass(frozen=True)
class GContext:
  """What a generator term sees: D's view of the fake images (being differentiated), G's
  real batch and its labels, and ``apply(images, key, labels, return_features)`` with D's
  freshly updated parameters."""
  fake: jax.Array
  fake_labels: Any
  fake_logits: jax.Array
  class_logits: Any
  fake_features: Any
  real: jax.Array
  real_labels: Any
  key: jax.Array
  apply: Callable

  def real_logits(self) -> jax.Array:
    """D's adversarial logits of the real batch (for relativistic losses)."""
    return split_heads(self.apply(self.real, jax.random.fold_in(self.key, 2),
                                  self.real_labels))[0]


def class_loss(class_logits, labels) -> jax.Array:
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(class_logits, labels))


def _accuracy(class_logits, labels) -> jax.Array:
  return jnp.mean(jnp.argmax(class_logits, -1) == labels)


@d_term("d_adversarial", always=True)
def d_adversarial(weight: float, setup) -> Term:
  """The loss family's D loss of (real, fake) logits."""
  loss_fn = setup.d_loss
  return Term("d_adversarial", lambda ctx: (loss_fn(ctx.real_logits, ctx.fake_logits), {}),
              weight)


@g_term("g_adversarial", always=True)
def g_adversarial(weight: float, setup) -> Term:
  """The loss family's G loss of the fake logits (a relativistic family's also of D's logits
  of G's real batch)."""
  loss_fn = setup.g_loss
  if setup.loss.name in losses.RELATIVISTIC_FAMILIES:
    return Term("g_adversarial", lambda ctx: (loss_fn(ctx.fake_logits, ctx.real_logits()), {}),
                weight)
  return Term("g_adversarial", lambda ctx: (loss_fn(ctx.fake_logits), {}), weight)


@d_term("class_weight", requires="semi_supervised", always=True)
def d_semi_supervised_class(weight: float, setup) -> Term:
  """Cross-entropy of D's K class logits on the labelled batch (Salimans et al. 2016)."""
  def fn(ctx: DContext):
    logits = ctx.class_logits[len(ctx.real) + len(ctx.fake):]
    loss = class_loss(logits, ctx.labeled[1])
    return loss, dict(d_class_loss=loss, d_labeled_accuracy=_accuracy(logits, ctx.labeled[1]))
  return Term("d_class_loss", fn, weight)


@d_term("d_entropy", requires="semi_supervised")
def d_entropy(weight: float, setup) -> Term:
  """Mean entropy −Σₖ pₖ log pₖ of D's classes on unlabelled real images (Grandvalet &
  Bengio 2005; Dai et al. 2017): minimised, it makes D's predictions confident."""
  def fn(ctx: DContext):
    log_p = jax.nn.log_softmax(ctx.class_logits[:len(ctx.real)], axis=-1)
    value = -jnp.mean(jnp.sum(jnp.exp(log_p) * log_p, axis=-1))
    return value, dict(d_entropy=value)
  return Term("d_entropy", fn, weight)


@d_term("d_consistency", requires="semi_supervised")
def d_consistency(weight: float, setup) -> Term:
  """Π-model consistency of D's class probabilities on the unlabelled reals under a second
  draw of its noise and dropout (Laine & Aila 2017; Wei et al. 2018)."""
  def fn(ctx: DContext):
    other = ctx.heads(ctx.real, 5, None)[1]
    value = regularizers.prediction_consistency(ctx.class_logits[:len(ctx.real)], other)
    return value, dict(d_consistency=value)
  return Term("d_consistency", fn, weight)


@d_term("class_weight", requires="acgan")
def d_acgan_class(weight: float, setup) -> Term:
  """AC-GAN (Odena et al. 2017): D classifies real and fake images by their labels."""
  def fn(ctx: DContext):
    real_class, fake_class = jnp.split(ctx.class_logits, 2)
    loss = class_loss(real_class, ctx.real_labels) + class_loss(fake_class, ctx.fake_labels)
    return loss, dict(d_class_loss=loss,
                      d_real_class_accuracy=_accuracy(real_class, ctx.real_labels))
  return Term("d_class_loss", fn, weight)


@g_term("class_weight", requires="acgan")
def g_acgan_class(weight: float, setup) -> Term:
  """AC-GAN: G wants its samples classified as their labels."""
  return Term("g_class_loss",
              lambda ctx: (class_loss(ctx.class_logits, ctx.fake_labels), {}), weight)


@d_term("d_manifold")
def d_manifold(weight: float, setup) -> Term:
  """Lecouat et al. 2018: ‖f(G(z)) − f(G(z + ε r̄))‖², f D's class logits (else its logit),
  both batches through D with one noise and dropout draw."""
  def fn(ctx: DContext):
    near = ctx.nearby_fakes(setup.loss.manifold_epsilon)

    def outputs(images):
      adversarial, classes = ctx.heads(images, 4, ctx.fake_labels)
      return adversarial if classes is None else classes
    value = regularizers.manifold_penalty(outputs(ctx.fake), outputs(near))
    return value, dict(d_manifold=value)
  return Term("d_manifold", fn, weight)


@d_term("gradient_penalty")
def d_gradient_penalty(weight: float, setup) -> Term:
  """WGAN-GP (Gulrajani et al. 2017): λ·E[(‖∇D(x̂)‖ − 1)²] on real/fake interpolates."""
  def fn(ctx: DContext):
    value = regularizers.gradient_penalty(_critic(ctx), ctx.real, ctx.fake,
                                          jax.random.fold_in(ctx.key, 2))
    return value, dict(d_gradient_penalty=value)
  return Term("d_gradient_penalty", fn, weight)


@d_term("dragan")
def d_dragan(weight: float, setup) -> Term:
  """DRAGAN (Kodali et al. 2017): λ·E[(‖∇D(x + δ)‖ − 1)²] around the real images."""
  def fn(ctx: DContext):
    value = regularizers.dragan_penalty(_critic(ctx), ctx.real, jax.random.fold_in(ctx.key, 6))
    return value, dict(d_dragan_penalty=value)
  return Term("d_dragan_penalty", fn, weight)


@d_term("r1")
def d_r1(gamma: float, setup) -> Term:
  """R1 (Mescheder et al. 2018): (γ/2)·E‖∇ₓD(x)‖² on real images."""
  def fn(ctx: DContext):
    value = regularizers.r1_penalty(_critic(ctx), ctx.real)
    return value, dict(d_r1_penalty=value)
  return Term("d_r1_penalty", fn, 0.5 * gamma)


def _critic(ctx: DContext) -> Callable:
  """D's adversarial logits as a function of images, for the input-gradient penalties."""
  return lambda images: ctx.heads(images, 1, ctx.real_labels)[0]


@d_term("weight_clip")
def d_weight_clip(bound: float, setup) -> Term:
  """WGAN (Arjovsky et al. 2017): every critic parameter clipped to [−c, c] after each update."""
  return Term("d_weight_clip", lambda params: regularizers.clip_weights(params, bound),
              bound, kind="projection")


@g_term("feature_matching")
def g_feature_matching(weight: float, setup) -> Term:
  """Salimans et al. 2016: ‖E φ_D(x) − E φ_D(G(z))‖² on D's last features."""
  def fn(ctx: GContext):
    (_, real_features) = ctx.apply(ctx.real, jax.random.fold_in(ctx.key, 3), ctx.real_labels,
                                   True)
    value = regularizers.feature_matching(jax.lax.stop_gradient(real_features),
                                          ctx.fake_features)
    return value, dict(g_feature_matching=value)
  return Term("g_feature_matching", fn, weight, needs_features=True)


@g_term("perceptual")
def g_perceptual(weight: float, setup) -> Term:
  """Feature matching in a fixed network's space (``setup.perceptual_features()``, the
  evaluation feature net): a perceptual loss against blur."""
  features = setup.perceptual_features()

  def fn(ctx: GContext):
    real_features = jax.lax.stop_gradient(features(ctx.real))
    value = regularizers.feature_matching(real_features, features(ctx.fake))
    return value, dict(g_perceptual=value)
  return Term("g_perceptual", fn, weight)


@g_term("g_orthogonal_reg")
def g_orthogonal(weight: float, setup) -> Term:
  """BigGAN's orthogonal regularisation (Brock et al. 2019) of G's kernels."""
  def fn(params):
    value = regularizers.orthogonal_regularization(params)
    return value, dict(g_orthogonal_reg=value)
  return Term("g_orthogonal_reg", fn, weight, kind="params")


def weighted_sum(terms, *args) -> tuple[jax.Array, dict]:
  """Σ weight · value over the ``outputs`` terms, each evaluated on ``args``, and their
  metrics. A weight of 1 multiplies nothing, so a lone term's loss is its value exactly."""
  total, metrics = None, {}
  for term in terms:
    value, term_metrics = term.fn(*args)
    weighted = value if term.weight == 1.0 else term.weight * value
    total = weighted if total is None else total + weighted
    metrics.update(term_metrics)
  return total, metrics
