"""The shipped ablation studies: each sweep config loads and plans valid run configs."""

import glob
import os

import pytest

from ganjax import sweep

STUDIES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), os.pardir, "experiments",
                                        "ablations", "[!_]*.py")))


def test_there_are_five_studies():
  names = {os.path.basename(p)[:-3] for p in STUDIES}
  assert names >= {"cg_vs_adam", "orthogonal_gradients", "blur", "supervision", "conditioning",
                   "mlp_vs_dcgan"}


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: os.path.basename(p))
def test_study_plans_distinct_valid_runs(path, tmp_path):
  study = sweep.load(path)
  runs = sweep.plan(study, path, str(tmp_path))
  assert len(runs) == len(study.cells) * len(study.seeds) and len(study.seeds) >= 3
  for seed in study.seeds:  # every cell changes something
    configs = {r.config.to_json() for r in runs if r.seed == seed}
    assert len(configs) == len(study.cells)
  for run in runs:
    assert run.config.seed == run.seed
    for key, value in run.cell.overrides.items():
      node = run.config
      for part in key.split("."):
        node = node[part]
      if isinstance(value, dict):  # a later dotted key of the same cell wins over the group's
        value = dict(value, **{k[len(key) + 1:]: v for k, v in run.cell.overrides.items()
                               if k.startswith(key + ".")})
      assert node == value or node.to_dict() == value


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: os.path.basename(p))
def test_study_declares_its_primary_metric_and_a_reference_for_every_other_cell(path):
  study = sweep.load(path)
  assert study.primary in study.metrics and (study.baseline or study.search)
  if study.search:  # a random search reports each method's settings, not paired cells
    return
  baseline = [c for c in study.cells
              if all(c.factors[k] == v for k, v in study.baseline.items())]
  assert baseline and all(study.reference(c) is None for c in baseline)
  others = [c for c in study.cells if c not in baseline]
  assert others and all(study.reference(c) in baseline for c in others)
