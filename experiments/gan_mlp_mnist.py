"""The classic fully connected GAN on MNIST (Goodfellow et al. 2014 / the MNIST tutorials).

G: 100 → 128 → 128 → 100 → 784 (ReLU, sigmoid output, images in [0, 1]);
D: 784 → 128 → 128 → 1 (LeakyReLU). Adam 2e-4, β1 = 0.5 for both. This is the reference
setup for the orthogonal-gradient study.

  ganjax train --config experiments/gan_mlp_mnist.py --workdir runs/gan_mlp_mnist
"""

from ganjax.config import base_config, mlp_model, optimizer_config


def get_config():
  c = base_config()
  c.data.name = "mnist"
  c.model = mlp_model()
  c.loss.name = "non_saturating"
  c.optimizer.g = optimizer_config("adam", 2e-4, b1=0.5)
  c.optimizer.d = optimizer_config("adam", 2e-4, b1=0.5)
  c.batch_size = 64
  c.total_steps = 10000
  c.log_every = 100
  c.sample_every = 1000
  c.ckpt_every = 1000
  return c
