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
