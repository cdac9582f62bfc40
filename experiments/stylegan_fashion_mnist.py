"""A style-based generator (StyleGAN2-lite, ``ganjax.models.style``) on Fashion-MNIST.

G: z (128) → 4-layer mapping network → w (128); a learned 7×7×128 constant, modulated and
demodulated 3×3 convolutions with noise inputs at 7×7 (128), 14×14 (64) and 28×28 (32),
skip to-image outputs, tanh. D: the demo discriminator. Non-saturating loss with an R1
penalty on real images (γ = 1; StyleGAN's regulariser, Mescheder et al. 2018), Adam 2e-4
β = (0, 0.99) as in StyleGAN2, batch 64, EMA of G (0.999) for samples, 3000 steps.

  ganjax train --config experiments/stylegan_fashion_mnist.py --workdir runs/stylegan
"""

import os

import ml_collections

from ganjax.config import load, model_keys, optimizer_config


def get_config():
  c = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dcgan_fashion_mnist.py"))
  discriminator = c.model.discriminator
  c.model = ml_collections.ConfigDict(dict(
      name="style", **model_keys(),
      generator=dict(start_size=7, channels=(128, 64, 32), w_dim=128, mapping_layers=4),
      discriminator=discriminator))
  c.latent_dim = 128
  c.loss.r1 = 1.0
  c.ema_decay = 0.999
  for player in ("g", "d"):
    c.optimizer[player] = optimizer_config("adam", 2e-4, b1=0.0, b2=0.99)
  return c
