"""Study 5: how much does convolution buy? The MLP GAN vs the DCGAN at equal steps and time.

The demo DCGAN (3000 steps) against two MLP GANs with the same loss, Adam 2e-4 β1 0.5,
batch 64 and Fashion-MNIST: the MNIST tutorials' recipe (``mlp_model``: ReLU G, sigmoid
output, no dropout), and the balanced one (``balanced_mlp_model``: LeakyReLU G, tanh output,
dropout 0.3 in D; same widths). Each MLP runs the same 3000 steps, and the same wall time.
On this 2-core CPU one MLP step is ~36× cheaper than a DCGAN step (17,700 vs 480 images/s in
one measurement, ``images_per_s`` in each run's metrics), so equal time is 108,000 MLP
steps; the report's "train s/run" column shows how equal the wall times came out. On other
hardware the ratio differs: override the cell's steps or read the wall-time column.

Budget: 5 cells × 3 seeds, FID on 5000 samples (wall times: docs/findings.md).
  ganjax sweep --config experiments/ablations/mlp_vs_dcgan.py --workdir runs/ablations/mlp_vs_dcgan
"""

from ganjax.config import balanced_mlp_model, mlp_model
from ganjax.sweep import Sweep, choice

MLP_STEPS_PER_DCGAN_STEP = 36
DCGAN_STEPS = 3000


def _mlp_cells(prefix: str, model) -> dict:
  mlp = {"model": model.to_dict()}
  equal_time = DCGAN_STEPS * MLP_STEPS_PER_DCGAN_STEP
  return {f"{prefix}_equal_steps": mlp,
          f"{prefix}_equal_time": dict(mlp, total_steps=equal_time, log_every=1000,
                                       sample_every=equal_time // 6, ckpt_every=equal_time // 6)}


def get_config():
  cells = choice("model", {"dcgan": {}, **_mlp_cells("mlp", mlp_model()),
                           **_mlp_cells("balanced_mlp", balanced_mlp_model())})
  return Sweep(base="../dcgan_fashion_mnist.py", cells=cells, seeds=(0, 1, 2),
               settings={"total_steps": DCGAN_STEPS}, metrics=("fid", "sharpness_fake"),
               eval_num_samples=5000, primary="fid", baseline={"model": "dcgan"},
               title="Study 5: MLP GAN vs DCGAN")
