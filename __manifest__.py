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
        "python": ["africastalking", "phonenumbers"],
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
        "data/africastalking_rate_data.xml",
        "views/africastalking_rate_views.xml",
        "views/sms_budget_views.xml",
        "views/mailing_mailing_views.xml",
        "views/sms_composer_views.xml",
        "views/africastalking_sms_check_views.xml",
        "views/res_partner_views.xml",
        "views/utm_campaign_views.xml",
        "views/sms_africastalking_cockpit_menus.xml",
    ],
    "demo": [
        "demo/sms_africastalking_demo.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "sms_africastalking/static/src/js/**/*",
            "sms_africastalking/static/src/components/**/*",
        ],
        "web.assets_tests": [
            "sms_africastalking/static/tests/tours/**/*",
        ],
    },
    "installable": True,
    "application": False,
}
