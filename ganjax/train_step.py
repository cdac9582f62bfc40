"""The pure, per-device GAN train step.

``make_train_step(...)`` returns ``step(state, batch) -> (state, metrics)`` meant to run
under a named device axis (``ganjax.parallel``): gradients, batch-norm statistics and metrics
are averaged with ``jax.lax.pmean(..., axis_name)``. One step is ``n_critic`` discriminator
updates, each on its own real batch ``batch["image"][i]``, then one generator update.

Randomness: step n draws from ``fold_in(state.rng, n)``, so it does not depend on how often
the host loop restarted. Latents are drawn from ``latent_distribution`` (``ganjax.latents``)
for the *global* batch and each device takes its slice, so a run gives the same result on
any number of devices; dropout keys are further folded with the device index (dropout masks
do depend on the device count).

With ``log_layer_norms`` the metrics also hold, for each top-level layer of each network, the
norm of its gradient and of its optimizer update (``g_grad_norm/<layer>``,
``d_update_norm/<layer>``, …): the evidence for whether an optimizer keeps step sizes even
across depth. For the discriminator they describe its last critic update.

Non-finite guard (``max_nonfinite`` > 0): a step whose losses, gradients or new parameters
are not all finite is rejected — networks, optimizer states and EMA stay as they were, the
step counter still advances (so the next step sees new data and noise), and
``rejected_steps`` / ``nonfinite_streak`` count it. After ``max_nonfinite`` rejections in a
row the step stops updating anything until the host loop notices the streak (at the next
log or checkpoint) and rolls back or stops (``ganjax.train``).

Conditional GANs (``num_classes`` > 0): both nets take labels — real images their dataset
labels, fake images labels drawn uniformly for the global batch like the latents. With
``class_loss_weight`` > 0 the discriminator returns ``(logit, class_logits)`` and both
players add that weight times the AC-GAN class cross-entropy (Odena et al. 2017): D on real
and fake images, G on fake ones. With ``semi_supervised`` D returns ``(logsumexp(l), l)``
(``SemiSupervisedDiscriminator``) and adds ``class_loss_weight`` × the class cross-entropy
on the batch's labelled examples (``batch["labeled_image"]`` / ``["labeled_label"]``);
``d_adversarial_weight`` = 0 leaves that classifier alone (the supervised-only baseline).
``d_entropy_weight`` > 0 adds that weight times the mean entropy of D's class distribution
softmax(l(x)) on the unlabelled real batch, −E Σₖ pₖ log pₖ: entropy minimisation
(Grandvalet & Bengio 2005), the conditional-entropy term of Dai et al. 2017's "bad GAN".
``d_manifold_weight`` > 0 adds that weight times the manifold penalty of Lecouat et al. 2018,
E_z ‖f(G(z)) − f(G(z + ε r̄))‖² with r̄ a random unit direction and ε ``manifold_epsilon``:
f is D's class logits (its logit when it has none), both images through D with one noise and
dropout draw so that only the images differ; G runs once more per critic update, at z + ε r̄.
``d_consistency_weight`` > 0 (semi-supervised D) adds that weight times the Π-model's
consistency, E‖softmax(l(x; ξ)) − softmax(l(x; ξ'))‖² on the unlabelled real batch for two
independent draws ξ, ξ' of D's noise and dropout (Laine & Aila 2017; CT-GAN, Wei et al.
2018): one more D forward per critic update. It needs no generator, so it also applies to
the supervised-only baseline (``d_adversarial_weight`` = 0), which then uses the unlabelled
images too.

Regularisers (``ganjax.regularizers``): ``d_penalty(critic, real, fake, key)`` adds a
gradient or R1 penalty to every critic loss; ``d_weight_clip`` > 0 clips the critic's
parameters after every update (WGAN); ``g_orthogonal_reg`` > 0 adds β·R_ortho(θ_G) to the
generator's objective (BigGAN). G's objective is ``g_adversarial_weight`` × its adversarial
loss, plus ``feature_matching_weight`` × ‖E φ_D(x) − E φ_D(G(z))‖² on D's last features
(Salimans et al. 2016), plus ``perceptual_weight`` × the same distance in the space of
``perceptual_features`` (a fixed network, e.g. the evaluation feature net: a perceptual loss
against blur). ``d_loss`` and ``g_loss`` include every term; the unweighted terms are logged
beside them.

EMA: ``ema_decay`` > 0 averages G's parameters after every step, ``d_ema_decay`` > 0 D's
(after the last critic update), both with the warm-up of :func:`ema_warmup`. Salimans et al.
2016 classify the test set with such an average of the semi-supervised D (decay 0.9999).

The generator runs forward once for the last critic update; its ``jax.vjp`` is reused for
the generator update against the freshly updated discriminator (as PyTorch's DCGAN example
does), which saves one generator forward per step. With ``g_fresh_batch`` the generator
update instead draws its own latents and takes its own real batch ``batch["g_image"][0]``
(the target of feature matching and of the perceptual loss), as Salimans et al. 2016's
code does (a second permutation of the training set): one more generator forward per step.
"""

