{
    "name": "Africa's Talking SMS & Marketing",
    "version": "17.0.1.0.0",
    "category": "Marketing/SMS Marketing",
    "summary": "Send every Odoo SMS and SMS mailing through Africa's Talking, with delivery reports, "
    "costs and opt-outs",
    "author": "sms_africastalking developers",
    "website": "https://github.com/sms-africastalking/sms_africastalking",
    "license": "LGPL-3",
    "depends": ["mass_mailing_sms"],
    "external_dependencies": {
        "python": ["africastalking", "phonenumbers", "python-docx", "openpyxl"],
    },
    "data": [
        "security/sms_africastalking_security.xml",
        "security/ir.model.access.csv",
        "data/ir_config_parameter_data.xml",
        "views/africastalking_account_views.xml",
        "views/africastalking_message_views.xml",
        "views/mailing_trace_views.xml",
        "views/res_config_settings_views.xml",
        "views/sms_africastalking_menus.xml",
        "views/africastalking_inbound_views.xml",
        "views/phone_blacklist_views.xml",
        "wizard/sms_contact_import_views.xml",
        "views/res_partner_views.xml",
        "views/mailing_mailing_views.xml",
        "wizard/sms_composer_views.xml",
        "views/sms_optout_templates.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "sms_africastalking/static/src/tests/tours/*.js",
        ],
    },
    "demo": [
        "demo/sms_africastalking_demo.xml",
    ],
    "installable": True,
    "application": False,
}
