from . import test_delivery_reports, test_send_outcomes, test_send_paths

# isort: split
from . import test_sms_alerts, test_sms_api, test_sms_automation
