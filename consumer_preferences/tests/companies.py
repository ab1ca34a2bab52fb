# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""The companies Odoo's accounting test classes create for each class (a
company and its chart of accounts: about 2 s each), prepared once in the test
command's template database and found there by external id
(``ConsumerPreferenceCommon``). Without them (Odoo's own test runner), each
class creates its own, as Odoo does.

Nothing here imports Odoo's test framework: ``tools/templates.py`` runs this
file in an Odoo shell, outside test mode."""

PREPARED_COMPANY_MODULE = "__consumer_preferences_tests__"
PREPARED_COMPANIES = ("company_1_data", "company_2")


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
        env["ir.model.data"].create(
            {
                "module": PREPARED_COMPANY_MODULE,
                "name": name,
                "model": "res.company",
                "res_id": company.id,
                "noupdate": True,
            }
        )
        companies |= company
    return companies
