"""DCGAN on MNIST digits (IDX files from $GANJAX_MNIST_DIR, else TFDS ``mnist``).

  ganjax train --config experiments/dcgan_mnist.py --workdir runs/dcgan_mnist
"""

from ganjax.config import base_config


def get_config():
  c = base_config()
  c.data.name = "mnist"
  c.model.name = "dcgan"
  c.model.generator = dict(upsample="subpixel", kernel_size=5, activation="leaky_relu",
                           batch_norm=True, dropout=0.0)
  c.model.discriminator = dict(kernel_size=5, batch_norm=False, dropout=0.3)
  c.loss.name = "non_saturating"
  c.total_steps = 2000
  c.sample_every = 250
  return c
