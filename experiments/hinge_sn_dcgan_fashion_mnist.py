"""Hinge loss + spectrally normalised discriminator (Miyato et al. 2018) on the demo DCGAN.

D: the demo discriminator with every layer spectrally normalised (power-iteration vectors in
the GAN state); hinge loss E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))], G: −E[D(G(z))].
Two time scales (Heusel et al. 2017): D learns at 4e-4, G at 1e-4 (Adam β = (0, 0.9), as in
SAGAN); samples and evaluation use an EMA of the generator (decay 0.999).

  ganjax train --config experiments/hinge_sn_dcgan_fashion_mnist.py --workdir runs/hinge_sn
"""

import os

from ganjax.config import load, optimizer_config


def get_config():
  c = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dcgan_fashion_mnist.py"))
  c.loss.name = "hinge"
  c.model.discriminator.spectral_norm = True
  c.optimizer.g = optimizer_config("adam", 1e-4, b1=0.0, b2=0.9)
  c.optimizer.d = optimizer_config("adam", 4e-4, b1=0.0, b2=0.9)
  c.ema_decay = 0.999
  return c
