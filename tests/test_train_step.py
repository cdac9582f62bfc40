"""The pure train step: data parallelism is exact, and a tiny GAN learns a known distribution."""

import jax
import numpy as np
import optax
import pytest

from ganjax import config as config_lib, experiment
from ganjax.models.dcgan import DCGANDiscriminator, DCGANGenerator
from ganjax.models.mlp import MLPDiscriminator, MLPGenerator
from ganjax.parallel import AXIS, DataParallel
from ganjax.state import init_state, state_digest
from conftest import non_saturating
from ganjax.step import Players, Settings, make_step


def _run(mode, num_devices, steps, batches, n_critic):
  """Trains a tiny DCGAN with batch norm in G and D on ``num_devices`` devices."""
  g = DCGANGenerator(image_shape=(8, 8, 1), start_size=2, features=(8, 4), strides=(2, 2),
                     kernel_size=3, axis_name=AXIS)
  d = DCGANDiscriminator(features=(4, 8), kernel_size=3, batch_norm=True, dropout=0.0,
                         axis_name=AXIS)
  g_tx, d_tx = optax.adam(1e-3, b1=0.5), optax.adam(1e-3, b1=0.5)
  state = init_state(0, g, d, g_tx, d_tx, latent_dim=4, image_shape=(8, 8, 1))
  step = make_step(Players(g, d, g_tx, d_tx),
                   Settings(latent_dim=4, global_batch=batches.shape[2], n_critic=n_critic,
                            log_layer_norms=True), *non_saturating())
  parallel = DataParallel(mode, num_devices)
  compiled = parallel.compile(step)
  state = parallel.put_state(state)
  history = []
  for i in range(steps):
    state, metrics = compiled(state, parallel.put_batch({"image": batches[i]}))
    history.append(parallel.get_metrics(metrics)[0])
  return parallel.get_state(state), history


def test_pmap_and_shard_map_equal_single_device():
  assert jax.local_device_count() == 8
  n_critic, steps = 2, 3
  batches = np.random.default_rng(0).uniform(-1, 1, (steps, n_critic, 16, 8, 8, 1)).astype(np.float32)
  single, single_metrics = _run("pmap", 1, steps, batches, n_critic)
  for mode in ("pmap", "shard_map"):
    state, metrics = _run(mode, 8, steps, batches, n_critic)
    assert int(state.step) == steps
    diffs = jax.tree.map(lambda a, b: float(np.max(np.abs(np.asarray(a, np.float64) - b))),
                         state, single)
    worst = max(jax.tree.leaves(diffs))
    assert worst <= 1e-5, (mode, worst)
    for a, b in zip(metrics, single_metrics):
      for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=1e-5, rtol=1e-5, err_msg=f"{mode} {key}")
  # Per-layer norms partition the global gradient norm.
  for record in single_metrics:
    for player in ("g", "d"):
      layers = [v for k, v in record.items() if k.startswith(f"{player}_grad_norm/")]
      assert len(layers) >= 3
      np.testing.assert_allclose(np.sqrt(np.sum(np.square(layers))),
                                 record[f"{player}_grad_norm"], rtol=1e-5)
  # Sanity: the run really changed the parameters (the comparison is not vacuous).
  init = init_state(0, DCGANGenerator(image_shape=(8, 8, 1), start_size=2, features=(8, 4),
                                      strides=(2, 2), kernel_size=3),
                    DCGANDiscriminator(features=(4, 8), kernel_size=3, batch_norm=True),
                    optax.adam(1e-3), optax.adam(1e-3), 4, (8, 8, 1))
  moved = jax.tree.map(lambda a, b: float(np.max(np.abs(a - b))), single.g_params, init.g_params)
  assert max(jax.tree.leaves(moved)) > 1e-3


def _mixture(rng, n):
  """Two isotropic Gaussians at (±2, 1) with std 0.3, weights 1/2."""
  centres = np.array([[-2.0, 1.0], [2.0, 1.0]])
  return (centres[rng.integers(0, 2, n)] + 0.3 * rng.standard_normal((n, 2))).astype(np.float32)


def test_tiny_gan_learns_a_gaussian_mixture():
  g = MLPGenerator(image_shape=(2,), hidden=(64, 64), output_activation="identity")
  d = MLPDiscriminator(hidden=(64, 64))
  g_tx, d_tx = optax.adam(1e-3, b1=0.5), optax.adam(1e-3, b1=0.5)
  state = init_state(0, g, d, g_tx, d_tx, latent_dim=4, image_shape=(2,))
  batch, steps = 256, 3000
  step = make_step(Players(g, d, g_tx, d_tx), Settings(latent_dim=4, global_batch=batch),
                   *non_saturating())

  @jax.jit
  def train(state, reals):
    def body(state, real):
      return step(state, {"image": real[None]})[0], None
    return jax.lax.scan(body, state, reals)[0]

  def samples(state):
    z = jax.random.normal(jax.random.PRNGKey(99), (4000, 4))
    return np.asarray(g.apply({"params": state.g_params}, z, train=False))

  rng = np.random.default_rng(0)
  data = _mixture(rng, 4000)
  target_mean, target_cov = data.mean(0), np.cov(data.T)

  def errors(x):
    return np.abs(x.mean(0) - target_mean).max(), np.abs(np.cov(x.T) - target_cov).max()

  mean_before, cov_before = errors(samples(state))
  trained = jax.vmap(lambda s, r: train(s, r), axis_name=AXIS)(
      jax.tree.map(lambda x: x[None], state),
      _mixture(rng, steps * batch).reshape(1, steps, batch, 2))
  x = samples(jax.tree.map(lambda x: x[0], trained))
  mean_after, cov_after = errors(x)
  # The data's x-variance is 2² + 0.3² = 4.09; the untrained generator is far from it.
  assert cov_before > 3.0, cov_before
  assert mean_after < 0.4, (mean_after, x.mean(0))
  assert cov_after < 0.2 * 4.09 and cov_after < cov_before / 5, (cov_after, np.cov(x.T))
  # Both modes are covered: a fair share of samples near each centre.
  left, right = np.mean(x[:, 0] < 0), np.mean(x[:, 0] > 0)
  assert 0.3 < left < 0.7 and 0.3 < right < 0.7


