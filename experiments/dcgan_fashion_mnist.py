"""DCGAN on Fashion-MNIST (the demo): TensorFlow's DCGAN tutorial shapes, sub-pixel upsampling.

  ganjax train --config experiments/dcgan_fashion_mnist.py --workdir runs/dcgan_fashion_mnist
"""

from ganjax.config import base_config, dcgan28_model


def get_config():
  c = base_config()
  c.data.name = "fashion_mnist"
  c.model = dcgan28_model()
  c.total_steps = 400
  c.sample_every = 100
  c.ckpt_every = 200
  return c
