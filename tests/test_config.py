"""Config loading, typed overrides and their errors."""

import ml_collections
import pytest

from ganjax import config as config_lib, schema
from ganjax.errors import UserError

DEMO = "experiments/dcgan_fashion_mnist.py"


def test_overrides_keep_types():
  c = config_lib.load(DEMO, {"batch_size": "64", "optimizer.g.learning_rate": "1e-3",
                             "optimizer.d.b1": "0", "model.generator.upsample": "conv_transpose",
                             "model.generator.batch_norm": "false"})
  assert c.batch_size == 64 and isinstance(c.batch_size, int)
  assert c.optimizer.g.learning_rate == 1e-3
  assert c.optimizer.d.b1 == 0.0 and isinstance(c.optimizer.d.b1, float)
  assert c.model.generator.upsample == "conv_transpose"
  assert c.model.generator.batch_norm is False


def test_set_values_keeps_types_and_replaces_groups():
  c = config_lib.load(DEMO)
  config_lib.set_values(c, {"optimizer.g.learning_rate": 1, "total_steps": 7,
                            "optimizer.d": config_lib.optimizer_config("sgd", 0.1)})
  assert c.optimizer.g.learning_rate == 1.0 and isinstance(c.optimizer.g.learning_rate, float)
  assert c.total_steps == 7 and c.optimizer.d.name == "sgd" and c.optimizer.d.learning_rate == 0.1
  with pytest.raises(UserError, match="config.batch_size='64': expected int, got str"):
    config_lib.set_values(c, {"batch_size": "64"})
  with pytest.raises(UserError, match="config.optimizer.g is a group of settings"):
    config_lib.set_values(c, {"optimizer.g": 3})
  with pytest.raises(UserError, match="did you mean --config.total_steps"):
    config_lib.set_values(c, {"total_step": 3})


def test_unknown_key_suggests_the_closest():
  with pytest.raises(UserError, match=r"did you mean --config\.batch_size"):
    config_lib.load(DEMO, {"batch_szie": "3"})


@pytest.mark.parametrize("key,value", [("batch_size", "lots"), ("batch_size", "1.5"),
                                       ("model.generator.batch_norm", "maybe")])
def test_wrong_type_is_refused(key, value):
  with pytest.raises(UserError, match=key.replace(".", r"\.")):
    config_lib.load(DEMO, {key: value})


def test_non_positive_values_are_refused():
  with pytest.raises(UserError, match="total_steps must be positive"):
    config_lib.load(DEMO, {"total_steps": "0"})
  with pytest.raises(UserError, match="config.num_seeds must be >= 1, got 0"):
    config_lib.load(DEMO, {"num_seeds": "0"})


@pytest.mark.parametrize("key", ["d_entropy", "d_consistency"])
def test_class_regularisers_without_a_semi_supervised_d_are_refused(key):
  with pytest.raises(UserError, match=f"{key} needs a semi-supervised discriminator"):
    config_lib.load(DEMO, {f"loss.{key}": "1.0"})


def test_a_manifold_penalty_without_a_latent_step_is_refused():
  with pytest.raises(UserError, match="manifold_epsilon .* must be > 0, got 0.0"):
    config_lib.load(DEMO, {"loss.d_manifold": "1.0", "loss.manifold_epsilon": "0.0"})
  with pytest.raises(UserError, match="config.loss.d_manifold must be >= 0"):
    config_lib.load(DEMO, {"loss.d_manifold": "-1.0"})
  assert config_lib.load(DEMO, {"loss.manifold_epsilon": "0.0"}).loss.d_manifold == 0.0


def test_data_dependent_init_without_weight_norm_is_refused():
  with pytest.raises(UserError, match="set config.model.discriminator.weight_norm=True"):
    config_lib.load(DEMO, {"model.data_init_images": "500"})


