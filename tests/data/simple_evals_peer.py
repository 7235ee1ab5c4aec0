"""Load one module of the simple-evals checkout in ../shared/peers (openai/simple-evals, MIT; its modules import
each other relatively, and its folder name has a dash), for the reference-making scripts beside this file
(healthbench-main/ and healthbench-meta/make_reference.py). Not part of medjudge."""

import importlib.util
import os
import sys
import types


def load(peers: str, name: str):
    """simple-evals' module `name` (say healthbench_eval), imported as a package module from `peers`."""
    pkg_dir = os.path.join(peers, "simple-evals")
    if "simple_evals_pkg" not in sys.modules:
        pkg = types.ModuleType("simple_evals_pkg")
        pkg.__path__ = [pkg_dir]
        sys.modules["simple_evals_pkg"] = pkg
    spec = importlib.util.spec_from_file_location(f"simple_evals_pkg.{name}", os.path.join(pkg_dir, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
