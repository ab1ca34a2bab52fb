# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""The companies Odoo's accounting test classes create for each class (a
company and its chart of accounts: about 2 s each), and the users each class
creates (0.15 to 0.3 s each), prepared once in the test command's template
database and found there by external id (``ConsumerPreferenceCommon``).
Without them (Odoo's own test runner), each class creates its own, as Odoo
does.

Nothing here imports Odoo's test framework: ``tools/templates.py`` runs this
file in an Odoo shell, outside test mode."""

from odoo import Command

PREPARED_COMPANY_MODULE = "__consumer_preferences_tests__"
PREPARED_COMPANIES = ("company_1_data", "company_2")
# The users of company_1_data every ConsumerPreferenceCommon class creates,
# by login, with their groups (xml ids, as new_test_user takes them).
PREPARED_USERS = {
    "cp_salesperson": (
        "base.group_user,base.group_partner_manager,sales_team.group_sale_salesman"
    ),
    "cp_accountant": "base.group_user,account.group_account_invoice",
    "cp_manager": (
        "base.group_user,consumer_preferences.group_consumer_preference_manager"
    ),
    # and every ConsumerPreferenceSaleCommon class
    "cp_salesperson_all": (
        "base.group_user,base.group_partner_manager,"
        "sales_team.group_sale_salesman_all_leads"
    ),
}
# The user Odoo's accounting test classes create and run as
# (``AccountTestInvoicingCommon.setup_independent_user``), as it makes it but
# for the login, which stays free for Odoo's own test classes.
ACCOUNTMAN = {
    "name": "Because I am accountman!",
    "login": "cp_accountman",
    "password": "cp_accountman",
    "email": "accountman@test.com",
}
# Its groups besides the Template User's: product's and account's
# ``get_default_groups``.
ACCOUNTMAN_GROUPS = (
    "base.group_system",
    "account.group_account_manager",
    "account.group_account_user",
)
# What Odoo's test classes create records with (odoo/addons/base/tests/common.py).
MAIL_OFF = {
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
    "no_reset_password": True,
    "tracking_disable": True,
}


def prepare_test_companies(env):
    """Create in ``env``'s database the companies of ``PREPARED_COMPANIES``
    as ``AccountTestInvoicingCommon._create_company`` does (the chart of
    accounts it guesses, the United States as fiscal country when the chart
    sets none). Return them; the caller commits."""
    companies = env["res.company"]
    chart_template = env["account.chart.template"]
    for name in PREPARED_COMPANIES:
        company = env["res.company"].create({"name": name})
        chart_template.try_loading(
            chart_template._guess_chart_template(company.country_id),
            company=company,
            install_demo=False,
        )
        if not company.account_fiscal_country_id:
            company.account_fiscal_country_id = env.ref("base.us")
        _name_prepared(company, name)
        companies |= company
    return companies


def prepare_test_users(env):
    """Create in ``env``'s database the users of ``PREPARED_USERS``, in the
    prepared company_1_data, and accountman, with the values Odoo's
    ``new_test_user`` gives (its password is the login, padded to 8
    characters). Return them; the caller commits."""
    # The context of Odoo's test classes, not the shell's (its user's time
    # zone and language would become the users' defaults).
    users = env(context=MAIL_OFF)["res.users"]
    company = env.ref(f"{PREPARED_COMPANY_MODULE}.company_1_data")
    values = {
        ACCOUNTMAN["login"]: dict(
            ACCOUNTMAN,
            groups_id=[
                Command.set(
                    (users._default_groups() | _groups(env, ACCOUNTMAN_GROUPS)).ids
                )
            ],
            company_id=env.ref("base.main_company").id,
            company_ids=[Command.link(env.ref("base.main_company").id)],
        )
    }
    for login, groups in PREPARED_USERS.items():
        values[login] = {
            "name": f"{login} ({groups})",
            "login": login,
            "password": login + "x" * (8 - len(login)),
            "email": f"{login[0]}.{login[0]}@example.com",
            "groups_id": [Command.set(_groups(env, groups.split(",")).ids)],
            "company_id": company.id,
            "company_ids": [Command.set(company.ids)],
        }
    created = env["res.users"]
    for login, user_values in values.items():
        user = users.create(user_values)
        _name_prepared(user, prepared_user_name(login))
        created |= user
    return created


def prepared_user_name(login):
    """The external id name of the prepared user ``login``."""
    return f"user_{login}"


def _name_prepared(record, name):
    """Give ``record`` the external id ``name`` of the prepared records."""
    record.env["ir.model.data"].create(
        {
            "module": PREPARED_COMPANY_MODULE,
            "name": name,
            "model": record._name,
            "res_id": record.id,
            "noupdate": True,
        }
    )


def _groups(env, xml_ids):
    return env["res.groups"].browse(env.ref(xml_id.strip()).id for xml_id in xml_ids)
