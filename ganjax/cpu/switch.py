"""The one switch over the CPU fast paths, ``config.fast_paths``.

  auto  on when JAX computes on the CPU, off on GPUs and TPUs (the default)
  on    on, whatever the backend
  off   XLA's own convolutions and ``jax.random``'s draws

The setting is a jit-cache-sensitive context (``jax.make_user_context``): a function traced
under one setting is traced again under another, never reused. It is thread-local;
``ganjax.train``, ``evaluate`` and ``sample`` enter it from the run's config.
"""

import jax

from ganjax.errors import check_choice

SETTINGS = ("auto", "on", "off")
_setting = jax.make_user_context(default_value="auto")


def fast_paths(setting: str):
  """A context manager: what is traced inside it uses ``setting`` (one of ``SETTINGS``)."""
  check_choice("fast_paths", setting, SETTINGS)
  return _setting(setting)


def enabled() -> bool:
  """Whether the fast paths apply to what is being traced now."""
  setting = _setting.value
  return setting == "on" or (setting == "auto" and jax.default_backend() == "cpu")
