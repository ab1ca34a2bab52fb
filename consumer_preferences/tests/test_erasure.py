# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import SQL

from ..models.res_partner import PREFERENCE_USER_GROUP
from .common import ConsumerPreferenceCommon


@tagged("post_install", "-at_install")
class TestConsumerPreferenceErasure(ConsumerPreferenceCommon):
    """Erasing the history or forgetting the profile at the customer's request:
    in the user's companies only, and for good (consent withdrawn)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_company = cls.setup_other_company()["company"]

    def _post_other_company_invoice(self, partner, product):
        invoice = (
            self.env["account.move"]
            .with_company(self.other_company)
            .create(
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "invoice_date": "2026-01-20",
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "quantity": 5,
                                "price_unit": 8.0,
                                "tax_ids": [],
                            }
                        )
                    ],
                }
            )
        )
        invoice.action_post()
        return invoice

    def _last_message(self, partner):
        return partner.message_ids.sorted("id")[-1].body

    # Defect 1 ---------------------------------------------------------------
    def test_erase_keeps_other_company_history(self):
        """A salesperson of the first company only erases that company's
        lines. Needs the company filter of the history service's _erase."""
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        self._post_other_company_invoice(self.customer, self.tea)

        erased_count = self.customer.with_user(
            self.salesperson
        ).action_consumer_preference_erase_history()

        self.assertEqual(erased_count, 1)
        self.assertRecordValues(
            self._history(self.customer),
            [{"company_id": self.other_company.id, "product_id": self.tea.id}],
        )
        # the trace names the company erased, not the other
        self.assertIn(
            f"erased in {self.company.name} at", self._last_message(self.customer)
        )
        self.assertNotIn(self.other_company.name, self._last_message(self.customer))

    def test_forget_keeps_other_company_profile(self):
        """Forget, too, erases the lines of the user's companies only. Needs
        the company filter of the history service's _erase."""
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        self._post_other_company_invoice(self.customer, self.tea)
        self.env["consumer.preference"].create(
            {
                "partner_id": self.customer.id,
                "company_id": self.other_company.id,
                "product_id": self.coffee.id,
            }
        )
        self.env["consumer.preference"].create(
            {"partner_id": self.customer.id, "product_id": self.tea.id}
        )

        self.customer.with_user(self.salesperson).action_consumer_preference_forget()

        self.assertRecordValues(
            self.env["consumer.preference"].search(
                [("partner_id", "=", self.customer.id)]
            ),
            [
                {
                    "company_id": self.other_company.id,
                    "preference_type": "specification",
                    "product_id": self.coffee.id,
                },
                {
                    "company_id": self.other_company.id,
                    "preference_type": "history",
                    "product_id": self.tea.id,
                },
            ],
        )

    # Defect 2 ---------------------------------------------------------------
    def test_forget_withdraws_consent_for_good(self):
        self.env["consumer.preference"].create(
            {"partner_id": self.customer.id, "product_id": self.tea.id}
        )
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])

        self.customer_contact.with_user(
            self.salesperson
        ).action_consumer_preference_forget()

        self.assertRecordValues(
            self.customer | self.customer_contact,
            [
                {"consumer_preference_consent": False},
                {"consumer_preference_consent": False},
            ],
        )
        self.assertIn("consent withdrawn", self._last_message(self.customer))
        self.assertFalse(
            self.env["consumer.preference"].search(
                [("partner_id", "=", self.customer.id)]
            )
        )
        # Neither the next invoice nor a manager's rebuild records anything.
        self._post_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        self.assertFalse(self._history(self.customer))
        self.customer.with_user(
            self.preference_manager
        ).action_consumer_preference_rebuild()
        self.assertFalse(self._history(self.customer))

    def test_erase_withdraws_consent_of_consenting_customer(self):
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        self.assertTrue(self.customer.consumer_preference_consent)

        self.customer.with_user(
            self.salesperson
        ).action_consumer_preference_erase_history()

        self.assertFalse(self.customer.consumer_preference_consent)
        self.assertIn(
            f"Purchase history erased in {self.company.name} at the customer's "
            "request; consent withdrawn",
            self._last_message(self.customer),
        )
        self._post_customer_invoice(self.customer, [(self.tea, 1, 5.0)])
        self.assertFalse(self._history(self.customer))
        self.customer.with_user(
            self.preference_manager
        ).action_consumer_preference_rebuild()
        self.assertFalse(self._history(self.customer))

    # Erasures racing a posting --------------------------------------------
    def _process_queue(self):
        self.env["consumer.preference.history"]._process_queue()
        self.customer.invalidate_recordset(["consumer_preference_history_pending"])

    def _copy_history_line(self, line, company):
        """Copy ``line`` into ``company`` below the ORM, as the history
        service writes (lines cannot be created by hand)."""
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'consumer_preference' "
            "AND column_name NOT IN ('id', 'company_id')"
        )
        columns = SQL(", ").join(
            SQL.identifier(column) for (column,) in self.env.cr.fetchall()
        )
        self.env.cr.execute(
            SQL(
                "INSERT INTO consumer_preference (company_id, %s) "
                "SELECT %s, %s FROM consumer_preference WHERE id = %s",
                columns,
                company.id,
                columns,
                line.id,
            )
        )

    def test_erasure_is_done_again_once_committed(self):
        """The erased customer waits in the queue, whole, in the user's
        companies: the scheduled action erases again what a posting
        committed meanwhile added (here copied in, as it would have been),
        and nothing of the other companies."""
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        self._post_other_company_invoice(self.customer, self.tea)

        self.customer.with_user(
            self.salesperson
        ).action_consumer_preference_erase_history()

        self.assertTrue(self.customer.consumer_preference_history_pending)
        other_line = self._history(self.customer)
        self._copy_history_line(other_line, self.env.company)
        self._process_queue()
        self.assertEqual(self._history(self.customer), other_line)
        self.assertFalse(self.customer.consumer_preference_history_pending)

    def test_consent_given_back_after_an_erasure_ends_it(self):
        """Consent given back before the queue ran: the history is rebuilt
        and the queued erasure does not take it away, even if consent is
        withdrawn again (a withdrawal keeps the history)."""
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        self.customer.action_consumer_preference_erase_history()
        self.customer.consumer_preference_consent = True
        self.assertEqual(self._history(self.customer).product_id, self.coffee)
        self.assertTrue(self.customer.consumer_preference_history_pending)

        self.customer.consumer_preference_consent = False
        self._process_queue()

        self.assertEqual(self._history(self.customer).product_id, self.coffee)
        self.assertFalse(self.customer.consumer_preference_history_pending)

    def test_consent_recorded_on_the_company_not_a_contact(self):
        """A contact's box follows its company's (read-only on its form):
        written on the contact over RPC, where the history would ignore it,
        it is refused, naming the company; Odoo's own copy of the company's
        box to its contacts goes on."""
        with self.assertRaisesRegex(UserError, "record the consent on Azure Shop"):
            self.customer_contact.with_user(self.salesperson).write(
                {"consumer_preference_consent": False}
            )
        self.assertTrue(self.customer.consumer_preference_consent)
        self.assertTrue(self.customer_contact.consumer_preference_consent)
        self.customer.with_user(self.salesperson).consumer_preference_consent = False
        self.assertFalse(self.customer_contact.consumer_preference_consent)
        # the same value as its company's: nothing to refuse
        self.customer_contact.with_user(self.salesperson).write(
            {"consumer_preference_consent": False}
        )

    def test_consent_imported_for_contacts_before_their_company(self):
        """An import unticks the box of a company and of its contact, the
        contact's row first: each row alone would be refused (the company
        still consents when the contact's is written); the whole file is
        not. A file that leaves a contact differing from its company is
        refused whole, naming the company."""
        Partner = self.env["res.partner"].with_user(self.salesperson)
        fields = [".id", "consumer_preference_consent"]

        result = Partner.load(
            fields,
            [[str(self.customer_contact.id), "0"], [str(self.customer.id), "0"]],
        )

        self.assertEqual(result["messages"], [])
        self.assertEqual(result["ids"], [self.customer_contact.id, self.customer.id])
        self.assertFalse(self.customer.consumer_preference_consent)
        self.assertFalse(self.customer_contact.consumer_preference_consent)

        # the same file through the Import screen: its error, no traceback
        importer = (
            self.env["base_import.import"]
            .with_user(self.salesperson)
            .create(
                {
                    "res_model": "res.partner",
                    "file": f".id,Consent\n{self.customer_contact.id},1\n".encode(),
                    "file_type": "text/csv",
                    "file_name": "consent.csv",
                }
            )
        )
        result = importer.execute_import(
            fields,
            [".id", "Consent"],
            {
                "has_headers": True,
                "separator": ",",
                "quoting": '"',
                "encoding": "utf-8",
            },
        )

        self.assertFalse(result["ids"])
        self.assertEqual(len(result["messages"]), 1)
        self.assertIn(
            "record the consent on Azure Shop", result["messages"][0]["message"]
        )
        self.assertFalse(self.customer_contact.consumer_preference_consent)
        # the check is load's own: a context key sent by a client skips nothing
        with self.assertRaises(UserError):
            self.customer_contact.with_user(self.salesperson).with_context(
                consumer_preference_consent_checked_after_load=True
            ).write({"consumer_preference_consent": True})

    def test_consent_given_back_by_preferences_users_only(self):
        """A user who may edit contacts but has no Preferences right may
        withdraw a customer's consent, not give it back: that rebuilds the
        history (in SQL, in every company), undoing an erasure made in
        another company."""
        self._post_other_company_invoice(self.customer, self.tea)
        clerk = self._new_company_user(
            "cp_contact_clerk", "base.group_user,base.group_partner_manager"
        )
        self.assertFalse(clerk.has_group(PREFERENCE_USER_GROUP))
        self.customer.with_user(clerk).consumer_preference_consent = False
        self.assertFalse(self.customer.consumer_preference_consent)
        self.customer.with_user(
            self.salesperson
        ).action_consumer_preference_erase_history()
        with self.assertRaisesRegex(AccessError, "record a customer's consent again"):
            self.customer.with_user(clerk).consumer_preference_consent = True
        self.assertFalse(self.customer.consumer_preference_consent)
        self.assertEqual(self._history(self.customer).company_id, self.other_company)
        # a Preferences user may
        self.customer.with_user(self.salesperson).consumer_preference_consent = True
        self.assertTrue(self.customer.consumer_preference_consent)

    def test_erasing_again_tries_no_lock_of_other_customers(self):
        """The queue erases again without trying the lines' key locks: read
        by a scan of every history line (as PostgreSQL plans it for many
        erasures at once), trying them would lock every customer's keys,
        and could fill PostgreSQL's lock table."""
        other_customer = self.env["res.partner"].create({"name": "Other Shop"})
        self._post_customer_invoice(other_customer, [(self.tea, 1, 5.0)])
        # A line whose key no posting of this transaction locked.
        self._copy_history_line(self._history(other_customer), self.other_company)
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        self.customer.action_consumer_preference_erase_history()
        self.env.cr.execute("SET LOCAL enable_indexscan = off")
        self.env.cr.execute("SET LOCAL enable_bitmapscan = off")
        locks_query = (
            "SELECT COUNT(*) FROM pg_locks "
            "WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
        self.env.cr.execute(locks_query)
        locks_before = self.env.cr.fetchone()[0]

        self._process_queue()

        self.env.cr.execute(locks_query)
        self.assertEqual(self.env.cr.fetchone()[0], locks_before)
        self.assertEqual(len(self._history(other_customer)), 2)
        self.assertFalse(self.customer.consumer_preference_history_pending)
