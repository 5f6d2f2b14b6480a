from . import test_delivery_reports, test_scale, test_send_outcomes, test_send_paths
