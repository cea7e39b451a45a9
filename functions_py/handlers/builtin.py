"""Load every handler module this installation has, and hand back the registry they filled."""

from __future__ import annotations

import importlib
import importlib.util

from functions_py.jobs.registry import Registry, registry

# Handler modules registered by importing them. Optional ones are skipped when not present.
REQUIRED_MODULES = ("functions_py.handlers.system",)
OPTIONAL_MODULES = ("functions_py.handlers.ai", "functions_py.handlers.email", "functions_py.handlers.provisioning",
                    "functions_py.handlers.channels")


def load_all() -> Registry:
    """Import the built-in handler modules (each registers its kinds in the default registry) and return it."""
    for name in REQUIRED_MODULES:
        importlib.import_module(name)
    for name in OPTIONAL_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    return registry
