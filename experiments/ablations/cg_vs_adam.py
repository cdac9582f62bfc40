"""Study 1: does conjugate-gradient training make a GAN more robust to the learning rate?

Naganuma & Iiduka (AISTATS 2023) report the spread of FID over learning rates on CIFAR-10:
Adam 51.2 ± 33.7 against CG-FR 29.6 ± 2.3. Here: the demo DCGAN on Fashion-MNIST trained by
Adam, RMSprop, SGD, momentum and conjugate gradient with every β of ``ganjax.optim.conjugate``
(FR, PRP, HS, DY, HZ and the hybrids FR–PRP, HS–DY), each at its usual learning rate × 1/4,
1 and 4 (a 16× range), both players alike, 3 seeds. Robustness is the spread of FID across
the multipliers (the report's "across lr_multiplier" table).

Budget: 1000 steps at batch 64 per run, FID on 5000 samples; 33 cells × 3 seeds (wall
times: docs/findings.md). On a GPU, scale with --config.total_steps / --config.batch_size.
  ganjax sweep --config experiments/ablations/cg_vs_adam.py --workdir runs/ablations/cg_vs_adam
"""

from ganjax.config import optimizer_config
from ganjax.optim.conjugate import BETAS
from ganjax.sweep import Cell, Sweep

# Each optimizer's usual learning rate for this DCGAN: Adam's from DCGAN (Radford et al.);
# CG and SGD take SGD-sized steps (experiments/dcgan_cg.py); momentum 0.9 takes 1/10 of that.
CENTRES = {"adam": optimizer_config("adam", 2e-4, b1=0.5),
           "rmsprop": optimizer_config("rmsprop", 2e-4),
           "sgd": optimizer_config("sgd", 2e-2),
           "momentum": optimizer_config("momentum", 2e-3, momentum=0.9),
           **{f"cg_{beta}": optimizer_config("cg", 2e-2, beta=beta) for beta in BETAS}}
MULTIPLIERS = (0.25, 1.0, 4.0)


def get_config():
  cells = []
  for label, centre in CENTRES.items():
    for multiplier in MULTIPLIERS:
      optimizer = centre.to_dict()
      optimizer["learning_rate"] = centre.learning_rate * multiplier
      cells.append(Cell({"optimizer": label, "lr_multiplier": multiplier},
                        {"optimizer.g": optimizer, "optimizer.d": optimizer}))
  return Sweep(base="../dcgan_fashion_mnist.py", cells=cells, seeds=(0, 1, 2),
               settings={"total_steps": 1000, "sample_every": 500, "ckpt_every": 500},
               metrics=("fid", "precision", "recall"), eval_num_samples=5000,
               primary="fid", baseline={"optimizer": "adam"},
               title="Study 1: conjugate gradient vs the usual optimizers, across learning rates")
