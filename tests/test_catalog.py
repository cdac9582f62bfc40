"""Shipped configs by name: `--config NAME`, `ganjax configs`, and an installed wheel that has
them with no checkout."""

import os
import subprocess
import sys
import tomllib

import pytest

from ganjax import catalog, cli

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)


def test_pyproject_lists_every_package():
  packages = tomllib.load(open(os.path.join(ROOT, "pyproject.toml"), "rb"))["tool"][
      "setuptools"]["packages"]
  found = {os.path.relpath(d, ROOT).replace(os.sep, ".")
           for d, _, files in os.walk(os.path.join(ROOT, "ganjax")) if "__init__.py" in files}
  assert set(packages) == found | {"ganjax.experiments", "ganjax.experiments.ablations"}


def test_names_resolve_to_the_experiments_directory_and_a_path_wins():
  experiments = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "experiments"))
                       if f.endswith(".py") and not f.startswith("_"))
  assert catalog.names("experiment") == experiments and "dcgan_fashion_mnist" in experiments
  path = catalog.resolve("dcgan_fashion_mnist", "experiment")
  assert os.path.samefile(path, os.path.join(ROOT, "experiments", "dcgan_fashion_mnist.py"))
  assert os.path.samefile(catalog.resolve("blur.py", "sweep"),
                          os.path.join(ROOT, "experiments", "ablations", "blur.py"))
  assert catalog.resolve("some/dir/x.py", "experiment") == "some/dir/x.py"  # paths pass through


def test_configs_lists_each_shipped_config_with_its_summary(capsys):
  assert cli.main(["configs"]) == 0
  out = capsys.readouterr().out.splitlines()
  assert out[0] == "experiments (ganjax train --config NAME):"
  row = next(line for line in out if line.split()[0] == "dcgan_fashion_mnist")
  assert row.split(None, 1)[1] == catalog.summary("experiment", "dcgan_fashion_mnist")
  assert row.split(None, 1)[1].startswith("DCGAN on Fashion-MNIST")
  assert "sweeps (ganjax sweep --config NAME):" in out
  assert len(out) == 2 + len(catalog.names("experiment")) + len(catalog.names("sweep"))


def test_a_misspelt_name_gets_a_suggestion(tmp_path, capsys):
  assert cli.main(["train", "--config", "dcgan_fashon_mnist", "--workdir",
                   str(tmp_path / "w")]) == 2
  assert capsys.readouterr().err.strip() == (
      "ganjax: error: no experiment config file or shipped config named 'dcgan_fashon_mnist'; "
      "did you mean 'dcgan_fashion_mnist'? (`ganjax configs` lists them)")
  assert not (tmp_path / "w").exists()


def test_an_installed_wheel_ships_the_configs(tmp_path):
  """Built as a wheel and installed (without its dependencies, which this venv has) into a
  directory outside the repository, ganjax resolves a shipped name and a sweep's base."""
  wheels = tmp_path / "wheels"
  subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "-q", "-w", str(wheels), ROOT], check=True, capture_output=True)
  target = tmp_path / "site"
  wheel = next(wheels.iterdir())
  subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                  str(target), str(wheel)], check=True, capture_output=True)
  code = ("import os, ganjax; from ganjax import catalog, config, sweep\n"
          f"print(ganjax.__file__.startswith({str(target)!r}))\n"
          "path = catalog.resolve('dcgan_fashion_mnist', 'experiment')\n"
          "print(os.path.relpath(path, os.path.dirname(ganjax.__file__)))\n"
          "print(config.load(path).model.name)\n"
          "s = catalog.resolve('blur', 'sweep')\n"
          "print(len(sweep.plan(sweep.load(s), s, '/tmp/unused')))\n")
  env = dict(os.environ, PYTHONPATH=str(target))
  out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True,
                       capture_output=True, text=True).stdout.split()
  assert out == ["True", os.path.join("experiments", "dcgan_fashion_mnist.py"), "dcgan", "24"]
