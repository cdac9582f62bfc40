"""The experiment and sweep configs that ship with ganjax, by name.

The repository's ``experiments/`` directory is installed as the package ``ganjax.experiments``
(pyproject.toml), so ``--config dcgan_fashion_mnist`` works from a pip-installed ganjax with
no checkout; a path to a file still works and is tried first. ``ganjax configs`` lists them.
"""

import ast
import difflib
import importlib.resources
import os

from ganjax.errors import UserError

PACKAGES = {"experiment": "ganjax.experiments", "sweep": "ganjax.experiments.ablations"}


def _directory(kind: str):
  return importlib.resources.files(PACKAGES[kind])


def names(kind: str) -> list[str]:
  """The shipped configs of ``kind`` ("experiment" or "sweep"), sorted."""
  return sorted(entry.name[:-3] for entry in _directory(kind).iterdir()
                if entry.name.endswith(".py") and not entry.name.startswith("_"))


def resolve(name_or_path: str, kind: str) -> str:
  """A config file's path: ``name_or_path`` itself when it is a file, else the shipped config
  of that name (with or without ``.py``)."""
  if os.path.isfile(name_or_path) or os.sep in name_or_path:
    return name_or_path  # a path: config.run_get_config says if it is missing
  name = name_or_path[:-3] if name_or_path.endswith(".py") else name_or_path
  if name in names(kind):
    return str(_directory(kind) / f"{name}.py")
  close = difflib.get_close_matches(name, names(kind), n=1)
  hint = f"; did you mean {close[0]!r}?" if close else ""
  raise UserError(f"no {kind} config file or shipped config named {name_or_path!r}{hint} "
                  "(`ganjax configs` lists them)")


def summary(kind: str, name: str) -> str:
  """The first line of a shipped config's docstring."""
  docstring = ast.get_docstring(ast.parse((_directory(kind) / f"{name}.py").read_text()))
  return docstring.splitlines()[0] if docstring else ""


def listing() -> str:
  """``ganjax configs``: every shipped config with its one-line description."""
  lines = []
  for kind, command in (("experiment", "ganjax train --config NAME"),
                        ("sweep", "ganjax sweep --config NAME")):
    lines.append(f"{kind}s ({command}):")
    found = names(kind)
    width = max(map(len, found), default=0)
    lines += [f"  {name:<{width}}  {summary(kind, name)}" for name in found]
  return "\n".join(lines)
