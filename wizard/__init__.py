from . import mailing_sms_test, sms_composer, sms_contact_import