from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from ganjax import latents as latents_lib
from ganjax import regularizers
from ganjax.state import GANState


def _apply(model: nn.Module, params, stats, x, rng, labels=None, **kwargs):
  """Train-mode forward; returns (output, updated batch stats)."""
  if labels is not None:
    kwargs["labels"] = labels
  out, mutated = model.apply({"params": params, "batch_stats": stats}, x, train=True,
                             rngs={"dropout": rng, "noise": jax.random.fold_in(rng, 0x4E)},
                             mutable=["batch_stats"], **kwargs)
  return out, mutated.get("batch_stats", stats)


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


def make_train_step(generator: nn.Module, discriminator: nn.Module,
                    g_loss_fn: Callable, d_loss_fn: Callable,
                    g_tx: optax.GradientTransformation, d_tx: optax.GradientTransformation,
                    *, latent_dim: int, global_batch: int, n_critic: int = 1,
                    ema_decay: float = 0.0, d_ema_decay: float = 0.0,
                    axis_name: str = "batch",
                    log_layer_norms: bool = False, max_nonfinite: int = 0,
                    d_penalty: Callable | None = None, d_weight_clip: float = 0.0,
                    g_orthogonal_reg: float = 0.0, num_classes: int = 0,
                    class_loss_weight: float = 0.0, g_adversarial_weight: float = 1.0,
                    feature_matching_weight: float = 0.0,
                    perceptual_features: Callable | None = None, perceptual_weight: float = 0.0,
                    semi_supervised: bool = False, d_adversarial_weight: float = 1.0,
                    d_entropy_weight: float = 0.0, g_fresh_batch: bool = False,
                    d_manifold_weight: float = 0.0, manifold_epsilon: float = 1.0,
                    d_consistency_weight: float = 0.0, latent_distribution: str = "normal"):
  """Builds the per-device train step; see the module docstring for its semantics."""

  def local_slice(x, local_batch):
    """This device's rows of a global-batch array."""
    return jax.lax.dynamic_slice_in_dim(x, jax.lax.axis_index(axis_name) * local_batch,
                                        local_batch)

  def latents(key, local_batch):
    """This device's slice of the global batch's latents and (when conditional) fake labels."""
    z = local_slice(latents_lib.sample(key, (global_batch, latent_dim), latent_distribution),
                    local_batch)
    if not num_classes:
      return z, None
    y = jax.random.randint(jax.random.fold_in(key, 1), (global_batch,), 0, num_classes)
    return z, local_slice(y, local_batch)

  acgan = class_loss_weight > 0 and not semi_supervised

  def split_heads(out):
    """D's output → (adversarial logits, class logits or None)."""
    return out if acgan or semi_supervised else (out, None)

  def class_loss(class_logits, labels):
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(class_logits, labels))

  def d_update(d_params, d_stats, d_opt, real, fake, key, real_y=None, fake_y=None,
               labeled=None, fake_near=None):
    labels = None if real_y is None else jnp.concatenate([real_y, fake_y])
    images = [real, fake] if labeled is None else [real, fake, labeled[0]]

    def loss_fn(params):
      out, stats = _apply(discriminator, params, d_stats, jnp.concatenate(images), key, labels)
      logits, class_logits = split_heads(out)
      real_logits, fake_logits = jnp.split(logits[:len(real) + len(fake)], 2)
      loss, terms = d_loss_fn(real_logits, fake_logits), {}
      if d_adversarial_weight != 1.0:
        loss = d_adversarial_weight * loss
      if semi_supervised:  # the labelled batch's class cross-entropy (Salimans et al. 2016)
        labeled_logits = class_logits[len(real) + len(fake):]
        terms = dict(d_class_loss=class_loss(labeled_logits, labeled[1]),
                     d_labeled_accuracy=jnp.mean(jnp.argmax(labeled_logits, -1) == labeled[1]))
        loss = loss + class_loss_weight * terms["d_class_loss"]
        if d_entropy_weight > 0:  # confident predictions on the unlabelled real images
          log_p = jax.nn.log_softmax(class_logits[:len(real)], axis=-1)
          terms["d_entropy"] = -jnp.mean(jnp.sum(jnp.exp(log_p) * log_p, axis=-1))
          loss = loss + d_entropy_weight * terms["d_entropy"]
        if d_consistency_weight > 0:  # a second noise draw on the unlabelled reals agrees
          other = _apply(discriminator, params, d_stats, real, jax.random.fold_in(key, 5))[0]
          terms["d_consistency"] = regularizers.prediction_consistency(
              class_logits[:len(real)], split_heads(other)[1])
          loss = loss + d_consistency_weight * terms["d_consistency"]
      if acgan:  # AC-GAN: D classifies real and fake images
        real_class, fake_class = jnp.split(class_logits, 2)
        terms = dict(d_class_loss=class_loss(real_class, real_y) + class_loss(fake_class, fake_y),
                     d_real_class_accuracy=jnp.mean(jnp.argmax(real_class, -1) == real_y))
        loss = loss + class_loss_weight * terms["d_class_loss"]
      if fake_near is not None:  # D smooth along G's manifold (Lecouat et al. 2018)
        def outputs(images):  # one noise and dropout draw for both batches
          out = _apply(discriminator, params, d_stats, images, jax.random.fold_in(key, 4),
                       fake_y)[0]
          adversarial, classes = split_heads(out)
          return adversarial if classes is None else classes
        terms["d_manifold"] = regularizers.manifold_penalty(outputs(fake), outputs(fake_near))
        loss = loss + d_manifold_weight * terms["d_manifold"]
      if d_penalty is not None:
        # Statistics from the penalty's own forward passes are discarded.
        def critic(images):
          out = _apply(discriminator, params, d_stats, images, jax.random.fold_in(key, 1),
                       real_y)[0]
          return split_heads(out)[0]
        penalty, penalty_terms = d_penalty(critic, real, fake, jax.random.fold_in(key, 2))
        loss, terms = loss + penalty, {**terms, **penalty_terms}
      return loss, (stats, real_logits, fake_logits, terms)

    (loss, (stats, real_logits, fake_logits, terms)), grads = jax.value_and_grad(
        loss_fn, has_aux=True)(d_params)
    grads = jax.lax.pmean(grads, axis_name)
    stats = jax.lax.pmean(stats, axis_name)
    updates, d_opt = d_tx.update(grads, d_opt, d_params)
    metrics = dict(d_loss=loss, d_real_logit=real_logits.mean(),
                   d_fake_logit=fake_logits.mean(), d_grad_norm=optax.global_norm(grads),
                   **terms)
    if log_layer_norms:
      metrics.update(**layer_norms("d_grad_norm", grads),
                     **layer_norms("d_update_norm", updates))
    d_params = optax.apply_updates(d_params, updates)
    if d_weight_clip > 0:
      d_params = regularizers.clip_weights(d_params, d_weight_clip)
    return d_params, stats, d_opt, metrics

  def step(state: GANState, batch: dict):
    rng = jax.random.fold_in(state.rng, state.step)
    device_rng = jax.random.fold_in(rng, jax.lax.axis_index(axis_name))
    reals = batch["image"]
    real_labels = batch["label"] if num_classes else None
    local_batch = reals.shape[1]

    def keys(i):
      z_key = jax.random.fold_in(rng, 2 * i)
      g_key, d_key = jax.random.split(jax.random.fold_in(device_rng, 2 * i + 1))
      return z_key, g_key, d_key

    def nearby_fakes(z_key, z, g_key, g_stats, fake_y):
      """G(z + ε r̄) for the manifold penalty (None without it); G's statistics discarded."""
      if not d_manifold_weight:
        return None
      r = local_slice(jax.random.normal(jax.random.fold_in(z_key, 2), (global_batch, latent_dim),
                                        jnp.float32), local_batch)
      z_near = regularizers.perturb_latents(z, r, manifold_epsilon)
      near, _ = _apply(generator, state.g_params, g_stats, z_near, g_key, fake_y)
      return jax.lax.stop_gradient(near)

    def critic(carry, inputs):
      d_params, d_stats, d_opt, g_stats = carry
      real, real_y, labeled, i = inputs
      z_key, g_key, d_key = keys(i)
      z, fake_y = latents(z_key, local_batch)
      near = nearby_fakes(z_key, z, g_key, g_stats, fake_y)
      fake, g_stats = _apply(generator, state.g_params, g_stats, z, g_key, fake_y)
      d_params, d_stats, d_opt, metrics = d_update(
          d_params, d_stats, d_opt, real, jax.lax.stop_gradient(fake), d_key, real_y, fake_y,
          labeled, near)
      return (d_params, d_stats, d_opt, g_stats), metrics

    labeled = (batch["labeled_image"], batch["labeled_label"]) if semi_supervised else None
    carry = (state.d_params, state.d_batch_stats, state.d_opt_state, state.g_batch_stats)
    if n_critic > 1:  # None (no labels) stays None under tree.map
      # Unrolled: XLA:CPU ran this loop's convolutions 27x slower as a while loop (SNGAN at
      # channels 32, n_critic 5: 75.7 s against 2.8 s per step; WGAN-GP's DCGAN 3.9x).
      carry, _ = jax.lax.scan(critic, carry, (
          *jax.tree.map(lambda x: x[:-1], (reals, real_labels, labeled)),
          jnp.arange(n_critic - 1)), unroll=True)
    d_params, d_stats, d_opt, g_stats = carry

    last = jax.tree.map(lambda x: x[-1], (reals, real_labels, labeled))
    if g_fresh_batch:  # every critic update on its own; G gets unused keys and its own reals
      (d_params, d_stats, d_opt, g_stats), metrics = critic(carry, (*last, n_critic - 1))
      g_real, g_real_y = batch["g_image"][0], batch["g_label"][0] if num_classes else None
    else:
      g_real, g_real_y = last[:2]
    z_key, g_key, d_key = keys(n_critic if g_fresh_batch else n_critic - 1)
    z, fake_y = latents(z_key, local_batch)
    near = None if g_fresh_batch else nearby_fakes(z_key, z, g_key, g_stats, fake_y)
    fake, g_vjp, g_stats = jax.vjp(
        lambda p: _apply(generator, p, g_stats, z, g_key, fake_y), state.g_params, has_aux=True)
    g_stats = jax.lax.pmean(g_stats, axis_name)
    if not g_fresh_batch:  # the last critic update and G's update share one G forward
      d_params, d_stats, d_opt, metrics = d_update(
          d_params, d_stats, d_opt, last[0], jax.lax.stop_gradient(fake), d_key, last[1],
          fake_y, last[2], near)

    matching = feature_matching_weight > 0
    if matching:  # D's features of the real batch, a fixed target for G
      (_, real_d_features), _ = _apply(discriminator, d_params, d_stats, g_real,
                                       jax.random.fold_in(d_key, 3), g_real_y,
                                       return_features=True)
      real_d_features = jax.lax.stop_gradient(real_d_features)
    if perceptual_weight > 0:
      real_p_features = jax.lax.stop_gradient(perceptual_features(g_real))

    def g_objective(fake_images):
      # Discriminator statistics updated during the generator step are discarded.
      out, _ = _apply(discriminator, d_params, d_stats, fake_images,
                      jax.random.fold_in(d_key, 1), fake_y,
                      **({"return_features": True} if matching else {}))
      out, fake_d_features = out if matching else (out, None)
      logits, class_logits = split_heads(out)
      loss, terms = g_loss_fn(logits), {}
      if g_adversarial_weight != 1.0:
        loss = g_adversarial_weight * loss
      if acgan:  # AC-GAN: G wants its samples classified as their label
        loss = loss + class_loss_weight * class_loss(class_logits, fake_y)
      if matching:
        terms["g_feature_matching"] = regularizers.feature_matching(real_d_features,
                                                                    fake_d_features)
        loss = loss + feature_matching_weight * terms["g_feature_matching"]
      if perceptual_weight > 0:
        terms["g_perceptual"] = regularizers.feature_matching(
            real_p_features, perceptual_features(fake_images))
        loss = loss + perceptual_weight * terms["g_perceptual"]
      return loss, terms

    (g_loss, g_terms), fake_grad = jax.value_and_grad(g_objective, has_aux=True)(fake)
    metrics.update(g_terms)
    (g_grads,) = g_vjp(fake_grad)
    if g_orthogonal_reg > 0:
      ortho, ortho_grads = jax.value_and_grad(regularizers.orthogonal_regularization)(
          state.g_params)
      g_grads = jax.tree.map(lambda g, o: g + g_orthogonal_reg * o, g_grads, ortho_grads)
      g_loss = g_loss + g_orthogonal_reg * ortho
      metrics["g_orthogonal_reg"] = ortho
    g_grads = jax.lax.pmean(g_grads, axis_name)
    updates, g_opt = g_tx.update(g_grads, state.g_opt_state, state.g_params)
    g_params = optax.apply_updates(state.g_params, updates)
    ema, d_ema = state.ema_params, state.d_ema_params
    if ema is not None:
      ema = optax.incremental_update(g_params, ema, 1.0 - ema_warmup(ema_decay, state.step))
    if d_ema is not None:
      d_ema = optax.incremental_update(d_params, d_ema,
                                       1.0 - ema_warmup(d_ema_decay, state.step))

    metrics = dict(metrics, g_loss=g_loss, g_grad_norm=optax.global_norm(g_grads))
    if log_layer_norms:
      metrics.update(**layer_norms("g_grad_norm", g_grads),
                     **layer_norms("g_update_norm", updates))
    metrics = jax.lax.pmean(metrics, axis_name)
    new_state = state.replace(
        step=state.step + 1, g_params=g_params, d_params=d_params, g_batch_stats=g_stats,
        d_batch_stats=d_stats, g_opt_state=g_opt, d_opt_state=d_opt, ema_params=ema,
        d_ema_params=d_ema)
    if max_nonfinite > 0:
      new_state = guard(state, new_state, metrics)
    metrics.update(rejected_steps=new_state.rejected_steps,
                   nonfinite_streak=new_state.nonfinite_streak)
    return new_state, metrics

  def guard(old: GANState, new: GANState, metrics: dict) -> GANState:
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

  return step

