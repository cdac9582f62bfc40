"""The classic MLP GAN on MNIST, both players trained with the orthogonal-gradient transform.

Same networks, loss and batch as ``gan_mlp_mnist.py``; only the optimizer differs: momentum
0.95 (Nesterov), then each weight matrix's update replaced by its polar factor (5 quintic
Newton–Schulz steps, ``ganjax.optim.orthogonal``); biases use Adam. Per-layer gradient and
update norms are logged, to compare against the Adam baseline:

  ganjax train --config experiments/gan_mlp_mnist_orthogonal.py --workdir runs/mlp_orthogonal
  ganjax train --config experiments/gan_mlp_mnist.py --workdir runs/mlp_adam \\
      --config.log_layer_norms=true
"""

import os

from ganjax.config import load, optimizer_config


def get_config():
  c = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gan_mlp_mnist.py"))
  for player in ("g", "d"):
    c.optimizer[player] = optimizer_config("orthogonal", 5e-3, mode="polar", momentum=0.95,
                                           nesterov=True, b1=0.9)
  c.log_layer_norms = True
  return c
