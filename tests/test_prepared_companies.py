"""End-to-end: the test command's template holds the companies Odoo's
accounting test classes would each create, and the classes use them."""

from odoo.tests import tagged

from odoo.addons.consumer_preferences.tests.common import ConsumerPreferenceCommon
from odoo.addons.consumer_preferences.tests.companies import PREPARED_COMPANY_MODULE


def account_codes(company):
    """The codes of the company's accounts (kept per company, in SQL: the
    ORM reads them for the user's current company)."""
    company.env.flush_all()
    company.env.cr.execute(
        """
        SELECT account.code_store->>%(company)s
          FROM account_account account
          JOIN account_account_res_company_rel rel
            ON rel.account_account_id = account.id
         WHERE rel.res_company_id = %(company)s::int
        """,
        {"company": str(company.root_id.id)},
    )
    return sorted(code for (code,) in company.env.cr.fetchall())


def accounting_shape(company_data):
    """What a test sees of a company's accounting, ids left out."""
    company = company_data["company"]
    env = company.env
    return {
        "accounts": account_codes(company),
        "journals": sorted(
            env["account.journal"]
            .search([("company_id", "=", company.id)])
            .mapped("code")
        ),
        "taxes": sorted(
            env["account.tax"].search([("company_id", "=", company.id)]).mapped("name")
        ),
        "currency": company.currency_id.name,
        "fiscal_country": company.account_fiscal_country_id.code,
        "defaults": sorted(
            key for key, value in company_data.items() if value and key != "company"
        ),
    }


@tagged("post_install", "-at_install")
class TestPreparedCompanies(ConsumerPreferenceCommon):
    def test_classes_use_the_prepared_companies_as_odoo_makes_them(self):
        prepared = self.env.ref(f"{PREPARED_COMPANY_MODULE}.company_1_data")
        self.assertEqual(self.company, prepared)
        self.assertEqual(self.env.user.company_ids, prepared)

        other = self.setup_other_company()
        self.assertEqual(
            other["company"], self.env.ref(f"{PREPARED_COMPANY_MODULE}.company_2")
        )
        self.assertIn(other["company"], self.env.user.company_ids)

        # The same accounting as a company Odoo's test class creates itself.
        created = super(ConsumerPreferenceCommon, self).setup_other_company(
            name="company_2_created"
        )
        self.assertEqual(accounting_shape(other), accounting_shape(created))
        # The class's own company too, but for the accounts and taxes that
        # Odoo's set-up adds to it.
        shape, created_shape = (
            accounting_shape(self.company_data),
            accounting_shape(created),
        )
        for key in ("journals", "currency", "fiscal_country", "defaults"):
            self.assertEqual(shape[key], created_shape[key], key)
