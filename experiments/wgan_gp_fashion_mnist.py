"""WGAN-GP (Gulrajani et al. 2017) on the demo DCGAN, Fashion-MNIST.

Critic loss E[D(G(z))] − E[D(x)] + λ·E[(‖∇D(x̂)‖₂ − 1)²] on random interpolates x̂, λ = 10;
5 critic updates per generator update; Adam 1e-4, β = (0, 0.9) — the paper's Algorithm 1.
The critic has no batch norm (the penalty is per example) and no dropout.

  ganjax train --config experiments/wgan_gp_fashion_mnist.py --workdir runs/wgan_gp_fashion_mnist
"""

import os

from ganjax.config import load, optimizer_config


def get_config():
  c = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dcgan_fashion_mnist.py"))
  c.loss.name = "wasserstein"
  c.loss.gradient_penalty = 10.0
  c.n_critic = 5
  for player in ("g", "d"):
    c.optimizer[player] = optimizer_config("adam", 1e-4, b1=0.0, b2=0.9)
  return c
