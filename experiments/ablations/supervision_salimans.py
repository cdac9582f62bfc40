"""Study 4a with Salimans et al. 2016's MNIST recipe: semi-supervised GAN vs supervised only.

``ssgan_mlp_fashion_mnist.py`` (weight-normalised MLP D with Gaussian noise, feature
matching, Adam 3e-3 decayed to 0, 15,000 steps) against the same D trained on the same 100
labels alone (``loss.d_adversarial = 0``), 3 seeds. The metric is D's accuracy on the 10,000
test images; the goal is +10 points for the GAN.

Budget: 2 cells × 3 seeds of the config's 15,000 steps (wall times: docs/findings.md).
  ganjax sweep --config experiments/ablations/supervision_salimans.py \\
      --workdir runs/ablations/supervision_salimans
"""

from ganjax.sweep import Sweep, choice


def get_config():
  method = choice("method", {"semi_supervised_gan": {},
                             "supervised_only": {"loss.d_adversarial": 0.0}})
  return Sweep(base="../ssgan_mlp_fashion_mnist.py", cells=method, seeds=(0, 1, 2),
               metrics=("test_accuracy", "fid"), eval_num_samples=5000,
               primary="test_accuracy", baseline={"method": "supervised_only"},
               title="Study 4a (Salimans et al.'s recipe): semi-supervised GAN vs "
                     "supervised-only classifier, 100 labels")
