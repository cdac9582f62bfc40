"""README's recipes, followed literally: a new objective term, a new model and a new optimizer,
each one file beside the experiment config plus the import that registers it."""

import json
import math
import textwrap

import jax
import numpy as np

from ganjax import cli, experiment, saved_run

TERM_FILE = '''
import jax.numpy as jnp

from ganjax.objectives.terms import Term, d_term


@d_term("d_drift")
def d_drift(weight, setup):
  """ε-drift (Karras et al. 2018): E[D(x)²] keeps the critic's real logits near zero."""
  def fn(ctx):
    value = jnp.mean(ctx.real_logits ** 2)
    return value, {"d_drift": value}
  return Term("d_drift", fn, weight)
'''

CONFIG_FILE = '''
import my_terms  # registers d_drift: config.loss.d_drift is its weight

from ganjax.config import load


def get_config():
  return load({tiny!r})
'''


def _records(workdir):
  with open(workdir / "metrics.jsonl") as f:
    return [r for r in map(json.loads, f) if "d_loss" in r]


def test_a_new_term_is_one_file_and_one_registry_line(tiny_config, tmp_path):
  (tmp_path / "my_terms.py").write_text(textwrap.dedent(TERM_FILE))
  config = tmp_path / "drift.py"
  config.write_text(textwrap.dedent(CONFIG_FILE.format(tiny=tiny_config)))
  common = ["--no-progress", "--config.total_steps=4", "--config.log_every=1",
            "--config.parallel.num_devices=1"]
  on, off = tmp_path / "on", tmp_path / "off"
  assert cli.main(["train", "--config", str(config), "--workdir", str(on),
                   "--config.loss.d_drift=0.5", *common]) == 0
  assert cli.main(["train", "--config", str(config), "--workdir", str(off), *common]) == 0
  with_term, without = _records(on), _records(off)
  assert [r["step"] for r in with_term] == [1, 2, 3, 4]
  assert all(math.isfinite(r["d_drift"]) and r["d_drift"] > 0 for r in with_term)
  assert all("d_drift" not in r for r in without)
  # Step 1 starts from the same state and batch: D's loss grows by exactly 0.5 × the term.
  assert math.isclose(with_term[0]["d_loss"], without[0]["d_loss"] + 0.5 * with_term[0]["d_drift"],
                      rel_tol=1e-5)


MODEL_FILE = '''
import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from ganjax import models


class TinyGenerator(nn.Module):
  image_shape: tuple          # (H, W, C), from the data
  width: int = 64             # config.model.generator.width

  @nn.compact
  def __call__(self, z, train: bool = True):
    x = nn.relu(nn.Dense(self.width)(z))
    x = jnp.tanh(nn.Dense(int(np.prod(self.image_shape)))(x))   # images in [-1, 1]
    return x.reshape((len(z), *self.image_shape))


class TinyDiscriminator(nn.Module):
  width: int = 64             # config.model.discriminator.width

  @nn.compact
  def __call__(self, x, train: bool = True):
    x = nn.leaky_relu(nn.Dense(self.width)(x.reshape((len(x), -1))), 0.2)
    return nn.Dense(1)(x)[:, 0]                                 # one logit per image


@models.register("tiny")
def tiny(model, image_shape, axis_name, g_kw, d_kw):
  return TinyGenerator(image_shape, **g_kw), TinyDiscriminator(**d_kw)
'''

MODEL_CONFIG = '''
import ml_collections

import my_models  # registers config.model.name = "tiny"

from ganjax.config import load


def get_config():
  c = load({tiny!r})
  c.model = ml_collections.ConfigDict(dict(name="tiny", generator=dict(width=32),
                                           discriminator=dict(width=24)))
  return c
'''

OPTIMIZER_FILE = '''
import optax

from ganjax.optim import register


@register("lion", b1=0.9, b2=0.99)   # its own settings: config.optimizer.*.b1, .b2
def lion(learning_rate, cfg):
  """Lion (Chen et al. 2023): the sign of an interpolated momentum, times the learning rate."""
  return optax.lion(learning_rate, b1=cfg.b1, b2=cfg.b2, weight_decay=0.0)
'''

OPTIMIZER_CONFIG = '''
import my_optimizers  # registers config.optimizer.{{g,d}}.name = "lion"

from ganjax.config import load


def get_config():
  return load({tiny!r})
'''


def _train(tmp_path, files: dict, config_text: str, tiny_config, *overrides):
  for name, text in files.items():
    (tmp_path / name).write_text(textwrap.dedent(text))
  config = tmp_path / "experiment.py"
  config.write_text(textwrap.dedent(config_text.format(tiny=tiny_config)))
  workdir = tmp_path / "run"
  assert cli.main(["train", "--config", str(config), "--workdir", str(workdir), "--no-progress",
                   "--config.parallel.num_devices=1", *overrides]) == 0
  return workdir


def test_a_new_model_is_one_file_and_one_registry_line(tiny_config, tmp_path):
  workdir = _train(tmp_path, {"my_models.py": MODEL_FILE}, MODEL_CONFIG, tiny_config,
                   "--config.total_steps=3")
  exp, state = saved_run.load_run(str(workdir))
  assert type(exp.generator).__name__ == "TinyGenerator" and int(state.step) == 3
  assert state.g_params["Dense_0"]["kernel"].shape == (exp.config.latent_dim, 32)
  assert state.d_params["Dense_0"]["kernel"].shape == (int(np.prod(exp.image_shape)), 24)
  assert (workdir / "samples" / "step_0000003.png").exists()


def test_a_new_optimizer_is_one_file_and_one_registry_line(tiny_config, tmp_path):
  lr = 1e-3
  workdir = _train(tmp_path, {"my_optimizers.py": OPTIMIZER_FILE}, OPTIMIZER_CONFIG, tiny_config,
                   "--config.total_steps=1", "--config.optimizer.g.name=lion",
                   "--config.optimizer.d.name=lion", f"--config.optimizer.d.learning_rate={lr}")
  exp, trained = saved_run.load_run(str(workdir))
  initial = experiment.initial_state(exp)
  # Lion's first update is −lr·sign(g): every weight of D moved by exactly lr.
  moved = jax.tree.map(lambda a, b: np.abs(np.asarray(a) - np.asarray(b)),
                       trained.d_params, initial.d_params)
  flat = np.concatenate([m.ravel() for m in jax.tree.leaves(moved)])
  np.testing.assert_allclose(flat, lr, rtol=1e-3)
