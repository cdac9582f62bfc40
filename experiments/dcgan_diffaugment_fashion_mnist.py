"""The demo DCGAN on Fashion-MNIST with DiffAugment (Zhao et al. 2020) and x-flipped data.

Every image D sees in training, real or generated, in both players' updates, is T(x) with
color, translation (⅛ of the size) and cutout (½) drawn per image (``ganjax.augment``); G
learns through T. DiffAugment is meant for limited data, where D otherwise memorises the
real set; this config trains on the whole train split, everything else as the demo.

  ganjax train --config experiments/dcgan_diffaugment_fashion_mnist.py \\
      --workdir runs/dcgan_diffaugment_fashion_mnist
"""

import os

from ganjax.config import load


def get_config():
  c = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dcgan_fashion_mnist.py"))
  c.augment.policy = "color,translation,cutout"
  c.data.xflip = True
  return c
