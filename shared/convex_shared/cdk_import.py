"""Import the Airbyte CDK for a connector's console script without its two start-up costs.

Importing the source's entry point (airbyte-cdk 7) took 1.77 s of a 2.0 s `spec` (measured with
`python -X importtime`; 0.65 s with this module), mostly for two things a connector never uses:

- The package's `__init__` imports nearly the whole CDK (declarative and file-based sources,
  destinations, the legacy low-code framework) to re-export its names: about 0.5 s. Here the
  package module is created without running it; its `__init__` runs in full the first time
  anything asks the package itself for a name (`from airbyte_cdk import X`, PEP 562), so code
  that relies on the re-exports still works, it just pays then.
- The protocol serialisers (serpyco-rs) read every protocol class's source with `inspect` and
  `ast` to find attribute docstrings, which only ever become `description`s in the JSON schema
  serpyco-rs can generate for them: about 0.65 s. The CDK never asks for those schemas, so the
  docstring lookup answers "none" while the CDK is imported, and is restored afterwards.

What the skipped `__init__` did as a side effect must be done explicitly: importing
`airbyte_cdk.entrypoint` set up the CDK's logging (`init_logger`), which the source gets from
its own entrypoint import and the destination now calls itself.

Both steps change nothing once the CDK is imported, and both fall back to the ordinary import
when the CDK or serpyco-rs is not laid out as expected.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

CDK = "airbyte_cdk"
#: Set (to anything but empty) to import the CDK the ordinary way, e.g. to rule this module out.
PLAIN_IMPORT_VARIABLE = "CONVEX_CONNECTOR_PLAIN_CDK_IMPORT"


@contextmanager
def fast_cdk_import() -> Iterator[None]:
    """Within the block, importing CDK modules skips the package `__init__` and the docstring scan
    (unless PLAIN_IMPORT_VARIABLE is set)."""
    if os.environ.get(PLAIN_IMPORT_VARIABLE):
        yield
        return
    _defer_package_init(CDK)
    with _no_attribute_docs():
        yield


def _defer_package_init(name: str) -> None:
    """Register package `name` without running its `__init__` until one of its names is asked for."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def __getattr__(attribute: str) -> Any:
        # `import airbyte_cdk.a.b as c` asks the package for `a` while `a` is still being imported
        # (its attribute is set on the package only once it is done): answer with the module.
        submodule = sys.modules.get(f"{name}.{attribute}")
        if submodule is not None:
            return submodule
        # First use of a re-exported name: run the real `__init__` now, in this same module object.
        module.__dict__.pop("__getattr__", None)
        loader.exec_module(module)
        return getattr(module, attribute)

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = module


#: The serpyco-rs modules that look attribute docstrings up (entity fields, enum members).
_DOC_READERS = ("serpyco_rs._describe", "serpyco_rs._json_schema._convert")


@contextmanager
def _no_attribute_docs() -> Iterator[None]:
    patched: list[tuple[ModuleType, Any]] = []
    for name in _DOC_READERS:
        try:
            reader = importlib.import_module(name)
        except ImportError:
            continue
        original = getattr(reader, "get_attributes_doc", None)
        if original is not None:
            reader.get_attributes_doc = _no_docs  # type: ignore[attr-defined]
            patched.append((reader, original))
    try:
        yield
    finally:
        for reader, original in patched:
            reader.get_attributes_doc = original  # type: ignore[attr-defined]


def _no_docs(cls: type) -> dict[str, str]:
    return {}
