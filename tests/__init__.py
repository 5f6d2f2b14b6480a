from . import test_contact_import, test_delivery_reports, test_inbound_callbacks, test_send_outcomes, test_send_paths
