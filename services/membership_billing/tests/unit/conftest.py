"""Billing's unit tests import the fakes as ``membership_billing_fakes``: every service keeps a tests/unit/fakes.py
and one pytest process (import mode importlib, no packages) runs them all, so a plain ``fakes`` would be
whichever service's came first."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

FAKES = "membership_billing_fakes"

if FAKES not in sys.modules:
    spec = importlib.util.spec_from_file_location(FAKES, Path(__file__).with_name("fakes.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[FAKES] = module
    spec.loader.exec_module(module)
