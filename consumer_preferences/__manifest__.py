# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
{
    "name": "Consumer Preferences",
    "summary": "Customer purchasing profile: specified and invoiced products "
    "with their characteristics, statistics and billing from preferences",
    "version": "18.0.1.11.1",
    "category": "Sales/Sales",
    "website": "https://github.com/consumer-preferences/consumer_preferences",
    "author": "Consumer Preferences contributors",
    "license": "AGPL-3",
    "maintainers": ["consumer-preferences"],
    "development_status": "Beta",
    "images": ["static/description/preferences_tab.png"],
    "depends": ["account", "mail", "sales_team"],
    "data": [
        "security/consumer_preferences_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "data/mail_template_data.xml",
        "views/consumer_preference_views.xml",
        "views/consumer_preference_segment_views.xml",
        "views/consumer_preference_reminder_views.xml",
        "views/consumer_preference_sales_month_views.xml",
        "views/account_move_line_views.xml",
        # before the partner form, whose Bill button opens the wizard's action
        "wizard/consumer_preference_bill_views.xml",
        "views/res_partner_views.xml",
        "views/res_config_settings_views.xml",
        "views/consumer_preferences_menus.xml",
    ],
    "demo": ["demo/consumer_preference_demo.xml"],
    "assets": {
        "web.assets_tests": [
            "consumer_preferences/static/tests/tours/*.js",
        ],
    },
    "post_init_hook": "post_init_hook",
    "uninstall_hook": "uninstall_hook",
    "installable": True,
}
