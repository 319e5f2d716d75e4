"""The fake unit of work (fakes.py) is imported as ``portal_requests_fakes``: pytest's importlib mode puts no
test folder on sys.path, and each service has a fakes.py of its own, so this one gets a name of its own."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("portal_requests_fakes", Path(__file__).with_name("fakes.py"))
assert _spec is not None and _spec.loader is not None
_fakes = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _fakes
_spec.loader.exec_module(_fakes)
