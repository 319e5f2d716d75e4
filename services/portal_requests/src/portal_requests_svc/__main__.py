import sys
from pathlib import Path

from platform_core.service import service_main
from portal_requests_svc.bootstrap import build
from portal_requests_svc.config import PortalRequestsSettings

sys.exit(service_main(PortalRequestsSettings, build, Path(__file__).resolve().parents[2]))
