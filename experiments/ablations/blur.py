"""Study 3: what actually reduces blur?

Starting from the demo DCGAN on Fashion-MNIST (non-saturating BCE, batch norm in G, no
dropout), one change per cell: G's perceptual loss on the evaluation feature net
(``loss.perceptual``, feature matching against real images) or on an independent network
(``loss.perceptual_net="independent"``: FID's network is not the one the loss optimises),
dropout 0.3 in D (the TF
tutorial's), no batch norm in G, WGAN-GP, LSGAN, and the MLP GAN in place of the DCGAN (the
balanced recipe, ``balanced_mlp_model``: the tutorial's collapses to noise, which says nothing
about blur).
Blur is measured by ``sharpness_fake`` (mean Laplacian energy of the samples; the real test
images' value is the ``sharpness_real`` column) next to FID.

Equal budgets: 1000 discriminator updates per run (WGAN-GP: 200 generator steps × 5 critic
updates; the others 1000 × 1), batch 64, FID on 5000 samples; 8 cells × 3 seeds, most of the
time in WGAN-GP's double backpropagation (wall times: docs/findings.md).
  ganjax sweep --config experiments/ablations/blur.py --workdir runs/ablations/blur
"""

from ganjax.config import balanced_mlp_model, optimizer_config
from ganjax.sweep import Sweep, choice

def get_config():
  wgan_gp = optimizer_config("adam", 1e-4, b1=0.0, b2=0.9).to_dict()
  cells = choice("change", {
      "none": {},
      "perceptual": {"loss.perceptual": 1.0},
      # the same loss in a network FID does not use: is the FID gain teaching to the test?
      "perceptual_independent": {"loss.perceptual": 1.0, "loss.perceptual_net": "independent"},
      "d_dropout": {"model.discriminator.dropout": 0.3},
      "no_g_batch_norm": {"model.generator.batch_norm": False},
      "wgan_gp": {"loss.name": "wasserstein", "loss.gradient_penalty": 10.0, "n_critic": 5,
                  "total_steps": 200, "optimizer.g": wgan_gp, "optimizer.d": wgan_gp},
      "lsgan": {"loss.name": "least_squares"},
      "mlp": {"model": balanced_mlp_model().to_dict()},
  })
  return Sweep(base="../dcgan_fashion_mnist.py", cells=cells, seeds=(0, 1, 2),
               settings={"total_steps": 1000, "sample_every": 500, "ckpt_every": 500},
               metrics=("sharpness_fake", "fid"), eval_num_samples=5000,
               primary="sharpness_fake", baseline={"change": "none"},
               title="Study 3: what reduces blur")
