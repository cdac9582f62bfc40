"""BigGAN-lite (Brock et al. 2019) on CIFAR-10 32×32, class-conditional.

The SNGAN ResNets (``ganjax.models.resnet``) with BigGAN's conditioning: a shared class
embedding (128) concatenated with z drives every batch norm's gain and bias in G
(class-conditional BN), a projection discriminator (Miyato & Koyama 2018), spectral norm in
G and D, orthogonal regularisation β = 1e-4 on G, hinge loss, n_critic 4, Adam 2e-4 for both
with β = (0, 0.999), batch 64, and an EMA of G (0.9999) for samples and evaluation — the
settings of BigGAN-PyTorch's CIFAR script. Not included: hierarchical latents, self-attention.
Sample grids put class k in column k. A GPU job; scale down with ``--config.total_steps``.

  ganjax train --config experiments/biggan_cifar10.py --workdir runs/biggan_cifar10
"""

import ml_collections

from ganjax.config import base_config, model_keys, optimizer_config


def get_config():
  c = base_config()
  c.data.name = "cifar10"
  c.model = ml_collections.ConfigDict(dict(
      name="resnet", **model_keys(num_classes=10, conditioning="projection"),
      generator=dict(start_size=4, channels=256, spectral_norm=True, embed_dim=128),
      discriminator=dict(channels=128, downsample=(True, True, False, False),
                         spectral_norm=True)))
  c.loss.name = "hinge"
  c.loss.g_orthogonal_reg = 1e-4
  c.latent_dim = 128
  c.n_critic = 4
  c.batch_size = 64
  c.total_steps = 50000
  c.ema_decay = 0.9999
  for player in ("g", "d"):
    c.optimizer[player] = optimizer_config("adam", 2e-4, b1=0.0, b2=0.999)
  c.num_sample_images = 100
  c.log_every = 100
  c.sample_every = 2500
  c.ckpt_every = 2500
  return c
