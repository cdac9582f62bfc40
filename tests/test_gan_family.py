"""Every GAN-family experiment config trains through the CLI, resumes exactly, and samples."""

import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import run_info
from ganjax import cli, models, objectives
from ganjax.objectives import regularizers
from ganjax.config import base_config, dcgan28_model
from ganjax.optim import factory
from ganjax.state import init_state
from ganjax.step import Players, Settings, make_step

TINY_D = ("--config.model.discriminator.features=(4,8)",
          "--config.model.discriminator.kernel_size=3")
TINY_DCGAN = ("--config.model.generator.features=(16,8,4)",
              "--config.model.generator.kernel_size=3", *TINY_D)
TINY_MLP = ("--config.model.generator.hidden=(8,)", "--config.model.discriminator.hidden=(8,4)",
            "--config.data.labeled_batch_size=16")  # 100 does not split over 8 devices
TINY_STYLE = ("--config.model.generator.channels=(8,4,4)", "--config.model.generator.w_dim=8",
              *TINY_D)
TINY = {"stylegan_fashion_mnist": TINY_STYLE, "ssgan_mlp_fashion_mnist": TINY_MLP,
        "ssgan_mlp_mnist": TINY_MLP}

# Resume is checked where a config adds state or data of its own: labels (AC-GAN), the
# labelled stream (SSGAN), spectral-norm vectors and EMA (hinge+SN), noise (StyleGAN); the
# others differ only in losses, already covered by the resume tests of tests/test_cli.py.
RESUME_CHECKED = ("acgan_fashion_mnist", "ssgan_fashion_mnist", "hinge_sn_dcgan_fashion_mnist",
                  "stylegan_fashion_mnist")
EXPERIMENTS = {
    "cgan_fashion_mnist": ("d_loss", "g_loss"),
    "acgan_fashion_mnist": ("d_loss", "g_loss", "d_class_loss", "d_real_class_accuracy"),
    "ssgan_fashion_mnist": ("d_loss", "g_loss", "d_class_loss", "d_labeled_accuracy",
                            "g_feature_matching"),
    "ssgan_mlp_fashion_mnist": ("d_loss", "g_loss", "d_class_loss", "d_labeled_accuracy",
                                "g_feature_matching"),
    "ssgan_mlp_mnist": ("d_loss", "g_loss", "d_class_loss", "d_labeled_accuracy",
                        "g_feature_matching"),
    "wgan_fashion_mnist": ("d_loss", "g_loss"),
    "wgan_gp_fashion_mnist": ("d_loss", "g_loss", "d_gradient_penalty"),
    "lsgan_fashion_mnist": ("d_loss", "g_loss"),
    "hinge_sn_dcgan_fashion_mnist": ("d_loss", "g_loss"),
    "stylegan_fashion_mnist": ("d_loss", "g_loss", "d_r1_penalty"),
}


def _train(experiment, workdir, idx_dir, steps, *extra):
  return cli.main(["train", "--config", f"experiments/{experiment}.py", "--workdir", str(workdir),
                   "--no-progress", "--config.data.source=idx", f"--config.data.path={idx_dir}",
                   "--config.batch_size=16", f"--config.total_steps={steps}",
                   "--config.log_every=1", "--config.sample_every=2", "--config.ckpt_every=2",
                   *TINY.get(experiment, TINY_DCGAN), *extra])


@pytest.mark.parametrize("experiment", sorted(EXPERIMENTS))
def test_experiment_trains_resumes_and_samples(experiment, idx_dir, tmp_path, capsys):
  straight, resumed = tmp_path / "straight", tmp_path / "resumed"
  assert _train(experiment, straight, idx_dir, 4) == 0
  if experiment in RESUME_CHECKED:
    assert _train(experiment, resumed, idx_dir, 2) == 0
    assert _train(experiment, resumed, idx_dir, 4) == 0
    assert (run_info(straight, capsys)["state_digest"] ==
            run_info(resumed, capsys)["state_digest"])
  lines = [json.loads(line) for line in open(straight / "metrics.jsonl")]
  records = [r for r in lines if "d_loss" in r]
  assert [r["step"] for r in records] == [1, 2, 3, 4]
  if experiment.startswith("ssgan"):  # D as a classifier of the test split, per sample step
    assert [(r["step"], 0 <= r["test_accuracy"] <= 1) for r in lines if "test_accuracy" in r] == [
        (2, True), (4, True)]
  for key in EXPERIMENTS[experiment]:
    assert all(np.isfinite(r[key]) for r in records), key
  out = tmp_path / "grid.png"
  assert cli.main(["sample", "--workdir", str(straight), "--num", "4", "--out", str(out)]) == 0
  assert out.stat().st_size > 0


