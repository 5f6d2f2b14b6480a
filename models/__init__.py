from . import (
    africastalking_account,
    africastalking_message,
    mailing_mailing,
    mailing_trace,
    res_company,
    res_config_settings,
    sms_sms,
    sms_tracker,
    africastalking_rate,
    res_partner,
    sms_budget,
    utm_campaign,
)
