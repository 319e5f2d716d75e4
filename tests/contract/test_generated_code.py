"""The committed generated code is exactly what proto/ generates (STYLE rule 7: CI fails on drift)."""

from __future__ import annotations

import filecmp
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "libs" / "contracts" / "src"


def _codegen():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("atrium_codegen", ROOT / "libs" / "contracts" / "codegen.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_generated_code_matches_the_protos(tmp_path: Path) -> None:
    _codegen().generate(tmp_path)
    fresh, committed = _files(tmp_path / "atrium"), _files(COMMITTED / "atrium")
    assert sorted(fresh) == sorted(committed), "run `make proto` and commit the result"
    stale = [name for name, path in fresh.items() if not filecmp.cmp(path, committed[name], shallow=False)]
    assert not stale, f"stale generated files {stale}: run `make proto` and commit the result"


def test_every_event_contract_travels_in_the_common_envelope() -> None:
    """Events live in each service's events.proto; none redefines the metadata the envelope carries."""
    envelope_fields = {"event_id", "tenant_id", "occurred_at", "trace_context"}
    for events_proto in (ROOT / "proto").rglob("events.proto"):
        if "common" in events_proto.parts:
            continue
        text = events_proto.read_text()
        assert "package atrium." in text and ".v1;" in text, events_proto
        for field in envelope_fields:
            assert f" {field} = " not in text, f"{events_proto} repeats envelope field {field}"
