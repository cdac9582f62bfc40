"""WGAN with weight clipping (Arjovsky et al. 2017) on the demo DCGAN, Fashion-MNIST.

The paper's Algorithm 1: critic loss E[D(G(z))] − E[D(x)], every critic parameter clipped to
[−0.01, 0.01] after each update, 5 critic updates per generator update, RMSprop at 5e-5 for
both. The critic is the demo discriminator (no batch norm, no dropout); its output is an
unbounded score. ``d_loss`` is minus the critic's estimate of the Wasserstein-1 distance.

  ganjax train --config experiments/wgan_fashion_mnist.py --workdir runs/wgan_fashion_mnist
"""

import os

from ganjax.config import load, optimizer_config


def get_config():
  c = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dcgan_fashion_mnist.py"))
  c.loss.name = "wasserstein"
  c.loss.weight_clip = 0.01
  c.n_critic = 5
  for player in ("g", "d"):
    c.optimizer[player] = optimizer_config("rmsprop", 5e-5, decay=0.9)
  return c
