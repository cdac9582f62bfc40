"""SNGAN (Miyato et al. 2018): ResNet G and spectrally normalised ResNet D on CIFAR-10 32×32.

The paper's CIFAR-10 ResNet setting (Table 4, setting with hinge loss): G 4.3 M parameters
(ch 256, three up-blocks from 4×4), D 1.1 M (ch 128, SN in every layer), hinge loss,
n_critic 5, Adam 2e-4 with β = (0, 0.9), batch 64, z ~ N(0, I₁₂₈), 50,000 generator steps,
linear learning-rate decay. That is a GPU job;
``--config.total_steps`` and ``--config.batch_size`` scale it down.

CIFAR-10 comes from TFDS: prepare it once with internet (``pip install '.[tf]'``, then add
``--config.data.download=true``), afterwards it is read offline.

  ganjax train --config experiments/sngan_cifar10.py --workdir runs/sngan_cifar10
"""

import ml_collections

from ganjax.config import base_config, model_keys, optimizer_config


def get_config():
  c = base_config()
  c.data.name = "cifar10"
  c.model = ml_collections.ConfigDict(dict(
      name="resnet", **model_keys(),
      generator=dict(start_size=4, channels=256, spectral_norm=False, embed_dim=128),
      discriminator=dict(channels=128, downsample=(True, True, False, False),
                         spectral_norm=True)))
  c.loss.name = "hinge"
  c.latent_dim = 128
  c.n_critic = 5
  c.batch_size = 64
  c.total_steps = 50000
  for player in ("g", "d"):
    c.optimizer[player] = optimizer_config("adam", 2e-4, b1=0.0, b2=0.9, schedule="linear")
  c.log_every = 100
  c.sample_every = 2500
  c.ckpt_every = 2500
  return c
