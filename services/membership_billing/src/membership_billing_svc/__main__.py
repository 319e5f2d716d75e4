import sys
from pathlib import Path

from membership_billing_svc.bootstrap import build
from membership_billing_svc.config import BillingSettings
from platform_core.service import service_main

sys.exit(service_main(BillingSettings, build, Path(__file__).resolve().parents[2]))
