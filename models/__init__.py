from . import (
    africastalking_account,
    africastalking_message,
    mailing_mailing,
    mailing_trace,
    res_company,
    res_config_settings,
    sms_sms,
    sms_tracker,
)

# isort: split
from . import sms_africastalking_api, sms_alert, sms_alert_rule, sms_event
