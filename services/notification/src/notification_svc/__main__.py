import sys
from pathlib import Path

from notification_svc.bootstrap import build
from notification_svc.config import NotificationSettings
from platform_core.service import service_main

sys.exit(service_main(NotificationSettings, build, Path(__file__).resolve().parents[2]))
