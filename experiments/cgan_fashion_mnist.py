"""Class-conditional DCGAN (Mirza & Osindero 2014) on Fashion-MNIST, the demo net otherwise.

G sees [z, onehot(y)]; D sees onehot(y) as ten extra channels of every pixel ("concat").
``--config.model.conditioning=projection`` swaps in the projection discriminator (Miyato &
Koyama 2018). Sample grids put class k in column k; ``ganjax sample --label 7`` draws one class.

  ganjax train --config experiments/cgan_fashion_mnist.py --workdir runs/cgan_fashion_mnist
  ganjax sample --workdir runs/cgan_fashion_mnist --label 7 --num 16 --out sneakers.png
"""

import os

from ganjax.config import load


def get_config():
  c = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dcgan_fashion_mnist.py"))
  c.model.num_classes = 10
  c.model.conditioning = "concat"
  c.num_sample_images = 100
  return c