def _one_device_step(config, n_critic=1, labeled=None, batch=None, perceptual_features=None,
                     g_fresh_batch=False, **loss):
  """One step of ``config``'s nets, with ``config.loss`` updated by ``loss``, from seed 0's
  state on a fixed batch of 8 (plus the ``labeled`` (images, labels) of a semi-supervised
  D), or on ``batch``."""
  generator, discriminator = models.build(config.model, (28, 28, 1), axis_name="batch")
  g_tx, d_tx = factory.make(config.optimizer.g, 10), factory.make(config.optimizer.d, 10)
  state = init_state(0, generator, discriminator, g_tx, d_tx, 8, (28, 28, 1))
  loss_config = config.loss.copy_and_resolve_references()
  loss_config.update(loss)
  classifier = "semi_supervised" if config.model.semi_supervised_classes else ""
  d_terms, g_terms = objectives.terms_from_config(loss_config, classifier,
                                                  lambda: perceptual_features)
  step = make_step(Players(generator, discriminator, g_tx, d_tx),
                   Settings(latent_dim=8, global_batch=8, n_critic=n_critic,
                            g_fresh_batch=g_fresh_batch), d_terms, g_terms)
  batch = {"image": _reals(n_critic)} if batch is None else batch
  if labeled is not None:
    batch.update(labeled_image=labeled[0][None], labeled_label=labeled[1][None])
  return jax.jit(jax.vmap(step, axis_name="batch"))(
      jax.tree.map(lambda x: x[None], state), jax.tree.map(lambda x: x[None], batch))


def _semi_supervised():
  """The tiny config with a 10-class semi-supervised D, and its 4 labelled images."""
  config = _tiny_config(name="non_saturating")
  config.model.semi_supervised_classes = 10
  labeled = (_reals()[0][:4], jnp.array([0, 1, 2, 3]))
  return config, dict(labeled=labeled)


def _seed0_nets(config):
  """``config``'s nets (no device axis) and seed 0's initial state: the networks
  ``_one_device_step`` starts from."""
  generator, discriminator = models.build(config.model, (28, 28, 1), axis_name=None)
  tx = factory.make(config.optimizer.d, 10)
  return generator, discriminator, init_state(0, generator, discriminator, tx, tx, 8,
                                              (28, 28, 1))


def _reals(n_critic=1):
  return jax.random.uniform(jax.random.PRNGKey(5), (n_critic, 8, 28, 28, 1)) * 2 - 1


def test_entropy_minimisation_adds_the_class_entropy_of_the_unlabelled_reals():
  config, kwargs = _semi_supervised()
  plain = _one_device_step(config, **kwargs)[1]
  entropic = _one_device_step(config, d_entropy=2.0, **kwargs)[1]
  # D (no dropout, no noise) of seed 0's state on the same real batch, by numpy.
  _, discriminator, state = _seed0_nets(config)
  _, logits = discriminator.apply({"params": state.d_params}, _reals()[0], train=False)
  p = np.exp(np.asarray(logits, np.float64))
  p /= p.sum(-1, keepdims=True)
  expected = -np.mean(np.sum(p * np.log(p), axis=-1))
  assert "d_entropy" not in plain and 0 < expected < np.log(10)
  np.testing.assert_allclose(entropic["d_entropy"][0], expected, rtol=1e-5)
  np.testing.assert_allclose(entropic["d_loss"][0], plain["d_loss"][0] + 2.0 * expected,
                             rtol=1e-5)


