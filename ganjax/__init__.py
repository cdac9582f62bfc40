"""ganjax: GAN training, evaluation and ablation in JAX/Flax."""

__version__ = "0.1.0"
