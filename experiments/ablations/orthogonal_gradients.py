"""Study 2: does the orthogonal-gradient transform even out gradient norms across layers?

The MLP GAN of the MNIST tutorials (G 100→128→128→100→784, D 784→128→128→1) and a deep
variant (8 hidden layers of 128 in both G and D, where vanishing/exploding gradients should
show), on Fashion-MNIST, trained by Adam or by ``ganjax.optim.orthogonal`` in each mode
(polar, project_weights, project_previous; biases and other vectors use Adam). Per-layer
gradient norms are logged; ``g_grad_norm_spread`` / ``d_grad_norm_spread`` are the mean over
training of log10(largest / smallest layer gradient norm). FID measures what it costs.

Budget: the tutorial's 10,000 steps at batch 64 (at 3000 steps Adam's MLP GAN still scored
FID ≈ 750, noise), FID on 5000 samples; 8 cells × 3 seeds (wall times: docs/findings.md).
  ganjax sweep --config experiments/ablations/orthogonal_gradients.py \\
      --workdir runs/ablations/orthogonal_gradients
"""

from ganjax.config import optimizer_config
from ganjax.sweep import Sweep, choice, product

DEEP = (128,) * 8


def _orthogonal(mode: str, learning_rate: float) -> dict:
  return optimizer_config("orthogonal", learning_rate, mode=mode, momentum=0.95,
                          nesterov=True, b1=0.9).to_dict()


def get_config():
  optimizers = {
      "adam": optimizer_config("adam", 2e-4, b1=0.5).to_dict(),
      # polar steps have unit spectral scale (gan_mlp_mnist_orthogonal.py); the projections
      # keep momentum-SGD scale, so they get the SGD-sized rate of the CG study.
      "polar": _orthogonal("polar", 5e-3),
      "project_weights": _orthogonal("project_weights", 2e-2),
      "project_previous": _orthogonal("project_previous", 2e-2),
  }
  depth = choice("depth", {
      "tutorial": {},
      "deep8": {"model.generator.hidden": DEEP, "model.discriminator.hidden": DEEP}})
  optimizer = choice("optimizer", {k: {"optimizer.g": v, "optimizer.d": v}
                                   for k, v in optimizers.items()})
  return Sweep(base="../gan_mlp_mnist.py", cells=product(depth, optimizer), seeds=(0, 1, 2),
               settings={"data.name": "fashion_mnist", "total_steps": 10000, "log_every": 100,
                         "log_layer_norms": True},
               metrics=("g_grad_norm_spread", "d_grad_norm_spread", "fid"),
               eval_num_samples=5000, x="optimizer", primary="g_grad_norm_spread",
               baseline={"optimizer": "adam"},
               title="Study 2: orthogonal gradients vs vanishing/exploding gradients")