def test_the_manifold_penalty_compares_d_class_logits_at_nearby_latents():
  """D's loss gains λ‖l(G(z)) − l(G(z + ε r̄))‖² on the step's own latents z and a random
  unit direction r̄ (Lecouat et al. 2018), recomputed here from seed 0's networks."""
  config, kwargs = _semi_supervised()
  plain = _one_device_step(config, **kwargs)[1]
  smooth = _one_device_step(config, d_manifold=3.0, manifold_epsilon=0.5, **kwargs)[1]
  generator, discriminator, state = _seed0_nets(config)
  z_key = jax.random.fold_in(jax.random.fold_in(state.rng, 0), 0)  # step 0's only critic update
  z = jax.random.normal(z_key, (8, 8))
  r = jax.random.normal(jax.random.fold_in(z_key, 2), (8, 8))
  z_near = z + 0.5 * r / jnp.linalg.norm(r, axis=1, keepdims=True)

  def class_logits(latents):  # G in training mode (batch statistics), D without dropout
    fake, _ = generator.apply({"params": state.g_params, "batch_stats": state.g_batch_stats},
                              latents, train=True, mutable=["batch_stats"])
    return discriminator.apply({"params": state.d_params}, fake, train=False)[1]

  expected = np.mean(np.sum((np.asarray(class_logits(z)) - np.asarray(class_logits(z_near))) ** 2,
                            axis=1))
  assert "d_manifold" not in plain and expected > 0
  np.testing.assert_allclose(smooth["d_manifold"][0], expected, rtol=1e-4)
  np.testing.assert_allclose(smooth["d_loss"][0], plain["d_loss"][0] + 3.0 * expected, rtol=1e-5)


def test_consistency_compares_two_dropout_draws_of_d_on_the_unlabelled_reals():
  """D's loss gains λ E‖softmax(l(x; ξ)) − softmax(l(x; ξ'))‖² on the unlabelled reals: ξ the
  dropout of D's update, ξ' a second draw (recomputed here); zero without dropout."""
  config, kwargs = _semi_supervised()
  still = _one_device_step(config, d_consistency=2.0, **kwargs)[1]
  assert float(still["d_consistency"][0]) < 1e-12  # no noise: the passes agree to rounding
  config.model.discriminator.dropout = 0.5
  plain = _one_device_step(config, **kwargs)[1]
  noisy = _one_device_step(config, d_consistency=2.0, **kwargs)[1]
  _, discriminator, state = _seed0_nets(config)
  device_rng = jax.random.fold_in(jax.random.fold_in(state.rng, 0), 0)
  d_key = jax.random.split(jax.random.fold_in(device_rng, 1))[1]  # step 0's critic update

  def class_probabilities(images, key):  # D's rows are independent: fakes can be zeros
    logits = discriminator.apply({"params": state.d_params}, images, train=True,
                                 rngs={"dropout": key, "noise": jax.random.fold_in(key, 0x4E)})[1]
    return np.asarray(jax.nn.softmax(logits[:8]), np.float64)

  update = class_probabilities(jnp.concatenate([_reals()[0], jnp.zeros_like(_reals()[0]),
                                                kwargs["labeled"][0]]), d_key)
  second = class_probabilities(_reals()[0], jax.random.fold_in(d_key, 5))
  expected = np.mean(np.sum((update - second) ** 2, axis=1))
  assert "d_consistency" not in plain and expected > 1e-4
  np.testing.assert_allclose(noisy["d_consistency"][0], expected, rtol=1e-4)
  np.testing.assert_allclose(noisy["d_loss"][0], plain["d_loss"][0] + 2.0 * expected, rtol=1e-5)


