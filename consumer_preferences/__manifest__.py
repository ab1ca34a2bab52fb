# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
{
    "name": "Consumer Preferences",
    "summary": "Customer purchasing profile: specified and invoiced products "
    "with their characteristics, statistics and billing from preferences",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "website": "https://github.com/consumer-preferences/consumer_preferences",
    "author": "Consumer Preferences contributors",
    "license": "AGPL-3",
    "depends": ["account", "sales_team"],
    "data": [
        "security/consumer_preferences_security.xml",
        "security/ir.model.access.csv",
        "views/consumer_preference_views.xml",
        "views/res_partner_views.xml",
    ],
    "demo": [],
    "post_init_hook": "post_init_hook",
    "installable": True,
}
