{
    "name": "Africa's Talking SMS: benchmark helpers",
    "version": "17.0.1.0.0",
    "summary": "A minimal one-UPDATE public route, the yardstick of the delivery-report route (bench only)",
    "author": "sms_africastalking developers",
    "license": "LGPL-3",
    "depends": ["sms_africastalking"],
    "installable": True,
}
