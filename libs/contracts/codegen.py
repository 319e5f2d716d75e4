"""Generate Python code (messages, gRPC stubs, mypy stubs) for every contract under proto/.

`make proto` runs this into src/; the contract tests run it into a temporary directory and compare, so a
.proto change without regenerated code fails CI. Generated files are never edited by hand.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "proto"
DEFAULT_OUT = Path(__file__).resolve().parent / "src"


def proto_files() -> list[Path]:
    return sorted(PROTO_DIR.rglob("*.proto"))


def generate(out_dir: Path) -> None:
    generated_root = out_dir / "atrium"
    if generated_root.exists():
        shutil.rmtree(generated_root)
    out_dir.mkdir(parents=True, exist_ok=True)
    include = Path(grpc_tools.__file__).parent / "_proto"
    # The mypy plugins are scripts installed beside this interpreter.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *(str(p.relative_to(PROTO_DIR)) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # Regular packages (not namespace packages) so tools and type checkers find them.
    for directory in [generated_root, *(p for p in generated_root.rglob("*") if p.is_dir())]:
        (directory / "__init__.py").touch()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    generate(parser.parse_args().out)


if __name__ == "__main__":
    sys.exit(main())
