"""README's recipe for a new objective term, followed literally: one file holding the term,
one line registering it (the import in the experiment config), one switch on the command line."""

import json
import math
import textwrap

from ganjax import cli

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
