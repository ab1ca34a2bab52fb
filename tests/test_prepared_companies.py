"""End-to-end: the test command's template holds the companies and users
Odoo's accounting test classes and ours would each create, and the classes
use them."""

from odoo import Command
from odoo.exceptions import AccessDenied
from odoo.tests import new_test_user, tagged

from odoo.addons.consumer_preferences.tests.common import ConsumerPreferenceCommon
from odoo.addons.consumer_preferences.tests.companies import (
    ACCOUNTMAN,
    PREPARED_COMPANY_MODULE,
    PREPARED_USERS,
    prepared_user_name,
)


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


def user_shape(user):
    """What a test relies on of a user, ids, login and name left out."""
    return {
        "groups": sorted(user.groups_id.mapped("full_name")),
        "company": user.company_id,
        "companies": user.company_ids,
        "active": user.active,
        "share": user.share,
        "lang": user.lang,
        "tz": user.tz,
        "email domain": user.email.split("@")[1],
    }


def password_accepted(user, password):
    """Whether ``password`` logs ``user`` in (what a browser test does)."""
    try:
        user.with_user(user)._check_credentials(
            {"type": "password", "password": password}, {"interactive": True}
        )
    except AccessDenied:
        return False
    return True


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

    def test_classes_use_the_prepared_users_as_odoo_makes_them(self):
        users = {
            login: self.env.ref(
                f"{PREPARED_COMPANY_MODULE}.{prepared_user_name(login)}"
            )
            for login in (*PREPARED_USERS, ACCOUNTMAN["login"])
        }
        self.assertEqual(
            [self.salesperson, self.accountant, self.preference_manager],
            [users["cp_salesperson"], users["cp_accountant"], users["cp_manager"]],
        )
        self.assertEqual(self.env.user, users[ACCOUNTMAN["login"]])

        for login, groups in PREPARED_USERS.items():
            with self.subTest(login=login):
                created = new_test_user(
                    self.env,
                    login=f"{login}_created",
                    groups=groups,
                    company_id=self.company.id,
                    company_ids=[Command.set(self.company.ids)],
                )
                self.assertEqual(user_shape(users[login]), user_shape(created))
                # new_test_user's password: the login, padded to 8 characters
                password = login + "x" * (8 - len(login))
                self.assertTrue(password_accepted(users[login], password))
                self.assertFalse(password_accepted(users[login], "wrong"))

        # accountman, once Odoo's set-up gave it the class's company.
        created = super(ConsumerPreferenceCommon, self).setup_independent_user()
        created.company_id = self.company
        created.company_ids = [Command.set(self.company.ids)]
        self.assertEqual(user_shape(self.env.user), user_shape(created))
        self.assertEqual(
            (self.env.user.name, self.env.user.email),
            (created.name, created.email),
        )
        self.assertTrue(password_accepted(self.env.user, ACCOUNTMAN["password"]))
