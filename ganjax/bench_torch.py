"""The PyTorch eager reference for ``ganjax bench --compare torch`` (``pip install '.[bench]'``).

The same 28×28 DCGAN as ``ganjax.bench.model_config("dcgan")``: G Dense 100 → 7·7·256
(no bias) → BN → LeakyReLU(0.2) → ConvT 128 5×5 s1 → BN → LReLU → ConvT 64 5×5 s2 → BN →
LReLU → ConvT 1 5×5 s2 → tanh; D conv 64 5×5 s2 → LReLU → dropout 0.3 → conv 128 5×5 s2 →
LReLU → dropout 0.3 → dense 1. Non-saturating BCE, Adam 2e-4 β1 0.5 for both. One step is
the PyTorch DCGAN example's: one G forward; a D update on real and detached fake; a G
update through D on the same fake.

It runs where JAX runs: on the GPU (``torch.cuda``, cuDNN autotuning on, each step ending in a
``torch.cuda.synchronize()`` as each ganjax step ends in ``block_until_ready``) when JAX's
default backend is a GPU, else on the CPU with every core. Both use their defaults for
float32 convolutions (on Ampere and newer GPUs both let cuDNN/XLA use TF32).
"""

import os

from ganjax.timing import median_seconds
from ganjax.errors import UserError


def _models(torch):
  nn = torch.nn

  def up(cin, cout, stride, last=False):
    layers = [nn.ConvTranspose2d(cin, cout, 5, stride, 2, output_padding=stride - 1,
                                 bias=last)]
    return layers + ([nn.Tanh()] if last else [nn.BatchNorm2d(cout), nn.LeakyReLU(0.2)])

  generator = nn.Sequential(
      nn.Linear(100, 7 * 7 * 256, bias=False), nn.BatchNorm1d(7 * 7 * 256), nn.LeakyReLU(0.2),
      nn.Unflatten(1, (256, 7, 7)), *up(256, 128, 1), *up(128, 64, 2), *up(64, 1, 2, last=True))
  discriminator = nn.Sequential(
      nn.Conv2d(1, 64, 5, 2, 2), nn.LeakyReLU(0.2), nn.Dropout(0.3),
      nn.Conv2d(64, 128, 5, 2, 2), nn.LeakyReLU(0.2), nn.Dropout(0.3),
      nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
  return generator, discriminator


def bench_dcgan_step(batch: int = 128, steps: int = 20, repeats: int = 3,
                     backend: str = "cpu") -> dict:
  """PyTorch eager images/s of the DCGAN step, median of ``repeats`` blocks of ``steps``,
  on the GPU when ``backend`` (JAX's) is ``"gpu"``, else on the CPU."""
  try:
    import torch
  except ImportError:
    raise UserError("--compare torch needs PyTorch: pip install '.[bench]' (or torch)") from None
  if backend == "gpu" and not torch.cuda.is_available():
    raise UserError("JAX runs on a GPU but this PyTorch has no CUDA: the comparison would "
                    "not be on the same device")
  if backend not in ("cpu", "gpu"):
    raise UserError(f"--compare torch runs on CPU or GPU, not on JAX's {backend!r} backend")
  device = torch.device("cuda" if backend == "gpu" else "cpu")
  torch.manual_seed(0)
  torch.set_num_threads(os.cpu_count())
  torch.backends.cudnn.benchmark = True
  generator, discriminator = (m.to(device) for m in _models(torch))
  g_opt = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.999))
  d_opt = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
  bce = torch.nn.BCEWithLogitsLoss()
  real = torch.rand(batch, 1, 28, 28, device=device) * 2 - 1
  ones = torch.ones(batch, 1, device=device)
  zeros = torch.zeros(batch, 1, device=device)
  sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

  def step():
    fake = generator(torch.randn(batch, 100, device=device))
    d_opt.zero_grad(set_to_none=True)
    d_loss = bce(discriminator(real), ones) + bce(discriminator(fake.detach()), zeros)
    d_loss.backward()
    d_opt.step()
    g_opt.zero_grad(set_to_none=True)
    g_loss = bce(discriminator(fake), ones)
    g_loss.backward()
    g_opt.step()
    sync()

  for _ in range(3):
    step()
  seconds = median_seconds(step, steps, repeats)
  return {"name": "dcgan_step_torch", "images_per_s": round(batch / seconds, 1),
          "ms_per_step": round(1e3 * seconds, 2), "batch": batch, "torch": torch.__version__,
          "device": str(device), "threads": torch.get_num_threads()}
