"""DCGAN on Fashion-MNIST (the demo): TensorFlow's DCGAN tutorial shapes, sub-pixel upsampling.

  ganjax train --config experiments/dcgan_fashion_mnist.py --workdir runs/dcgan_fashion_mnist
"""

from ganjax.config import base_config


def get_config():
  c = base_config()
  c.data.name = "fashion_mnist"
  c.model.name = "dcgan"
  c.model.generator = dict(upsample="subpixel", kernel_size=5, activation="leaky_relu",
                           batch_norm=True, dropout=0.0)
  c.model.discriminator = dict(kernel_size=5, batch_norm=False, dropout=0.3)
  c.loss.name = "non_saturating"
  c.batch_size = 128
  c.total_steps = 400
  c.log_every = 50
  c.sample_every = 100
  c.ckpt_every = 200
  return c
