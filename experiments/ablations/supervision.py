"""Study 4a: semi-supervised GAN vs the same classifier trained on the labels alone.

The semi-supervised GAN of ``ssgan_fashion_mnist.py`` (Salimans et al. 2016: a 10-class D
whose logsumexp is the real/fake logit, G trained by feature matching) against its
supervised-only baseline (``loss.d_adversarial = 0``: the same D on the same labelled
subset, nothing else), at 10 and 100 labels per class (100 and 1,000 labels) and with every
label (``data.labels_per_class = 0``). The metric is D's accuracy on the 10,000 test images.

Budget: 2000 steps at batch 64; 6 cells × 3 seeds (wall times: docs/findings.md).
  ganjax sweep --config experiments/ablations/supervision.py --workdir runs/ablations/supervision
Study 4b (unconditional vs conditional FID) is ``conditioning.py``.
"""

from ganjax.sweep import Sweep, axis, choice, product


def get_config():
  method = choice("method", {"semi_supervised_gan": {},
                             "supervised_only": {"loss.d_adversarial": 0.0}})
  labels = axis("labels_per_class", [10, 100, 0], "data.labels_per_class")
  return Sweep(base="../ssgan_fashion_mnist.py", cells=product(method, labels), seeds=(0, 1, 2),
               settings={"total_steps": 2000, "sample_every": 500, "ckpt_every": 500},
               metrics=("test_accuracy", "fid"), eval_num_samples=5000, x="labels_per_class",
               primary="test_accuracy", baseline={"method": "supervised_only"},
               title="Study 4a: semi-supervised GAN vs supervised-only classifier")
