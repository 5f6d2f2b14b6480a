from . import (
    africastalking_account,
    africastalking_inbound,
    africastalking_message,
    mailing_contact,
    mailing_mailing,
    mailing_trace,
    phone_blacklist,
    res_company,
    res_config_settings,
    res_partner,
    sms_sms,
    sms_tracker,
)
