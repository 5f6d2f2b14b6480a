from . import test_send_paths
from . import test_send_outcomes
from . import test_delivery_reports
from . import test_scale
from . import test_simulator_inbox
from . import test_sms_alerts
from . import test_sms_api
from . import test_sms_automation
