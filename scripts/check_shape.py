"""Checks the code's shape: function length and parameter count, module size, import cycles
among ganjax's modules (lazy imports inside functions count), a pure ``ganjax.metrics``,
module docstring and README length, and config defaults restated outside the schema
(``config.get("key", d)``).

  python scripts/check_shape.py          # exit 1 and one line per violation
"""

import ast
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_FUNCTION_LINES, MAX_PARAMETERS, MAX_MODULE_LINES, MAX_README_LINES = 80, 12, 400, 300
MAX_MODULE_DOCSTRING_LINES = 15


def python_files():
  for folder, _, names in os.walk(os.path.join(ROOT, "ganjax")):
    for name in sorted(names):
      if name.endswith(".py"):
        path = os.path.join(folder, name)
        yield os.path.relpath(path, ROOT), path


def module_name(rel: str) -> str:
  parts = rel[:-3].split(os.sep)
  return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def function_violations(rel: str, tree: ast.Module):
  for node in ast.walk(tree):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
      lines = node.end_lineno - node.lineno + 1
      if lines > MAX_FUNCTION_LINES:
        yield f"function {rel}:{node.name}: {lines} lines"
      args = node.args
      count = len(args.posonlyargs) + len(args.args) + len(args.kwonlyargs)
      count -= bool(args.args) and args.args[0].arg in ("self", "cls")
      if count > MAX_PARAMETERS:
        yield f"function {rel}:{node.name}: {count} parameters"


def docstring_violations(rel: str, tree: ast.Module):
  """A module docstring says what and why in a few lines; the math goes to the functions."""
  doc = ast.get_docstring(tree, clean=False)
  lines = doc.count("\n") + 1 if doc else 0
  if lines > MAX_MODULE_DOCSTRING_LINES:
    yield f"module docstring {rel}: {lines} lines"


def restated_defaults(rel: str, tree: ast.Module):
  """``<...>config<...>.get("key", default)`` calls: a default kept outside the schema."""
  for node in ast.walk(tree):
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get" and len(node.args) == 2
        and "config" in ast.unparse(node.func.value).lower() + rel.split(os.sep)[-1]
        and isinstance(node.args[0], ast.Constant)):
      yield f"restated default {rel}:{node.lineno}: {ast.unparse(node)}"


def imports_of(tree: ast.Module, name: str, modules: set) -> set:
  """The ganjax modules ``name`` imports, at top level or inside functions."""
  found = set()
  package = name if name in {m for m in modules if any(k.startswith(m + ".") for k in modules)} \
      else name.rsplit(".", 1)[0]
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      found.update(a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ""
      if node.level:
        base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] +
                        ([base] if base else []))
      submodules = {f"{base}.{a.name}" for a in node.names} & modules
      # `from pkg import submodule` imports the submodule; `from pkg import name`, pkg.
      found.update(submodules if len(submodules) == len(node.names) else submodules | {base})
  return {m for m in found if m in modules and m != name}


def cycles(graph: dict) -> list[str]:
  """One line per elementary cycle's smallest rotation (short cycles first)."""
  seen, out = set(), []

  def walk(start, node, path):
    for nxt in sorted(graph[node]):
      if nxt == start and len(path) > 1 or nxt == start and len(path) == 1 and node != start:
        cycle = path[:]
        turn = cycle.index(min(cycle))
        key = tuple(cycle[turn:] + cycle[:turn])
        if key not in seen:
          seen.add(key)
          out.append("import cycle: " + " -> ".join(key + (key[0],)))
      elif nxt not in path and nxt > start and len(path) < 6:
        walk(start, nxt, path + [nxt])

  for start in sorted(graph):
    walk(start, start, [start])
  return out


def package_edges(graph: dict) -> dict:
  """Importing ``a.b`` runs ``a/__init__``: an edge to a submodule also reaches its package."""
  full = {name: set(edges) for name, edges in graph.items()}
  for name, edges in graph.items():
    for target in edges:
      parts = target.split(".")
      for i in range(2, len(parts)):
        parent = ".".join(parts[:i])
        if parent in graph and parent != name and not name.startswith(parent + "."):
          full[name].add(parent)
  return full


def impure_metrics(graph: dict) -> list[str]:
  """``ganjax.metrics`` is numpy/JAX math: it may import only itself and ``ganjax.errors``
  (no data loading, training, checkpoints or files)."""
  return [f"impure metrics: {name} imports {target}"
          for name, edges in sorted(graph.items()) if name.startswith("ganjax.metrics")
          for target in sorted(edges)
          if not target.startswith("ganjax.metrics") and target != "ganjax.errors"]


def violations() -> list[str]:
  found, trees = [], {}
  for rel, path in python_files():
    with open(path) as f:
      text = f.read()
    trees[module_name(rel)] = (rel, ast.parse(text))
    lines = text.count("\n")
    if lines > MAX_MODULE_LINES:
      found.append(f"module {rel}: {lines} lines")
    found += docstring_violations(rel, trees[module_name(rel)][1])
  modules = set(trees)
  graph = {}
  for name, (rel, tree) in trees.items():
    found += function_violations(rel, tree)
    found += restated_defaults(rel, tree)
    graph[name] = imports_of(tree, name, modules)
  found += cycles(package_edges(graph))
  found += impure_metrics(graph)
  with open(os.path.join(ROOT, "README.md")) as f:
    readme = f.read().count("\n")
  if readme > MAX_README_LINES:
    found.append(f"README.md: {readme} lines")
  return found


def main() -> int:
  found = violations()
  for line in found:
    print(f"shape: {line}")
  print(f"check_shape: {len(found)} violations", file=sys.stderr)
  return 1 if found else 0


if __name__ == "__main__":
  sys.exit(main())
