from . import mailing_sms_test, sms_contact_import