def test_cli_override_forms():
  rest, overrides = config_lib.split_cli_overrides(
      ["train", "--config", "x.py", "--config.seed=3", "--config.batch_size", "8"])
  assert rest == ["train", "--config", "x.py"]
  assert overrides == {"seed": "3", "batch_size": "8"}


@pytest.mark.parametrize("path", ["experiments/dcgan_fashion_mnist.py",
                                  "experiments/dcgan_mnist.py", "experiments/gan_mlp_mnist.py"])
def test_shipped_experiments_load(path):
  c = config_lib.load(path)
  assert set(config_lib.REQUIRED_KEYS) <= set(config_lib.flat_keys(c))


def test_an_optimizer_group_holds_its_own_keys_and_a_new_name_brings_the_new_ones():
  c = config_lib.load(DEMO, {"optimizer.d.beta": "prp", "optimizer.d.name": "cg",
                             "optimizer.d.learning_rate": "0.05"})
  own = set(c.optimizer.d) - set(schema.COMMON_OPTIMIZER_KEYS)
  assert own == {"name", "learning_rate", "beta", "beta_max", "beta_scale"}
  assert (c.optimizer.d.beta, c.optimizer.d.learning_rate) == ("prp", 0.05)
  assert set(c.optimizer.g) - set(schema.COMMON_OPTIMIZER_KEYS) == {
      "name", "learning_rate", "b1", "b2", "eps", "eps_root"}
  with pytest.raises(UserError, match="unknown config key 'optimizer.g.beta'"):
    config_lib.load(DEMO, {"optimizer.g.beta": "prp"})  # Adam has no β
  with pytest.raises(UserError, match="optimizer 'adam' has no setting 'beta'"):
    config_lib.optimizer_config("adam", beta="prp")
  swept = config_lib.load(DEMO)
  config_lib.set_values(swept, {"optimizer.g.momentum": 0.5, "optimizer.g.name": "momentum"})
  assert (swept.optimizer.g.momentum, swept.optimizer.g.learning_rate) == (0.5, 2e-4)
  assert "b1" not in swept.optimizer.g


def test_with_defaults_fills_what_an_older_run_lacks_and_keeps_the_rest():
  old = config_lib.base_config()
  del old.loss["d_consistency"], old["g_fresh_batch"], old.optimizer.g["lr_multipliers"]
  old.loss.r1, old.model.generator = 2.5, {"features": (8, 4)}
  filled = config_lib.with_defaults(ml_collections.ConfigDict(old.to_dict()))
  assert filled.loss.d_consistency == 0.0 and filled.g_fresh_batch is False
  assert filled.optimizer.g.lr_multipliers.to_dict() == {}
  assert filled.loss.r1 == 2.5 and filled.model.generator.to_dict() == {"features": (8, 4)}
  assert set(config_lib.flat_keys(filled)) >= set(config_lib.flat_keys(config_lib.base_config()))


def test_every_bound_names_a_schema_key_and_the_defaults_hold():
  base = config_lib.base_config()
  for key, bounds in schema.BOUNDS.items():
    value = base
    for part in key.split("."):
      value = value[part]
    assert bounds.holds(value), key


@pytest.mark.parametrize("bounds, inside, outside, text", [
    (schema.Range(0, lo_open=True), [1, 1e-9], [0, -1], "positive"),
    (schema.Range(1), [1, 7], [0], ">= 1"),
    (schema.Range(0, 1, hi_open=True), [0, 0.999], [1, -0.1], "in [0, 1)"),
    (schema.Range(0, 1, lo_open=True, hi_open=True), [0.5], [0, 1], "in (0, 1)"),
    (schema.Range(0, 2 ** 32 - 1), [0, 2 ** 32 - 1], [-1, 2 ** 32], "in [0, 4294967295]"),
])
def test_range_bounds_and_text(bounds, inside, outside, text):
  assert all(bounds.holds(x) for x in inside) and not any(bounds.holds(x) for x in outside)
  assert bounds.text() == text
