from . import (
    test_contact_import,
    test_contact_import_tour,
    test_delivery_reports,
    test_guardians,
    test_inbound_callbacks,
    test_optout_page,
    test_send_outcomes,
    test_send_paths,
)
