# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import ConsumerPreferenceCommon

ALLOWED, DENIED = "allowed", "AccessError"
OPERATIONS = (
    "read_specification",
    "create_specification",
    "write_specification",
    "unlink_specification",
    "read_history",
    "bill",
    "rebuild",
    "erase",
    "forget",
    "read_other_company_line",
)
# Who may do what: one row per kind of user, one column per operation.
Y, N = ALLOWED, DENIED
EXPECTED_RIGHTS = {
    "salesperson_own_documents": (Y, Y, Y, Y, Y, N, N, Y, Y, N),
    "salesperson_all_documents": (Y, Y, Y, Y, Y, N, N, Y, Y, N),
    "invoicing_user": (Y, N, N, N, Y, Y, N, N, N, N),
    "accounting_read_only": (Y, N, N, N, Y, N, N, N, N, N),
    "internal_user": (N, N, N, N, N, N, N, N, N, N),
    "portal_user": (N, N, N, N, N, N, N, N, N, N),
    "preference_manager": (Y, Y, Y, Y, Y, N, Y, Y, Y, N),
    "invoicing_administrator": (Y, Y, Y, Y, Y, Y, Y, Y, Y, N),
    "salesperson_of_two_companies": (Y, Y, Y, Y, Y, N, N, Y, Y, Y),
}
USER_GROUPS = {
    "salesperson_own_documents": "base.group_user,sales_team.group_sale_salesman",
    "salesperson_all_documents": (
        "base.group_user,sales_team.group_sale_salesman_all_leads"
    ),
    "invoicing_user": "base.group_user,account.group_account_invoice",
    "accounting_read_only": "base.group_user,account.group_account_readonly",
    "internal_user": "base.group_user",
    "portal_user": "base.group_portal",
    "preference_manager": (
        "base.group_user,consumer_preferences.group_consumer_preference_manager"
    ),
    "invoicing_administrator": "base.group_user,account.group_account_manager",
    "salesperson_of_two_companies": "base.group_user,sales_team.group_sale_salesman",
}


class _RolledBack(Exception):
    """Undoes what an operation did, so that every cell starts afresh."""


