"""The demo DCGAN on Fashion-MNIST, both players trained by conjugate gradient (CG-FR).

After Naganuma & Iiduka (AISTATS 2023): d_t = −g_t + β_t d_{t−1} per tensor, with the
Fletcher–Reeves β clipped at 0.5 and a constant step (``ganjax.optim.conjugate``). CG steps
are SGD-sized, so the learning rate is far above Adam's. Try another β or rate with
``--config.optimizer.g.beta=hs_dy`` or ``--config.optimizer.d.learning_rate=0.05``:

  ganjax train --config experiments/dcgan_cg.py --workdir runs/dcgan_cg
"""

import os

from ganjax.config import load, optimizer_config


def get_config():
  c = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dcgan_fashion_mnist.py"))
  for player in ("g", "d"):
    c.optimizer[player] = optimizer_config("cg", 0.02, beta="fr", beta_max=0.5, beta_scale=1.0)
  c.log_layer_norms = True
  return c
