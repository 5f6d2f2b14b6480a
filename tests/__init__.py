from . import test_delivery_reports, test_send_outcomes, test_send_paths
from . import test_cockpit
