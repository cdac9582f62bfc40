"""The exception types that the command line reports as a single line."""


class UserError(Exception):
  """Bad input from the user: the message names the problem and the fix.

  The CLI prints it as one line (no traceback unless ``--debug``) and exits 2.
  """


class CorruptData(UserError):
  """Dataset files that exist but cannot be read as what they claim to be."""


def check_choice(key: str, value, names) -> None:
  """Fails in one line unless ``value``, the setting of ``config.<key>``, is one of ``names``."""
  if value not in names:
    raise UserError(f"unknown config.{key} {value!r}; choose from {', '.join(names)}")
