"""BigGAN-lite on ImageNet 32×32 (TFDS ``imagenet_resized/32x32``, 1000 classes).

``biggan_cifar10.py`` with 1000 classes, a wider D (ch 256) and EMA from the start. For
64×64, one more up-block in G follows from the image size, and D downsamples once more:

  ganjax train --config experiments/biggan_imagenet32.py --workdir runs/biggan_imagenet32
  ganjax train --config experiments/biggan_imagenet32.py --workdir runs/biggan_imagenet64 \\
      --config.data.name=imagenet_resized/64x64 \\
      --config.model.discriminator.downsample='(True, True, True, False, False)'

TFDS downloads and prepares ``imagenet_resized`` (Chrabaszcz et al. 2017's box-resized
ImageNet, 1,281,167 train images) once on a machine with internet (``pip install '.[tf]'``,
``--config.data.download=true``); its labels are that paper's, not ILSVRC's ids. It has no
test split: evaluation compares against the train split.
"""

import os

from ganjax.config import load


def get_config():
  c = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "biggan_cifar10.py"))
  c.data.name = "imagenet_resized/32x32"
  c.model.num_classes = 1000
  c.model.discriminator.channels = 256
  c.num_sample_images = 64
  return c
