"""Optimizers: the config factory and ganjax's own Optax transforms."""

from ganjax.optim.conjugate import conjugate_gradient, scale_by_conjugate_gradient  # noqa: F401
from ganjax.optim.factory import OPTIMIZERS, make, register  # noqa: F401
from ganjax.optim.orthogonal import orthogonal_gradient, scale_by_orthogonal_gradient  # noqa: F401
