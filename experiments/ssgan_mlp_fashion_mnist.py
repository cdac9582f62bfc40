"""Semi-supervised GAN with Salimans et al. 2016's MNIST networks, on Fashion-MNIST.

The recipe of their §5 MNIST experiment, where ``ssgan_fashion_mnist.py`` keeps the demo
DCGAN: D is an MLP 784 → 1000 → 500 → 250 → 250 → 250 with ReLU, weight normalisation in
every layer (Salimans & Kingma 2016) and Gaussian noise (σ 0.3 on the image, 0.5 on every
hidden layer's output) with a 10-way head whose logsumexp is the real/fake logit; as in their
code, D's weight-normalised layers start from a data-dependent initialisation on 500 training
images and the hidden layers' lengths g stay fixed at those values (only the output layer
learns its g). G is an MLP 100 → 500 → 500 → 784 (sigmoid) and learns by feature matching on
D's last hidden layer. Adam 3e-3, β1 0.5, decayed linearly to 0; 100 unlabelled, 100
labelled (the 10 per class, every step) and 100 generated images per step. They train 300
epochs; here 15,000 steps (25 epochs). ``test_accuracy``
is D's on the 10,000 test images: 77.4 % ± 2.2 over seeds 0-2 against 71.5 % ± 2.2 for the
supervised-only baseline (study 4a, ``ablations/supervision_salimans.py``).

Measured on the way (seed 0, 15,000 steps): before the fixed lengths and the
initialisation, 76.2 % ± 1.2 over 3 seeds (70.8 % baseline); the initialisation alone 76.8 %
against 76.2 %; with both 78.2 %. docs/findings.md (4a) lists, with their options and numbers,
the changes tried after that and not adopted (their constant learning rate, their Adam,
G on a batch of its own, entropy minimisation, manifold and consistency penalties, …).

  ganjax train --config experiments/ssgan_mlp_fashion_mnist.py --workdir runs/ssgan_mlp
  # the supervised-only baseline: the same D on the same 100 labels, nothing else
  ganjax train --config experiments/ssgan_mlp_fashion_mnist.py --workdir runs/ssgan_mlp_sup \\
      --config.loss.d_adversarial=0
"""

import os

from ganjax.config import load, mlp_model, optimizer_config


def get_config():
  c = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ssgan_fashion_mnist.py"))
  c.model = mlp_model(hidden=(500, 500), d_hidden=(1000, 500, 250, 250, 250))
  c.model.semi_supervised_classes = 10
  c.model.discriminator.update(hidden_activation="relu", weight_norm=True,
                               weight_norm_learn_scale=False, input_noise_std=0.3,
                               noise_std=0.5)
  c.model.data_init_images = 500
  for player in ("g", "d"):
    c.optimizer[player] = optimizer_config("adam", 3e-3, b1=0.5, schedule="linear")
  c.batch_size = 100
  c.data.labeled_batch_size = 100
  c.total_steps = 15000
  c.log_every = 500
  c.sample_every = 1500
  c.ckpt_every = 1500
  return c
