"""Records the peers' FID-Inception outputs on random weights into tests/data/fid_reference.npz.

  python scripts/fid_reference.py [--out tests/data/fid_reference.npz] [--seed 0]

Run it with a Python that has torch, torchvision, pytorch-fid (0.3.0), torch-fidelity
(0.4.0) and clean-fid (0.1.35); JAX is not needed. It builds pytorch-fid's FID Inception
(``fid_inception_v3`` without its download) and torch-fidelity's extractor, gives both the
random weights of ``tests/fid_weights.py`` (seed ``--seed``), and stores, for a grey 28×28
and an RGB 32×32 batch of random uint8 images: pool3 features and logits in torch-fidelity's
preprocessing (``tf1``) and in pytorch-fid's (``pytorch``), and each peer's resize alone
(``tf1``, ``pytorch``, ``clean``) on every third row and column of the first image.
``tests/test_inception.py`` compares ganjax against these and checks the weights digest.
"""

import argparse
import importlib.util
import os
import tempfile

import numpy as np
import torch
import torch.library
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _import_torchvision():
  """torchvision's PyPI wheel is built for CUDA torch; on CPU torch its detection-op
  registration fails at import. The Inception code needs none of those ops."""
  register_fake = torch.library.register_fake
  torch.library.register_fake = lambda *a, **k: (lambda f: f)
  try:
    import torchvision  # noqa: F401
  finally:
    torch.library.register_fake = register_fake


def _fid_weights():
  spec = importlib.util.spec_from_file_location(
      "fid_weights", os.path.join(ROOT, "tests", "fid_weights.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def pytorch_fid_network(state):
  """pytorch-fid's fid_inception_v3 with ``state`` instead of the downloaded weights, and
  its InceptionV3 feature wrapper (resize, 2x − 1, pool3) around it."""
  from pytorch_fid import inception as pfi
  net = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
  net.Mixed_5b = pfi.FIDInceptionA(192, pool_features=32)
  net.Mixed_5c = pfi.FIDInceptionA(256, pool_features=64)
  net.Mixed_5d = pfi.FIDInceptionA(288, pool_features=64)
  net.Mixed_6b = pfi.FIDInceptionC(768, channels_7x7=128)
  net.Mixed_6c = pfi.FIDInceptionC(768, channels_7x7=160)
  net.Mixed_6d = pfi.FIDInceptionC(768, channels_7x7=160)
  net.Mixed_6e = pfi.FIDInceptionC(768, channels_7x7=192)
  net.Mixed_7b = pfi.FIDInceptionE_1(1280)
  net.Mixed_7c = pfi.FIDInceptionE_2(2048)
  net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
  pfi.fid_inception_v3 = lambda: net  # pytorch-fid's wrapper around our weights, no download
  return net.eval(), pfi.InceptionV3([3]).eval()


def torch_fidelity_network(state, directory):
  from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
  path = os.path.join(directory, "random.pth")
  torch.save({k: torch.from_numpy(v) for k, v in state.items()}, path)
  return FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits"],
                                     feature_extractor_weights_path=path).eval()


def resized(images):
  """Each peer's resize of ``images`` (uint8 NHWC, RGB) to 299, on the 0..255 scale."""
  from cleanfid.resize import make_resizer
  from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x
  x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
  tf1 = interpolate_bilinear_2d_like_tensorflow1x(x, size=(299, 299), align_corners=False)
  pytorch = F.interpolate(x / 255, size=(299, 299), mode="bilinear", align_corners=False) * 255
  clean = np.stack([make_resizer("PIL", False, "bicubic", (299, 299))(im) for im in images])
  return {"tf1": tf1.permute(0, 2, 3, 1).numpy(), "pytorch": pytorch.permute(0, 2, 3, 1).numpy(),
          "clean": clean}


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "fid_reference.npz"))
  p.add_argument("--seed", type=int, default=0)
  args = p.parse_args()
  _import_torchvision()
  torch.set_grad_enabled(False)
  weights = _fid_weights()
  rng = np.random.default_rng(args.seed + 1)
  batches = {"grey": rng.integers(0, 256, (3, 28, 28, 1), dtype=np.uint8),
             "rgb": rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)}
  from pytorch_fid import inception as pfi
  shapes = {k: tuple(v.shape) for k, v in
            pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None).state_dict().items()
            if not k.endswith("num_batches_tracked")}
  state = weights.random_state_dict(shapes, args.seed)
  net, wrapper = pytorch_fid_network(state)
  out = {"seed": args.seed, "weights_sha256": weights.digest(state)}
  with tempfile.TemporaryDirectory() as directory:
    fidelity = torch_fidelity_network(state, directory)
    for name, images in batches.items():
      rgb = np.repeat(images, 3, -1) if images.shape[-1] == 1 else images
      x = torch.from_numpy(rgb).permute(0, 3, 1, 2)
      tf1 = fidelity(x)
      pool = wrapper(x.float() / 255)[0][:, :, 0, 0]
      out.update({f"{name}_images": images,
                  f"{name}_tf1_pool": tf1[0].numpy(), f"{name}_tf1_logits": tf1[1].numpy(),
                  f"{name}_pytorch_pool": pool.numpy(),
                  f"{name}_pytorch_logits": net.fc(pool).numpy()})
      for mode, array in resized(rgb[:1]).items():
        out[f"{name}_{mode}_resized"] = np.asarray(array[0, ::3, ::3, 0], np.float32)
  os.makedirs(os.path.dirname(args.out), exist_ok=True)
  np.savez_compressed(args.out, **out)
  print(f"wrote {args.out}: {sorted(out)}")


if __name__ == "__main__":
  main()
