"""Optimizers: the config factory and ganjax's own Optax transforms."""

from ganjax.optim.factory import OPTIMIZERS, make, register  # noqa: F401
