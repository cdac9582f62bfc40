"""DCGAN on Fashion-MNIST (the demo): TensorFlow's DCGAN tutorial shapes at half width.

G: Dense 7·7·128 → 64 (s1) → 32 (s2) → 1 (s2), BN + LeakyReLU, tanh, sub-pixel upsampling;
D: conv 32 s2 → conv 64 s2 → logit, LeakyReLU, no dropout. 4×4 kernels, batch 64, Adam 2e-4
β1 0.5, 3000 steps (3.2 epochs); README.md gives the measured wall time.

Why this and not the tutorial's full width and batch 256: on a few CPU cores a GAN needs
steps more than width. For the first few hundred steps every DCGAN draws near-identical
blobs and diversity arrives after ~1000 steps, so a step several times cheaper than the
tutorial's (half width, 4×4 kernels, batch 64) buys the samples. Dropping D's dropout
sharpened the 3000-step samples. ``dcgan_mnist.py`` keeps the tutorial's full-size net.

  ganjax train --config experiments/dcgan_fashion_mnist.py --workdir runs/dcgan_fashion_mnist
"""

from ganjax.config import base_config, dcgan28_model


def get_config():
  c = base_config()
  c.data.name = "fashion_mnist"
  c.model = dcgan28_model(width=32, kernel_size=4)
  c.model.discriminator.dropout = 0.0
  c.batch_size = 64
  c.total_steps = 3000
  c.sample_every = 500
  c.ckpt_every = 1000
  return c