def test_cheaply_compiled_initialisation_has_the_default_bits(tiny_config):
  exp = experiment.build(config_lib.load(tiny_config), (28, 28, 1))
  default = jax.jit(exp.init)(np.uint32(exp.config.seed))  # XLA's default optimisation level
  assert state_digest(experiment.initial_state(exp)) == state_digest(default)


def test_vmapped_seeds_train_like_each_seed_alone(tiny_config):
  """K seeds as one vmapped program (stacked states, a batch per seed) == each seed alone."""
  exp = experiment.build(config_lib.load(tiny_config), (28, 28, 1))
  seeds = [3, 11]
  parallel, stacked_parallel = DataParallel("shard_map", 1), DataParallel("shard_map", 1, 2)
  single = parallel.compile(exp.train_step(16))
  stacked_step = stacked_parallel.compile(exp.train_step(16))
  stacked = stacked_parallel.put_state(experiment.initial_states(exp, seeds))
  alone = []
  for seed in seeds:
    exp_k = exp._replace(config=exp.config.copy_and_resolve_references())
    exp_k.config.seed = seed
    alone.append(parallel.put_state(experiment.initial_state(exp_k)))
  rng = np.random.default_rng(0)
  for _ in range(3):
    batches = rng.uniform(-1, 1, (len(seeds), 1, 16, 28, 28, 1)).astype(np.float32)
    labels = np.zeros((len(seeds), 1, 16), np.int32)
    stacked, metrics = stacked_step(stacked, stacked_parallel.put_batch(
        {"image": batches, "label": labels}))
    metrics = stacked_parallel.get_metrics(metrics)
    for k in range(len(seeds)):
      alone[k], metrics_k = single(alone[k], parallel.put_batch(
          {"image": batches[k], "label": labels[k]}))
      np.testing.assert_allclose(metrics[k]["d_loss"], parallel.get_metrics(metrics_k)[0]["d_loss"],
                                 rtol=1e-5)
  for k, state in enumerate(alone):
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a[k], b, rtol=2e-4, atol=2e-5),
                 jax.device_get(stacked), jax.device_get(state))


def test_reading_a_pmapped_state_runs_no_device_program(caplog):
  """get_state copies a local replica: a program over an array spanning processes (``x[0]``)
  would have to run in every process at the same point, or the run hangs (multi-host)."""
  parallel = DataParallel("pmap")
  state = {"w": np.arange(7 * 3 * 5, dtype=np.float32).reshape(7, 3, 5)}  # a shape of its own
  device_state = parallel.put_state(state)
  with jax.log_compiles(True), caplog.at_level("WARNING"):
    host = parallel.get_state(device_state)
  np.testing.assert_array_equal(host["w"], state["w"])
  assert not [r.getMessage() for r in caplog.records if "Compiling" in r.getMessage()]


@pytest.mark.parametrize("player", ["g", "d"])
def test_ema_follows_the_warmed_up_recurrence(tiny_config, player):
  """ema_t+1 = d_t·ema_t + (1 − d_t)·θ_t+1 with d_t = min(decay, (1 + t)/(10 + t)), from
  ema_0 = θ_0, for G (``ema_decay``) and D (``d_ema_decay``): checked against that
  recurrence in numpy over the trajectory of θ."""
  config = config_lib.load(tiny_config)
  # The warm-up's (1 + t)/(10 + t) passes 0.5 at t = 8: both branches.
  config["ema_decay" if player == "g" else "d_ema_decay"] = 0.5
  exp = experiment.build(config, (28, 28, 1))
  parallel = DataParallel("shard_map", 1)
  step = parallel.compile(exp.train_step(16))
  host = jax.device_get(experiment.initial_state(exp))  # the step donates its input state
  assert (host.ema_params is None) == (player == "d")
  assert (host.d_ema_params is None) == (player == "g")

  def params(s):
    return s.g_params if player == "g" else s.d_params

  def average(s):
    return s.ema_params if player == "g" else s.d_ema_params

  expected = jax.tree.map(np.float64, params(host))
  state = parallel.put_state(host)
  rng = np.random.default_rng(0)
  for t in range(12):
    batch = {"image": rng.uniform(-1, 1, (1, 16, 28, 28, 1)).astype(np.float32),
             "label": np.zeros((1, 16), np.int32)}
    state, _ = step(state, parallel.put_batch(batch))
    theta = params(parallel.get_state(state))
    decay = min(0.5, (1 + t) / (10 + t))
    expected = jax.tree.map(lambda e, p: decay * e + (1 - decay) * p, expected, theta)
  ema = average(parallel.get_state(state))
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), ema, expected)
  # Early on the warm-up keeps the average near recent weights, not near the initial ones.
  far = jax.tree.leaves(jax.tree.map(lambda e, p0, p: np.abs(e - p).sum() < np.abs(p0 - p).sum(),
                                     ema, params(host), theta))
  assert all(far)
