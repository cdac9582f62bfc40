"""Study 1 with a budget: each optimizer's best FID and its spread over 8 random learning rates.

Study 1 (``cg_vs_adam.py``) sets three learning rates per optimizer by hand, and its grid
does not reach Adam's or RMSprop's best. Here every optimizer gets the same budget, as Lucic
et al. (2018) give every GAN: 8 learning rates drawn log-uniformly from its usual rate
÷ 16 … × 16 (a 256× range; the same quantiles for every optimizer), both players alike,
3 seeds each. A run that diverges stops (``nonfinite.action=stop``, no rollback to a lower
rate) and counts at the study's worst FID. The report gives each optimizer's FID over its 8
rates, its expected best FID against the number of rates tried (robustness to the learning
rate is a flat spread; a good optimizer reaches a low FID in few tries), and FID during
training, evaluated on 2000 samples every 250 steps.

Budget: 1000 steps at batch 64 per run, FID on 5000 samples; 6 optimizers × 8 rates × 3
seeds = 144 runs.
  ganjax sweep --config experiments/ablations/cg_vs_adam_search.py \\
      --workdir runs/ablations/cg_vs_adam_search
"""

from cg_vs_adam import CENTRES  # this directory is on sys.path while a config loads

from ganjax.search import log_uniform, random_search
from ganjax.sweep import Sweep, choice, product

OPTIMIZERS = ("adam", "rmsprop", "sgd", "cg_fr", "cg_prp", "cg_hz")
RATES, RANGE = 8, 16.0


def _cells(name: str) -> list:
  centre = CENTRES[name]
  optimizer = choice("optimizer", {name: {"optimizer.g": centre.to_dict(),
                                          "optimizer.d": centre.to_dict()}})
  rates = random_search(RATES, seed=0, lr=log_uniform(
      centre.learning_rate / RANGE, centre.learning_rate * RANGE,
      "optimizer.g.learning_rate", "optimizer.d.learning_rate"))
  return product(optimizer, rates)


def budgeted(cells: list, x: str, title: str) -> Sweep:
  """A random-search study of the demo DCGAN: 1000 steps, divergence a failure, FID every
  250 steps on 2000 samples and at the end on 5000, 3 seeds (also study 1c's)."""
  return Sweep(base="../dcgan_fashion_mnist.py", cells=cells, seeds=(0, 1, 2),
               settings={"total_steps": 1000, "sample_every": 500, "ckpt_every": 500,
                         "nonfinite.action": "stop", "eval_every": 250,
                         "eval_num_samples": 2000},
               metrics=("fid", "precision", "recall"), eval_num_samples=5000, primary="fid",
               search="setting", x=x, title=title)


def get_config():
  return budgeted([cell for name in OPTIMIZERS for cell in _cells(name)], "optimizer",
                  "Study 1 with a budget: 8 random learning rates per optimizer")
