{
    "name": "Africa's Talking SMS: benchmark helpers",
    "version": "17.0.2.0.0",
    "summary": "A minimal one-INSERT public route, the yardstick of the delivery-report route (bench only)",
    "author": "sms_africastalking developers",
    "license": "LGPL-3",
    # Not the addon: the yardstick must not pay for anything the addon adds to a request.
    "depends": ["base"],
    "data": ["security/ir.model.access.csv"],
    "installable": True,
}
