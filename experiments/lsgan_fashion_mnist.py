"""Least-squares GAN (Mao et al. 2017) on the demo DCGAN, Fashion-MNIST.

D minimises ½E[(D(x) − 1)²] + ½E[D(G(z))²], G minimises ½E[(D(G(z)) − 1)²] (targets a = 0,
b = c = 1); Adam 2e-4, β1 = 0.5 as in the paper. Everything else is the demo.

  ganjax train --config experiments/lsgan_fashion_mnist.py --workdir runs/lsgan_fashion_mnist
"""

import os

from ganjax.config import load


def get_config():
  c = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dcgan_fashion_mnist.py"))
  c.loss.name = "least_squares"
  return c
