import sys
from pathlib import Path

from client_svc.bootstrap import build
from client_svc.config import ClientSettings
from platform_core.service import service_main

# Guarded: the import's worker processes are spawned, and a spawned process may load the main module again.
if __name__ == "__main__":
    sys.exit(service_main(ClientSettings, build, Path(__file__).resolve().parents[2]))
