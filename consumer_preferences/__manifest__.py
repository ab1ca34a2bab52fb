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
    "depends": ["account", "product"],
    "data": [
        "security/consumer_preferences_security.xml",
        "security/ir.model.access.csv",
    ],
    "demo": [],
    "installable": True,
}
