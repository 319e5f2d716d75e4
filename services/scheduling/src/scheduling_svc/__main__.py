import sys
from pathlib import Path

from platform_core.service import service_main
from scheduling_svc.bootstrap import build
from scheduling_svc.config import SchedulingServiceSettings

sys.exit(service_main(SchedulingServiceSettings, build, Path(__file__).resolve().parents[2]))
