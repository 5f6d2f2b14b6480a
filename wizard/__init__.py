from . import mailing_sms_test
from . import sms_broadcast
from . import sms_composer
from . import africastalking_sms_check
from . import sms_contact_import
from . import sms_resend
from . import africastalking_send_confirm
from . import sms_spend_export
