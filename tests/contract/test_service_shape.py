"""The reference shape (docs/architecture.md) holds in every service: checked by names and imports.

Learn one service, know all five: the same folders and module names, use cases taking ``(cmd, uow)``, a pure
domain, one Table module, ports named for what they are, fakes for the handlers, and the kit split into what
deployed images run (platform_core, client_contract) and what only development and tests use (platform_dev).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.parent for p in ROOT.glob("services/*/pyproject.toml"))
PACKAGES = {service: next((service / "src").glob("*_svc")) for service in SERVICES}
ALL_PACKAGES = {package.name for package in PACKAGES.values()}

REQUIRED = (
    "service_layer/unit_of_work.py",
    "adapters/tables.py",
    "entrypoints/__init__.py",
    "bootstrap.py",
    "config.py",
)
# Module names that say where a thing lives rather than what it is.
VAGUE_NAMES = ("orm.py", "remote.py", "directory.py", "utils.py", "helpers.py", "misc.py", "common.py")
# What a domain may not know about: storage, transport, the other layers.
INFRASTRUCTURE = ("sqlalchemy", "asyncpg", "grpc", "nats", "aiohttp", "google.protobuf", "atrium.")


def by_service(test: object) -> object:
    return pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])(test)


def modules(folder: Path) -> Iterator[Path]:
    yield from sorted(p for p in folder.rglob("*.py") if "_pb2" not in p.name)


def imported(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@by_service
def test_every_service_has_the_same_folders_and_modules(service: Path) -> None:
    package = PACKAGES[service]
    missing = [name for name in REQUIRED if not (package / name).is_file()]
    assert not missing, f"{service.name} lacks {missing}"
    assert list((package / "domain").glob("commands*.py")), f"{service.name}: commands live in domain/commands*.py"
    assert (service / "migrations" / "env.py").is_file()
    # A service that raises integration events states them in the domain and maps them in one adapter.
    assert (package / "domain/events.py").is_file() == (package / "adapters/event_mapping.py").is_file()
    assert (service / "tests" / "unit" / "fakes.py").is_file(), f"{service.name}: a fake unit of work for handlers"


@by_service
def test_module_names_say_what_a_module_is(service: Path) -> None:
    vague = [str(p.relative_to(service)) for p in modules(PACKAGES[service]) if p.name in VAGUE_NAMES]
    # A table module is tables.py; a port is named for the service it speaks to.
    assert not vague, f"rename these to what they hold: {vague}"


@by_service
def test_every_use_case_takes_a_command_and_a_unit_of_work(service: Path) -> None:
    wrong = []
    for path in modules(PACKAGES[service] / "service_layer"):
        if path.name in {"unit_of_work.py", "__init__.py"} or path.name.endswith("unit_of_work.py"):
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and not node.name.startswith("_"):
                args = node.args
                names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
                if names != ["cmd", "uow"] or args.vararg or args.kwarg:
                    wrong.append(f"{path.name}:{node.name}({', '.join(names)})")
    assert not wrong, f"use cases are `handler(cmd, uow)`; helpers start with `_`: {wrong}"


@by_service
def test_use_cases_are_functions_not_service_objects(service: Path) -> None:
    # A class of use cases (a "service" object holding its dependencies) hides them from the fakes; results and
    # ports (Protocols, ABCs) may be classes.
    wrong = []
    for path in modules(PACKAGES[service] / "service_layer"):
        if path.name.endswith("unit_of_work.py"):
            continue
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
                continue
            bases = {getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}
            if bases & {"Protocol", "ABC"}:
                continue
            wrong += [
                f"{path.name}:{node.name}.{item.name}"
                for item in node.body
                if isinstance(item, ast.AsyncFunctionDef) and not item.name.startswith("_")
            ]
    assert not wrong, wrong


@by_service
def test_the_domain_is_pure_python(service: Path) -> None:
    package = PACKAGES[service]
    layers = tuple(f"{package.name}.{layer}" for layer in ("adapters", "service_layer", "entrypoints", "bootstrap"))
    impure = [
        f"{path.name}: {module}"
        for path in modules(package / "domain")
        for module in imported(path)
        if module.startswith(INFRASTRUCTURE) or module.startswith(layers)
    ]
    assert not impure, impure


@by_service
def test_a_service_imports_no_other_service_and_no_dev_kit(service: Path) -> None:
    package = PACKAGES[service]
    others = tuple(name for name in ALL_PACKAGES if name != package.name)
    wrong = [
        f"{path.relative_to(service)}: {module}"
        for path in modules(package)
        for module in imported(path)
        if module.split(".")[0] in others or module.startswith("platform_dev")
    ]
    assert not wrong, wrong


@by_service
def test_broken_inputs_are_collected_by_the_one_collector(service: Path) -> None:
    # A hand-kept `list[FieldViolation]` is a fourth copy of platform_core.validation.Violations.
    copies = [
        str(path.relative_to(service))
        for path in modules(PACKAGES[service])
        if "list[FieldViolation] = []" in path.read_text() or "class Violations" in path.read_text()
    ]
    assert not copies, copies


def test_deployed_code_never_imports_the_dev_kit() -> None:
    deployed = [ROOT / p for p in ("libs/platform_core/src", "libs/client_contract/src", "gateway/src", "web/src")]
    wrong = [
        str(path.relative_to(ROOT))
        for folder in deployed
        for path in modules(folder)
        for module in imported(path)
        if module.startswith("platform_dev")
    ]
    assert not wrong, wrong


def test_the_platform_kit_knows_no_service_and_no_client_policy() -> None:
    wrong = [
        f"{path.name}: {module}"
        for path in modules(ROOT / "libs/platform_core/src")
        for module in imported(path)
        if module.split(".")[0] in ALL_PACKAGES | {"client_contract", "gateway", "atrium_web"}
    ]
    assert not wrong, wrong