@tagged("post_install", "-at_install")
class TestConsumerPreferenceAccessRights(ConsumerPreferenceCommon):
    """The full matrix of rights: every kind of user against every operation,
    each cell either allowed (and effective) or refused with AccessError."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.consumer_preference_billing = True
        cls.other_company = cls.setup_other_company()["company"]
        cls.users = {}
        for name, groups in USER_GROUPS.items():
            companies = cls.company
            if name == "salesperson_of_two_companies":
                companies |= cls.other_company
            cls.users[name] = new_test_user(
                cls.env,
                login=f"cp_rights_{name}",
                groups=groups,
                company_id=cls.company.id,
                company_ids=[Command.set(companies.ids)],
            )
        cls.specification = cls.env["consumer.preference"].create(
            {"partner_id": cls.customer.id, "product_id": cls.tea.id}
        )
        cls._post_customer_invoice(cls.customer, [(cls.coffee, 2, 8.0)])
        cls.history = cls.env["consumer.preference"].search(
            [("partner_id", "=", cls.customer.id), ("preference_type", "=", "history")]
        )
        cls.other_company_specification = cls.env["consumer.preference"].create(
            {
                "partner_id": cls.customer.id,
                "product_id": cls.coffee.id,
                "company_id": cls.other_company.id,
            }
        )

    def _as(self, records, user):
        """The records as the user's web client sees them: all of the user's
        companies selected."""
        return records.with_user(user).with_context(
            allowed_company_ids=user.company_ids.ids
        )

    # Operations: each does what its name says as ``user``, then checks it
    # took effect.
    def _read_specification(self, user):
        values = self._as(self.specification, user).read(["product_id"])
        self.assertEqual(values[0]["product_id"][0], self.tea.id)

    def _create_specification(self, user):
        created = self._as(self.env["consumer.preference"], user).create(
            {"partner_id": self.customer.id, "product_id": self.coffee.id}
        )
        self.assertRecordValues(created, [{"preference_type": "specification"}])

    def _write_specification(self, user):
        self._as(self.specification, user).write({"note": "Green tea"})
        self.assertEqual(self.specification.note, "Green tea")

    def _unlink_specification(self, user):
        self._as(self.specification, user).unlink()
        self.assertFalse(self.specification.exists())

    def _read_history(self, user):
        values = self._as(self.history, user).read(["invoice_count", "amount"])
        self.assertEqual((values[0]["invoice_count"], values[0]["amount"]), (1, 16.0))

    def _bill(self, user):
        # An invoice: a bridge may offer other documents (the Sales bridge
        # quotes for users who may not invoice), whose rights it tests.
        wizard = (
            self._as(self.env["consumer.preference.bill"], user)
            .with_context(
                active_model="res.partner",
                active_id=self.customer.id,
                default_document_type="invoice",
            )
            .create({})
        )
        wizard.line_ids.filtered(lambda line: line.product_id == self.coffee).write(
            {"quantity": 2}
        )
        invoice = self.env["account.move"].browse(wizard.action_bill()["res_id"])
        self.assertRecordValues(invoice, [{"partner_id": self.customer.id}])

    def _rebuild(self, user):
        self.env.cr.execute(
            "UPDATE consumer_preference SET invoice_count = 99 WHERE id = %s",
            self.history.ids,
        )
        self.history.invalidate_recordset()
        self.assertIs(
            self._as(self.customer, user).action_consumer_preference_rebuild(), True
        )
        self.assertEqual(self.history.invoice_count, 1)

    def _erase(self, user):
        self._as(self.customer, user).action_consumer_preference_erase_history()
        self.assertFalse(self.history.exists())
        self.assertFalse(self.customer.consumer_preference_consent)

    def _forget(self, user):
        self._as(self.customer, user).action_consumer_preference_forget()
        self.assertFalse(self.specification.exists())
        self.assertFalse(self.history.exists())

    def _read_other_company_line(self, user):
        values = self._as(self.other_company_specification, user).read(["product_id"])
        self.assertEqual(values[0]["product_id"][0], self.coffee.id)

    def _attempt(self, operation, user):
        """ALLOWED or DENIED; nothing the operation did survives."""
        try:
            with self.env.cr.savepoint():
                try:
                    getattr(self, f"_{operation}")(user)
                except AccessError:
                    raise _RolledBack(DENIED) from None
                raise _RolledBack(ALLOWED)
        except _RolledBack as rolled_back:
            outcome = rolled_back.args[0]
        self.env.invalidate_all(flush=False)
        return outcome

    def test_rights_matrix(self):
        rights = {
            name: tuple(self._attempt(operation, user) for operation in OPERATIONS)
            for name, user in self.users.items()
        }
        for name, expected in EXPECTED_RIGHTS.items():
            with self.subTest(user=name):
                self.assertEqual(
                    dict(zip(OPERATIONS, rights[name], strict=True)),
                    dict(zip(OPERATIONS, expected, strict=True)),
                )

    def test_queues_follow_companies(self):
        """A manager reads the queued keys and customers of its companies
        only: a queue row names a customer and, for the history, a product
        it bought in that company."""
        self.env["consumer.preference.history"]._enqueue(
            [
                (self.company.id, self.customer.id, self.tea.id),
                (self.other_company.id, self.customer.id, self.coffee.id),
            ]
        )
        self.env.cr.execute(
            "INSERT INTO consumer_preference_segment_queue (company_id, partner_id) "
            "VALUES (%s, %s), (%s, %s)",
            (
                self.company.id,
                self.customer.id,
                self.other_company.id,
                self.customer.id,
            ),
        )
        manager = self.users["preference_manager"]
        for model in (
            "consumer.preference.history.queue",
            "consumer.preference.segment.queue",
        ):
            with self.subTest(model=model):
                Queue = self._as(self.env[model], manager)
                self.assertEqual(
                    {row["company_id"][0] for row in Queue.search_read([])},
                    {self.company.id},
                )
                self.assertFalse(
                    Queue.read_group(
                        [("company_id", "=", self.other_company.id)],
                        ["partner_id"],
                        ["partner_id"],
                    )
                )

    def test_specification_stays_in_user_companies(self):
        """Writing a line's company is writing in that company: a salesperson
        of one company cannot move its customer's specification into another
        (where it would count for that company's users and reports)."""
        for name, allowed in (
            ("salesperson_own_documents", False),
            ("preference_manager", False),
            ("salesperson_of_two_companies", True),
        ):
            with self.subTest(user=name), self.env.cr.savepoint() as savepoint:
                specification = self._as(self.specification, self.users[name])
                if allowed:
                    specification.write({"company_id": self.other_company.id})
                    self.assertEqual(self.specification.company_id, self.other_company)
                else:
                    with self.assertRaises(AccessError):
                        specification.write({"company_id": self.other_company.id})
                savepoint.rollback()
                self.env.invalidate_all(flush=False)
                self.assertEqual(self.specification.company_id, self.company)

    def test_creating_in_another_company_tells_nothing(self):
        """A line created in a company the user does not work in is refused
        the same way whether that company's customer has the product or not:
        the uniqueness check would otherwise name what it has. A user of both
        companies is told of the duplicate."""
        for name, product in (
            ("salesperson_own_documents", self.coffee),
            ("salesperson_own_documents", self.tea),
            ("preference_manager", self.coffee),
        ):
            with self.subTest(user=name, product=product.name):
                with self.assertRaisesRegex(
                    AccessError, "only add preferences in the companies you work in"
                ):
                    self._as(self.env["consumer.preference"], self.users[name]).create(
                        {
                            "partner_id": self.customer.id,
                            "product_id": product.id,
                            "company_id": self.other_company.id,
                        }
                    )
        with self.assertRaisesRegex(ValidationError, "already has this product"):
            self._as(
                self.env["consumer.preference"],
                self.users["salesperson_of_two_companies"],
            ).create(
                {
                    "partner_id": self.customer.id,
                    "product_id": self.coffee.id,
                    "company_id": self.other_company.id,
                }
            )

    def test_bill_line_of_other_company_preference(self):
        """The Bill wizard's lines show their preference's product, values,
        invoices and suggested quantity (related fields, read as superuser):
        a line may name only a preference the user may read, else RPC would
        show another company's customer's history through it."""
        wizard = self._as(
            self.env["consumer.preference.bill"], self.users["invoicing_user"]
        ).create({"partner_id": self.customer.id})
        Line = self._as(
            self.env["consumer.preference.bill.line"], self.users["invoicing_user"]
        )
        with self.assertRaises(AccessError):
            Line.create(
                {
                    "wizard_id": wizard.id,
                    "preference_id": self.other_company_specification.id,
                }
            )
        line = Line.create(
            {"wizard_id": wizard.id, "preference_id": self.specification.id}
        )
        with self.assertRaises(AccessError):
            line.write({"history_id": self.other_company_specification.id})
        self.assertEqual(line.product_id, self.tea)

    def test_bill_wizard_follows_companies(self):
        """A Bill wizard belongs to its company, as the invoice it issues: a
        user of another company neither reads it, nor its lines (which show
        their preference's product, values and suggested quantity), nor opens
        one in that company."""
        other_wizard = self.env["consumer.preference.bill"].create(
            {
                "partner_id": self.customer.id,
                "company_id": self.other_company.id,
                "line_ids": [
                    Command.create(
                        {"preference_id": self.other_company_specification.id}
                    )
                ],
            }
        )
        Wizard = self._as(
            self.env["consumer.preference.bill"], self.users["invoicing_user"]
        )
        Line = self._as(
            self.env["consumer.preference.bill.line"], self.users["invoicing_user"]
        )
        self.assertFalse(Wizard.search([("id", "=", other_wizard.id)]))
        self.assertFalse(Line.search([("id", "in", other_wizard.line_ids.ids)]))
        with self.assertRaises(AccessError):
            Wizard.browse(other_wizard.id).read(["partner_id"])
        with self.assertRaises(AccessError):
            Line.browse(other_wizard.line_ids.ids).read(["product_id"])
        with self.assertRaises(AccessError):
            Wizard.create(
                {"partner_id": self.customer.id, "company_id": self.other_company.id}
            )
        own_wizard = Wizard.create(
            {
                "partner_id": self.customer.id,
                "line_ids": [Command.create({"preference_id": self.specification.id})],
            }
        )
        self.assertEqual(own_wizard.company_id, self.company)
        self.assertEqual(own_wizard.line_ids.product_id, self.tea)

    def test_computed_rows_keep_their_company(self):
        """Segments, reorder reminders and products bought together are
        filled in SQL, but a row written through the ORM (an integrator's
        script, a data import) is checked as the other models are: it cannot
        name a customer or a product of another company."""
        other_customer = self.env["res.partner"].create(
            {"name": "Other Company Customer", "company_id": self.other_company.id}
        )
        other_product = self.env["product.product"].create(
            {"name": "Other Company Product", "company_id": self.other_company.id}
        )
        company = self.company.id
        for model, values in (
            ("consumer.preference.segment", {"partner_id": other_customer.id}),
            (
                "consumer.preference.reminder",
                {
                    "partner_id": other_customer.id,
                    "due_date": "2026-01-01",
                    "product_ids": [Command.set(self.tea.ids)],
                },
            ),
            (
                "consumer.preference.reminder",
                {
                    "partner_id": self.customer.id,
                    "due_date": "2026-01-01",
                    "product_ids": [Command.set(other_product.ids)],
                },
            ),
            (
                "consumer.preference.affinity",
                {"product_id": other_product.id, "related_product_id": self.tea.id},
            ),
            (
                "consumer.preference.affinity",
                {"product_id": self.tea.id, "related_product_id": other_product.id},
            ),
        ):
            with self.subTest(model=model, values=repr(values)):
                # sudo: only the scheduled actions write these rows.
                with self.assertRaises(UserError) as caught, self.env.cr.savepoint():
                    self.env[model].sudo().create(dict(values, company_id=company))
                self.assertNotIsInstance(caught.exception, AccessError)

    def test_bill_wizard_customer_of_its_company(self):
        """The Bill wizard offers, and accepts, only customers its company may
        invoice: one restricted to another company is refused when the
        wizard is opened, not after the user has entered quantities."""
        other_customer = self.env["res.partner"].create(
            {"name": "Other Company Customer", "company_id": self.other_company.id}
        )
        accountant = new_test_user(
            self.env,
            login="cp_rights_accountant_of_two_companies",
            groups="base.group_user,account.group_account_invoice",
            company_id=self.company.id,
            company_ids=[Command.set((self.company | self.other_company).ids)],
        )
        Wizard = self._as(self.env["consumer.preference.bill"], accountant)
        with self.assertRaises(UserError) as caught:
            Wizard.create({"partner_id": other_customer.id})
        self.assertNotIsInstance(caught.exception, AccessError)
        wizard = Wizard.with_company(self.other_company).create(
            {"partner_id": other_customer.id}
        )
        self.assertEqual(wizard.company_id, self.other_company)
