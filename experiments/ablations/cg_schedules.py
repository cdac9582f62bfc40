"""Study 1c: conjugate gradient with diminishing step sizes and separate G and D learning rates.

Naganuma & Iiduka (2023) prove convergence for constant and diminishing learning rates and
set the generator's and the discriminator's apart; study 1 used one constant rate for both.
Here CG-FR on the demo DCGAN under a constant rate and under αₜ = α/√(1 + t)
(``schedule="inverse_sqrt"``), each with 8 (G, D) learning-rate pairs drawn independently and
log-uniformly over 2e-3 … 2e-1 (the same pairs for both schedules), 3 seeds. Divergence
stops a run and counts at the study's worst FID. The report gives each schedule's FID over
its pairs, its expected best against the number of pairs tried, and FID during training.

Budget: 1000 steps at batch 64 per run, FID on 5000 samples; 2 schedules × 8 pairs × 3 seeds
= 48 runs.
  ganjax sweep --config experiments/ablations/cg_schedules.py --workdir runs/ablations/cg_schedules
"""

from cg_vs_adam_search import budgeted  # this directory is on sys.path while a config loads

from ganjax.config import optimizer_config
from ganjax.search import log_uniform, random_search
from ganjax.sweep import choice, product


def get_config():
  schedules = choice("schedule", {
      name: {"optimizer.g": optimizer_config("cg", 2e-2, beta="fr", schedule=name).to_dict(),
             "optimizer.d": optimizer_config("cg", 2e-2, beta="fr", schedule=name).to_dict()}
      for name in ("constant", "inverse_sqrt")})
  pairs = random_search(8, seed=0,
                        g_lr=log_uniform(2e-3, 2e-1, "optimizer.g.learning_rate"),
                        d_lr=log_uniform(2e-3, 2e-1, "optimizer.d.learning_rate"))
  return budgeted(product(schedules, pairs), "schedule",
                  "Study 1c: CG-FR, constant vs diminishing step sizes, separate G and D rates")
