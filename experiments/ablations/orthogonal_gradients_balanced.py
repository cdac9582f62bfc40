"""Study 2b: the orthogonal-gradient transform on the balanced MLP GAN, one that trains.

Does it even out gradient norms, and help, in an MLP GAN that Adam trains?

The grid, seeds, budget and metrics of ``orthogonal_gradients.py`` (Adam vs the three
orthogonal modes, 3 and 8 hidden layers), with ``balanced_mlp_model`` (LeakyReLU G, tanh
output, dropout 0.3 in D) in place of the tutorial recipe that collapses with every
optimizer.
  ganjax sweep --config experiments/ablations/orthogonal_gradients_balanced.py \\
      --workdir runs/ablations/orthogonal_gradients_balanced
"""

import os

from ganjax.config import balanced_mlp_model, run_get_config


def get_config():
  tutorial = run_get_config(os.path.join(os.path.dirname(__file__), "orthogonal_gradients.py"))
  # The cells' depth overrides land on the balanced model (settings are applied first).
  return tutorial._replace(
      settings={**tutorial.settings, "model": balanced_mlp_model().to_dict()},
      title="Study 2b: orthogonal gradients on the balanced MLP GAN")
