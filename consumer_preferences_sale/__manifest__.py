# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
{
    "name": "Consumer Preferences - Sales",
    "summary": "Sell from consumer preferences: quotations from the Bill wizard, "
    "Add from Preferences on quotations, and the customer's own preferences "
    "in its portal",
    "version": "18.0.1.1.0",
    "category": "Sales/Sales",
    "website": "https://github.com/consumer-preferences/consumer_preferences",
    "author": "Consumer Preferences contributors",
    "license": "AGPL-3",
    "depends": ["consumer_preferences", "sale"],
    "data": [
        "security/ir.model.access.csv",
        "data/ir_actions_server_data.xml",
        "wizard/consumer_preference_bill_views.xml",
        "views/sale_order_views.xml",
        "views/res_partner_views.xml",
        "views/res_config_settings_views.xml",
        "views/consumer_preferences_sale_menus.xml",
        "views/portal_templates.xml",
    ],
    "demo": ["demo/consumer_preferences_sale_demo.xml"],
    "assets": {
        "web.assets_tests": [
            "consumer_preferences_sale/static/tests/tours/*.js",
        ],
    },
    "auto_install": True,
    "installable": True,
}