def test_a_fresh_generator_batch_gives_g_its_own_latents_and_reals():
  """With ``g_fresh_batch`` G's update is the one a default step with one more critic
  update makes from the same latents and reals (G learns by a fixed perceptual loss only, so
  D's two extra updates cannot matter); D's update is the default step's."""
  config = _tiny_config(name="non_saturating")
  projection = jax.random.normal(jax.random.PRNGKey(9), (784, 16))
  g_only = dict(g_adversarial=0.0, perceptual=1.0,
                perceptual_features=lambda x: jnp.tanh(x.reshape(len(x), -1) @ projection))
  reals = _reals(2)
  fresh_state, fresh = _one_device_step(
      config, batch={"image": reals[:1], "g_image": reals[1:]}, g_fresh_batch=True, **g_only)
  two_state, two = _one_device_step(config, n_critic=2, batch={"image": reals}, **g_only)
  one_state, one = _one_device_step(config, batch={"image": reals[:1]}, **g_only)
  chex.assert_trees_all_close(fresh_state.g_params, two_state.g_params, rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(fresh["g_perceptual"], two["g_perceptual"], rtol=1e-6)
  chex.assert_trees_all_equal(fresh_state.d_params, one_state.d_params)
  np.testing.assert_array_equal(fresh["d_loss"], one["d_loss"])
  assert abs(float(fresh["g_perceptual"][0]) - float(one["g_perceptual"][0])) > 1e-3


def _tiny_config(**loss):
  c = base_config()
  c.model = dcgan28_model(width=4, kernel_size=3)
  c.model.discriminator.dropout = 0.0
  c.loss.update(loss)
  return c


def test_weight_clipping_bounds_the_critic_after_every_update():
  config = _tiny_config(name="wasserstein", weight_clip=0.01)
  config.optimizer.d.learning_rate = 0.5  # large steps that would leave the box
  state, _ = _one_device_step(config, n_critic=3)
  leaves = jax.tree.leaves(state.d_params)
  assert max(float(jnp.max(jnp.abs(p))) for p in leaves) == pytest.approx(0.01)


def test_penalties_enter_the_losses_and_the_metrics():
  plain = _one_device_step(_tiny_config(name="wasserstein"))[1]
  gp = _one_device_step(_tiny_config(name="wasserstein", gradient_penalty=10.0, r1=1.0,
                                     g_orthogonal_reg=1e-2, dragan=2.0))[1]
  assert "d_gradient_penalty" not in plain and "g_orthogonal_reg" not in plain
  for key in ("d_gradient_penalty", "d_r1_penalty", "d_dragan_penalty", "g_orthogonal_reg"):
    assert float(gp[key][0]) > 0, key
  # Same initial networks and batch: the penalised losses are the plain ones plus the terms.
  np.testing.assert_allclose(
      gp["d_loss"][0],
      plain["d_loss"][0] + 10 * gp["d_gradient_penalty"][0] + 0.5 * gp["d_r1_penalty"][0]
      + 2 * gp["d_dragan_penalty"][0], rtol=1e-5)


def test_relativistic_hinge_is_affine_in_the_wasserstein_loss_while_its_margins_are_inactive():
  """With every |r̃|, |f̃| < 1 (the tiny D's logits at initialisation), RaHinge's D loss is
  E(1 − r̃) + E(1 + f̃) = 2 + 2(E f − E r): 2 + 2 × the WGAN critic loss of the same nets and
  batch. Every relativistic family trains one step to finite losses."""
  hinge = _one_device_step(_tiny_config(name="relativistic_hinge"))[1]
  wasserstein = _one_device_step(_tiny_config(name="wasserstein"))[1]
  np.testing.assert_allclose(hinge["d_loss"][0], 2.0 + 2.0 * wasserstein["d_loss"][0], rtol=1e-5)
  for family in ("relativistic", "relativistic_least_squares"):
    metrics = _one_device_step(_tiny_config(name=family))[1]
    assert np.isfinite(float(metrics["d_loss"][0])) and np.isfinite(float(metrics["g_loss"][0]))


def test_feature_matching_is_the_squared_distance_of_feature_means():
  real = jnp.array([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
  fake = jnp.array([[0.0, 0.0], [2.0, 2.0]])  # mean (1, 1)
  np.testing.assert_allclose(regularizers.feature_matching(real, fake), 1.0 + 4.0)


def test_generator_objective_terms_add_with_their_weights():
  config = _tiny_config(name="non_saturating")
  projection = jax.random.normal(jax.random.PRNGKey(9), (784, 16))

  def features(images):  # a fixed "perceptual" network
    return jnp.tanh(images.reshape(images.shape[0], -1) @ projection)

  plain = _one_device_step(config)[1]
  # D's update does not depend on G's objective, so the adversarial part is unchanged.
  perceptual = _one_device_step(config, perceptual_features=features, perceptual=0.5)[1]
  np.testing.assert_allclose(perceptual["d_loss"], plain["d_loss"])
  assert float(perceptual["g_perceptual"][0]) > 0
  np.testing.assert_allclose(perceptual["g_loss"],
                             plain["g_loss"] + 0.5 * perceptual["g_perceptual"], rtol=1e-5)
  matching = _one_device_step(config, g_adversarial=0.0, feature_matching=2.0)[1]
  assert float(matching["g_feature_matching"][0]) > 0
  np.testing.assert_allclose(matching["g_loss"], 2.0 * matching["g_feature_matching"], rtol=1e-6)


RESNET_TINY = ("--config.model.generator.channels=8", "--config.model.discriminator.channels=8",
               "--config.model.generator.embed_dim=4", "--config.n_critic=2",
               "--config.parallel.num_devices=1")


def test_cifar_architectures_train_on_fashion_mnist_padded_to_32(idx_dir, tmp_path):
  # The offline way to run SNGAN/BigGAN for real: 28×28 garments zero-padded to 32×32.
  assert cli.main(["train", "--config", "experiments/biggan_cifar10.py", "--workdir",
                   str(tmp_path), "--no-progress", *RESNET_TINY, "--config.batch_size=8",
                   "--config.data.name=fashion_mnist", "--config.data.source=idx",
                   f"--config.data.path={idx_dir}", "--config.data.pad_to=32",
                   "--config.total_steps=2", "--config.sample_every=2"]) == 0
  config = json.load(open(tmp_path / "config.json"))
  assert config["data"]["image_shape"] == [32, 32, 1]
  records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  assert all(np.isfinite(r["d_loss"]) for r in records if "d_loss" in r)


@pytest.mark.parametrize("experiment", ["sngan_cifar10", "biggan_cifar10", "biggan_imagenet32"])
def test_resnet_experiment_trains_resumes_and_samples_on_mock_tfds(experiment, tmp_path, capsys):
  import tensorflow_datasets as tfds

  def run(workdir, steps):
    return cli.main(["train", "--config", f"experiments/{experiment}.py", "--workdir",
                     str(workdir), "--no-progress", *RESNET_TINY, "--config.batch_size=8",
                     f"--config.total_steps={steps}", "--config.log_every=1", "--config.sample_every=2", "--config.ckpt_every=2",
                     # The linear decay spans total_steps; constant rates make a 2-step run
                     # the first half of the 4-step one.
                     "--config.optimizer.g.schedule=constant",
                     "--config.optimizer.d.schedule=constant"])

  # BigGAN-lite holds every ResNet part (SN in G too, conditional BN, projection), so its
  # resume covers the others.
  check_resume = experiment == "biggan_cifar10"
  with tfds.testing.mock_data(num_examples=64):
    assert run(tmp_path / "straight", 4) == 0
    if check_resume:
      assert run(tmp_path / "resumed", 2) == 0 and run(tmp_path / "resumed", 4) == 0
  records = [json.loads(line) for line in open(tmp_path / "straight" / "metrics.jsonl")]
  assert [r["step"] for r in records] == [1, 2, 3, 4]
  assert all(np.isfinite(r["d_loss"]) and np.isfinite(r["g_loss"]) for r in records)
  if check_resume:
    assert (run_info(tmp_path / "straight", capsys)["state_digest"] ==
            run_info(tmp_path / "resumed", capsys)["state_digest"])
  out = tmp_path / "grid.png"
  assert cli.main(["sample", "--workdir", str(tmp_path / "straight"), "--num", "4",
                   "--out", str(out)]) == 0
  assert out.stat().st_size > 0
