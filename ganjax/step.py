"""The pure, per-device GAN train step; it knows no GAN variant by name.

``make_step(players, settings, d_terms, g_terms)`` returns ``step(state, batch) -> (state,
metrics)`` for a named device axis (``ganjax.parallel``): gradients, batch statistics and
metrics are averaged with ``jax.lax.pmean``. One step is ``n_critic`` critic updates, each on
its own real batch ``batch["image"][i]`` and minimising the sum of the D terms
(``ganjax.objectives.terms``), then one generator update minimising the sum of the G terms.
G's forward for the last critic update is reused through ``jax.vjp`` for G's update against
the freshly updated D; with ``g_fresh_batch`` G draws its own latents and real batch
(``batch["g_image"]``) instead. Step n draws from ``fold_in(state.rng, n)``; latents and fake
labels are drawn for the global batch and sliced per device, so results do not depend on the
device count (dropout masks do). EMA of G (and D) with TensorFlow's warm-up; with
``max_nonfinite`` > 0 a non-finite step is rejected (``guard``) and the host loop rolls back.
"""

from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from ganjax import latents as latents_lib
from ganjax.augment import diff_augment
from ganjax.objectives import regularizers
from ganjax.objectives.terms import DContext, GContext, split_heads, weighted_sum
from ganjax.state import GANState


class Players(NamedTuple):
  """The two networks and their optimizers."""
  generator: nn.Module
  discriminator: nn.Module
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation


AUGMENT_KEY = 0x41  # folded into a D key for its DiffAugment draws


class Settings(NamedTuple):
  """The step's static settings (everything but the players and the objective)."""
  latent_dim: int
  global_batch: int
  n_critic: int = 1
  num_classes: int = 0
  latent_distribution: str = "normal"
  g_fresh_batch: bool = False
  ema_decay: float = 0.0
  d_ema_decay: float = 0.0
  max_nonfinite: int = 0
  log_layer_norms: bool = False
  axis_name: str = "batch"
  augment: tuple = ()  # DiffAugment's ops on every image D sees in training (ganjax.augment)


def apply_train(model: nn.Module, params, stats, x, rng, labels=None, **kwargs):
  """Train-mode forward; returns (output, updated batch stats)."""
  if labels is not None:
    kwargs["labels"] = labels
  out, mutated = model.apply({"params": params, "batch_stats": stats}, x, train=True,
                             rngs={"dropout": rng, "noise": jax.random.fold_in(rng, 0x4E)},
                             mutable=["batch_stats"], **kwargs)
  return out, mutated.get("batch_stats", stats)


def d_input(s: Settings, images, key):
  """What D sees of ``images`` in training: T(images) with ``s.augment``'s DiffAugment ops
  drawn from ``key`` (so D is D∘T in both players' updates and in every penalty), else them."""
  if not s.augment:
    return images
  return diff_augment(images, jax.random.fold_in(key, AUGMENT_KEY), s.augment)


def layer_norms(prefix: str, tree) -> dict:
  """``{prefix/<layer>: ‖subtree‖₂}`` over the top-level entries of a params dict."""
  return {f"{prefix}/{name}": optax.global_norm(sub) for name, sub in tree.items()}


def ema_warmup(decay: float, step: jax.Array) -> jax.Array:
  """The EMA decay at generator ``step`` (0-based): min(decay, (1 + step) / (10 + step)).

  The warm-up of TensorFlow's ``ExponentialMovingAverage(num_updates=step)``. Without it the
  average starts from the initial weights and forgets them slowly: at decay 0.999, 37 % of
  the average is still the untrained generator after 1000 steps, 5 % after 3000.
  """
  step = jnp.asarray(step, jnp.float32)
  return jnp.minimum(decay, (1.0 + step) / (10.0 + step))


class Draw(NamedTuple):
  """One update's randomness and G's inputs: latents, fake labels and G's forward key."""
  z_key: jax.Array
  g_key: jax.Array
  d_key: jax.Array
  z: jax.Array
  fake_labels: jax.Array | None


class Critic(NamedTuple):
  """The carry of the critic loop: D's parameters, statistics, optimizer state, G's stats."""
  params: dict
  stats: dict
  opt: optax.OptState
  g_stats: dict


class Objective(NamedTuple):
  """The configured terms split by kind (``ganjax.objectives.terms.Term.kind``)."""
  d_losses: list
  d_projections: list
  g_outputs: list
  g_params: list
  g_features: bool    # some G term reads D's features of the fake images

  @classmethod
  def of(cls, d_terms, g_terms) -> "Objective":
    outputs = [t for t in g_terms if t.kind == "outputs"]
    return cls([t for t in d_terms if t.kind == "outputs"],
               [t for t in d_terms if t.kind == "projection"], outputs,
               [t for t in g_terms if t.kind == "params"],
               any(t.needs_features for t in outputs))


