"""DCGAN on MNIST digits (IDX files from $GANJAX_MNIST_DIR, else TFDS ``mnist``).

  ganjax train --config experiments/dcgan_mnist.py --workdir runs/dcgan_mnist
"""

from ganjax.config import base_config, dcgan28_model


def get_config():
  c = base_config()
  c.data.name = "mnist"
  c.model = dcgan28_model()
  c.total_steps = 2000
  c.sample_every = 250
  return c
