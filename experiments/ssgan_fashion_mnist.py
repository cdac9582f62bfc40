"""Semi-supervised GAN (Salimans et al. 2016, §5) on Fashion-MNIST with 10 labels per class.

D is the demo discriminator with a 10-way head; its logits l(x) give the classifier and,
through logsumexp(l), the real/fake logit (the fake class's logit is fixed at 0). D learns
from all 60,000 images without labels, from generated images, and from the class
cross-entropy on 100 labelled images (batches of 64 drawn from them each step). G is
trained by feature matching on D's last features only (``loss.g_adversarial = 0``), as in
the paper. ``test_accuracy`` (D as a classifier on the 10,000 test images) is logged at
every sample step.

Salimans et al.'s MNIST D also adds Gaussian noise (σ 0.3 on the input, 0.5 on every hidden
layer's output): ``--config.model.discriminator.input_noise_std=0.3
--config.model.discriminator.noise_std=0.5`` does it here. ``ssgan_mlp_fashion_mnist.py``
is their whole MNIST recipe (MLP networks, weight normalisation, Adam 3e-3).
The supervised-only baseline — the same classifier on the same 100 labels, nothing else:
``--config.loss.d_adversarial=0``.

  ganjax train --config experiments/ssgan_fashion_mnist.py --workdir runs/ssgan
  ganjax train --config experiments/ssgan_fashion_mnist.py --workdir runs/ssgan_baseline \\
      --config.loss.d_adversarial=0
"""

import os

from ganjax.config import load


def get_config():
  c = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dcgan_fashion_mnist.py"))
  c.model.semi_supervised_classes = 10
  c.data.labels_per_class = 10
  c.data.labeled_batch_size = 64
  c.loss.g_adversarial = 0.0
  c.loss.feature_matching = 1.0
  c.model.discriminator.dropout = 0.3  # Salimans et al. regularise D heavily with dropout
  return c
