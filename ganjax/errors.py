"""The exception types that the command line reports as a single line."""


class UserError(Exception):
  """Bad input from the user: the message names the problem and the fix.

  The CLI prints it as one line (no traceback unless ``--debug``) and exits 2.
  """


class CorruptData(UserError):
  """Dataset files that exist but cannot be read as what they claim to be."""
