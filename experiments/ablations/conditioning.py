"""Study 4b: how much do labels buy a generator? Unconditional vs class-conditional GANs.

The demo DCGAN on Fashion-MNIST unconditional, and with the label given to G and D by
concatenation (``cgan_fashion_mnist.py``), by a projection discriminator (Miyato & Koyama
2018), or through an auxiliary classifier (AC-GAN, ``acgan_fashion_mnist.py``). FID and
recall on 5000 samples; a conditional generator is evaluated on classes 0, 1, …, 9 in turn.

Budget: 2000 steps at batch 64; 4 cells × 3 seeds (wall times: docs/findings.md).
  ganjax sweep --config experiments/ablations/conditioning.py --workdir runs/ablations/conditioning
"""

from ganjax.sweep import Sweep, choice


def _conditional(how: str) -> dict:
  return {"model.num_classes": 10, "model.conditioning": how}


def get_config():
  cells = choice("conditioning", {"none": {}, "concat": _conditional("concat"),
                                  "projection": _conditional("projection"),
                                  "acgan": _conditional("acgan")})
  return Sweep(base="../dcgan_fashion_mnist.py", cells=cells, seeds=(0, 1, 2),
               settings={"total_steps": 2000, "sample_every": 500, "ckpt_every": 500},
               metrics=("fid", "recall", "classes_generated"), eval_num_samples=5000,
               primary="fid", baseline={"conditioning": "none"},
               title="Study 4b: unconditional vs conditional GANs")