def make_step(players: Players, settings: Settings, d_terms, g_terms):
  """Builds the per-device ``step(state, batch)``; see the module docstring."""
  s, o = settings, Objective.of(d_terms, g_terms)

  def step(state: GANState, batch: dict):
    rng = jax.random.fold_in(state.rng, state.step)
    device_rng = jax.random.fold_in(rng, jax.lax.axis_index(s.axis_name))
    labels = batch["label"] if s.num_classes else None
    labeled = (batch["labeled_image"], batch["labeled_label"]) if "labeled_image" in batch else None
    body = _critic_body(players, s, o, state.g_params, rng, device_rng)
    c = Critic(state.d_params, state.d_batch_stats, state.d_opt_state, state.g_batch_stats)
    if s.n_critic > 1:  # unrolled: XLA:CPU runs a while loop's convolutions far slower
      c, _ = jax.lax.scan(body, c, (*jax.tree.map(lambda x: x[:-1], (
          batch["image"], labels, labeled)), jnp.arange(s.n_critic - 1)), unroll=True)
    last = jax.tree.map(lambda x: x[-1], (batch["image"], labels, labeled))
    if s.g_fresh_batch:  # every critic update on its own; G gets unused keys and its own reals
      c, metrics = body(c, (*last, s.n_critic - 1))
      g_real, g_real_y = batch["g_image"][0], batch["g_label"][0] if s.num_classes else None
    else:
      g_real, g_real_y = last[:2]
    d = _draw(s, rng, device_rng, s.n_critic if s.g_fresh_batch else s.n_critic - 1,
              batch["image"].shape[1])
    fake, g_vjp, g_stats = jax.vjp(lambda p: _generate(players, p, c.g_stats, d),
                                   state.g_params, has_aux=True)
    if not s.g_fresh_batch:  # the last critic update and G's update share one G forward
      c, metrics = _d_update(players, s, o, c, *last, jax.lax.stop_gradient(fake), d,
                             _nearby(players, s, state.g_params, c.g_stats, d))
    c = c._replace(g_stats=jax.lax.pmean(g_stats, s.axis_name))
    (g_loss, g_terms), fake_grad = jax.value_and_grad(
        _g_objective(players, s, o, c, d, g_real, g_real_y), has_aux=True)(fake)
    (g_grads,) = g_vjp(fake_grad)
    for term in o.g_params:
      (value, term_metrics), grads = jax.value_and_grad(term.fn, has_aux=True)(state.g_params)
      g_grads = jax.tree.map(lambda g, t, w=term.weight: g + w * t, g_grads, grads)
      g_loss, g_terms = g_loss + term.weight * value, {**g_terms, **term_metrics}
    return _finish(players, s, state, c, g_grads, dict(metrics, **g_terms, g_loss=g_loss))

  return step


def _local_slice(x, local: int, axis: str):
  """This device's ``local`` rows of a global-batch array."""
  return jax.lax.dynamic_slice_in_dim(x, jax.lax.axis_index(axis) * local, local)


def _draw(s: Settings, rng, device_rng, i, local: int) -> Draw:
  """Update ``i``'s keys, this device's latents and (conditional) fake labels."""
  z_key = jax.random.fold_in(rng, 2 * i)
  g_key, d_key = jax.random.split(jax.random.fold_in(device_rng, 2 * i + 1))
  z = _local_slice(latents_lib.sample(z_key, (s.global_batch, s.latent_dim),
                                      s.latent_distribution), local, s.axis_name)
  y = None if not s.num_classes else _local_slice(jax.random.randint(
      jax.random.fold_in(z_key, 1), (s.global_batch,), 0, s.num_classes), local, s.axis_name)
  return Draw(z_key, g_key, d_key, z, y)


def _generate(players: Players, g_params, g_stats, d: Draw, z=None):
  return apply_train(players.generator, g_params, g_stats, d.z if z is None else z, d.g_key,
                     d.fake_labels)


def _nearby(players: Players, s: Settings, g_params, g_stats, d: Draw):
  """``fakes(ε)``: G(z + ε r̄) for the update's latents (Lecouat et al.), without gradient."""
  def fakes(epsilon):
    r = _local_slice(jax.random.normal(jax.random.fold_in(d.z_key, 2),
                                       (s.global_batch, s.latent_dim), jnp.float32),
                     len(d.z), s.axis_name)
    z_near = regularizers.perturb_latents(d.z, r, epsilon)
    return jax.lax.stop_gradient(_generate(players, g_params, g_stats, d, z_near)[0])
  return fakes


def _critic_body(players: Players, s: Settings, o: Objective, g_params, rng, device_rng):
  """One critic update as a scan body over (real, real labels, labelled batch, index)."""
  def body(c: Critic, inputs):
    real, real_y, labeled, i = inputs
    d = _draw(s, rng, device_rng, i, len(real))
    fake, g_stats = _generate(players, g_params, c.g_stats, d)
    return _d_update(players, s, o, c._replace(g_stats=g_stats), real, real_y, labeled,
                     jax.lax.stop_gradient(fake), d, _nearby(players, s, g_params, c.g_stats, d))
  return body


