from . import (
    africastalking_account,
    africastalking_message,
    africastalking_rate,
    mailing_mailing,
    mailing_trace,
    res_company,
    res_config_settings,
    res_partner,
    sms_budget,
    sms_sms,
    sms_tracker,
    utm_campaign,
)
