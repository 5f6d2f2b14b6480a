from . import africastalking_sms_check, mailing_sms_test, sms_composer
