from . import mailing_sms_test

# isort: split
from . import sms_broadcast