def _d_update(players: Players, s: Settings, o: Objective, c: Critic, real, real_y, labeled,
              fake, d: Draw, nearby_fakes):
  """One critic update: D on real, fake (and labelled) images, the D terms' sum, the step."""
  def loss_fn(params):
    def apply(images, key, labels):
      return apply_train(players.discriminator, params, c.stats, d_input(s, images, key), key,
                         labels)[0]
    labels = None if real_y is None else jnp.concatenate([real_y, d.fake_labels])
    images = [real, fake] + ([] if labeled is None else [labeled[0]])
    out, stats = apply_train(players.discriminator, params, c.stats,
                             d_input(s, jnp.concatenate(images), d.d_key), d.d_key, labels)
    logits, class_logits = split_heads(out)
    real_logits, fake_logits = jnp.split(logits[:len(real) + len(fake)], 2)
    ctx = DContext(real, fake, real_y, d.fake_labels, labeled, real_logits, fake_logits,
                   class_logits, d.d_key, apply, nearby_fakes)
    loss, terms = weighted_sum(o.d_losses, ctx)
    return loss, (stats, real_logits, fake_logits, terms)

  (loss, (stats, real_logits, fake_logits, terms)), grads = jax.value_and_grad(
      loss_fn, has_aux=True)(c.params)
  grads = jax.lax.pmean(grads, s.axis_name)
  updates, opt = players.d_tx.update(grads, c.opt, c.params)
  params = optax.apply_updates(c.params, updates)
  for term in o.d_projections:
    params = term.fn(params)
  metrics = dict(d_loss=loss, d_real_logit=real_logits.mean(),
                 d_fake_logit=fake_logits.mean(), d_grad_norm=optax.global_norm(grads),
                 **terms, **_norms(s, "d", grads, updates))
  return c._replace(params=params, stats=jax.lax.pmean(stats, s.axis_name), opt=opt), metrics


def _g_objective(players: Players, s: Settings, o: Objective, c: Critic, d: Draw, real,
                 real_y):
  """G's objective as a function of the fake images: the G terms' sum against D."""
  def apply(images, key, labels, return_features=False):
    kwargs = {"return_features": True} if return_features else {}
    return apply_train(players.discriminator, c.params, c.stats, d_input(s, images, key), key,
                       labels, **kwargs)[0]

  def objective(fake):  # D's statistics updated during G's step are discarded
    out = apply(fake, jax.random.fold_in(d.d_key, 1), d.fake_labels, o.g_features)
    out, fake_features = out if o.g_features else (out, None)
    logits, class_logits = split_heads(out)
    return weighted_sum(o.g_outputs, GContext(fake, d.fake_labels, logits, class_logits,
                                              fake_features, real, real_y, d.d_key, apply))
  return objective


def _norms(s: Settings, player: str, grads, updates) -> dict:
  if not s.log_layer_norms:
    return {}
  return {**layer_norms(f"{player}_grad_norm", grads),
          **layer_norms(f"{player}_update_norm", updates)}


def _finish(players: Players, s: Settings, state: GANState, c: Critic, g_grads, metrics):
  """G's update, the EMAs, the metrics' average and the non-finite guard."""
  g_grads = jax.lax.pmean(g_grads, s.axis_name)
  updates, g_opt = players.g_tx.update(g_grads, state.g_opt_state, state.g_params)
  g_params = optax.apply_updates(state.g_params, updates)
  ema, d_ema = state.ema_params, state.d_ema_params
  if ema is not None:
    ema = optax.incremental_update(g_params, ema, 1.0 - ema_warmup(s.ema_decay, state.step))
  if d_ema is not None:
    d_ema = optax.incremental_update(c.params, d_ema,
                                     1.0 - ema_warmup(s.d_ema_decay, state.step))
  metrics.update(g_grad_norm=optax.global_norm(g_grads), **_norms(s, "g", g_grads, updates))
  metrics = jax.lax.pmean(metrics, s.axis_name)
  new_state = state.replace(
      step=state.step + 1, g_params=g_params, d_params=c.params, g_batch_stats=c.g_stats,
      d_batch_stats=c.stats, g_opt_state=g_opt, d_opt_state=c.opt, ema_params=ema,
      d_ema_params=d_ema)
  if s.max_nonfinite > 0:
    new_state = guard(state, new_state, metrics, s.max_nonfinite)
  metrics.update(rejected_steps=new_state.rejected_steps,
                 nonfinite_streak=new_state.nonfinite_streak)
  return new_state, metrics


def guard(old: GANState, new: GANState, metrics: dict, max_nonfinite: int) -> GANState:
  """``new`` if everything is finite and no streak is pending, else ``old`` (step + 1)."""
  checked = (metrics["d_loss"], metrics["g_loss"], metrics["d_grad_norm"],
             metrics["g_grad_norm"], optax.global_norm(new.g_params),
             optax.global_norm(new.d_params))
  finite = jnp.all(jnp.isfinite(jnp.stack(checked)))
  halted = old.nonfinite_streak >= max_nonfinite
  accept = finite & ~halted
  kept = jax.tree.map(lambda n, o: jnp.where(accept, n, o), new, old)
  return kept.replace(
      step=new.step,
      rejected_steps=old.rejected_steps + (~accept).astype(jnp.int32),
      nonfinite_streak=jnp.where(halted, old.nonfinite_streak,
                                 jnp.where(finite, 0, old.nonfinite_streak + 1)))
