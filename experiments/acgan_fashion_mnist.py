"""AC-GAN (Odena et al. 2017) on Fashion-MNIST with the demo net.

G sees [z, onehot(y)]; D does not see y but has a second head that classifies every image.
D minimises the adversarial loss + CE(real images, their labels) + CE(fake images, their
labels); G minimises its adversarial loss + CE(fake images, their labels)
(``config.loss.class_weight`` scales both class terms). ``d_real_class_accuracy`` in
metrics.jsonl is the auxiliary classifier's accuracy on the real batch.

  ganjax train --config experiments/acgan_fashion_mnist.py --workdir runs/acgan_fashion_mnist
"""

import os

from ganjax.config import load


def get_config():
  c = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dcgan_fashion_mnist.py"))
  c.model.num_classes = 10
  c.model.conditioning = "acgan"
  c.num_sample_images = 100
  return c
