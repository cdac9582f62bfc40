"""scripts/check_shape.py finds what it is for: long functions, many parameters, restated
defaults, import cycles (lazy imports and package ``__init__`` edges included) and metrics
that import training code."""

import ast
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts"))
import check_shape  # noqa: E402


def test_long_function_and_many_parameters_are_reported():
  body = "\n".join(f"  x{i} = {i}" for i in range(check_shape.MAX_FUNCTION_LINES))
  params = ", ".join(f"p{i}" for i in range(check_shape.MAX_PARAMETERS + 1))
  tree = ast.parse(f"def long():\n{body}\n\ndef wide(self, {params}):\n  pass\n"
                   f"\ndef fine(self, {params.rsplit(', ', 1)[0]}):\n  pass\n")
  assert list(check_shape.function_violations("m.py", tree)) == [
      f"function m.py:long: {check_shape.MAX_FUNCTION_LINES + 1} lines",
      f"function m.py:wide: {check_shape.MAX_PARAMETERS + 1} parameters"]


def test_long_module_docstring_is_reported():
  lines = check_shape.MAX_MODULE_DOCSTRING_LINES
  long = ast.parse('"""' + "\n".join(["line"] * (lines + 1)) + '"""\n')
  short = ast.parse('"""' + "\n".join(["line"] * lines) + '"""\n')
  assert list(check_shape.docstring_violations("m.py", long)) == [
      f"module docstring m.py: {lines + 1} lines"]
  assert list(check_shape.docstring_violations("m.py", short)) == []


def test_restated_config_default_is_reported():
  tree = ast.parse("a = config.model.get('width', 64)\nb = options.get('width', 64)\n"
                   "c = config.get('width')\n")
  assert list(check_shape.restated_defaults("m.py", tree)) == [
      "restated default m.py:1: config.model.get('width', 64)"]


def test_lazy_import_cycle_and_package_edge_are_found():
  modules = {"ganjax", "ganjax.a", "ganjax.b", "ganjax.p", "ganjax.p.c"}
  sources = {"ganjax.a": "def f():\n  from ganjax import b\n",  # lazy: still an edge
             "ganjax.b": "from ganjax.a import f\n",
             "ganjax.p": "from ganjax.p import c\n",
             "ganjax.p.c": "from ganjax import a\n",
             "ganjax": ""}
  graph = {name: check_shape.imports_of(ast.parse(src), name, modules)
           for name, src in sources.items()}
  assert graph["ganjax.a"] == {"ganjax.b"} and graph["ganjax.p.c"] == {"ganjax.a"}
  assert check_shape.cycles(check_shape.package_edges(graph)) == [
      "import cycle: ganjax.a -> ganjax.b -> ganjax.a"]
  graph["ganjax.a"].add("ganjax.p.c")  # a → p.c runs p/__init__, which imports p.c → a
  found = check_shape.cycles(check_shape.package_edges(graph))
  assert "import cycle: ganjax.a -> ganjax.p -> ganjax.p.c -> ganjax.a" in found


def test_metrics_importing_training_code_is_reported():
  graph = {"ganjax.metrics.fid": {"ganjax.metrics.kid", "ganjax.errors", "ganjax.checkpoint"},
           "ganjax.evaluate": {"ganjax.checkpoint"}}
  assert check_shape.impure_metrics(graph) == [
      "impure metrics: ganjax.metrics.fid imports ganjax.checkpoint"]


def test_ganjax_itself_has_no_violations():
  assert check_shape.violations() == []
