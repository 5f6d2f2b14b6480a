from . import test_cockpit, test_cockpit_browser, test_delivery_reports, test_send_outcomes, test_send_paths
