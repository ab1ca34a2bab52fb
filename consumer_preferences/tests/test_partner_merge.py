# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import ConsumerPreferenceCommon


@tagged("post_install", "-at_install")
class TestConsumerPreferencePartnerMerge(ConsumerPreferenceCommon):
    """Odoo's Merge wizard on two records of one customer: the kept customer
    ends with both histories and both sets of specifications."""

    def _merge(self, partners, kept):
        """Merge ``partners`` into ``kept`` with Odoo's wizard, as the
        salesperson does from the contacts list (Action > Merge)."""
        wizard_form = Form(
            self.env["base.partner.merge.automatic.wizard"]
            .with_user(self.salesperson)
            .with_context(active_model="res.partner", active_ids=partners.ids)
        )
        wizard_form.dst_partner_id = kept
        wizard_form.save().action_merge()

    def test_merge_keeps_both_histories_and_specifications(self):
        duplicate = self.env["res.partner"].create(
            {"name": "Azure Shop (old)", "is_company": True}
        )
        self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="2026-01-10"
        )
        self._post_customer_invoice(
            duplicate, [(self.coffee, 3, 9.0)], invoice_date="2026-02-10"
        )
        Preference = self.env["consumer.preference"].with_user(self.salesperson)
        kept_coffee = Preference.create(
            {
                "partner_id": self.customer.id,
                "product_id": self.coffee.id,
                "note": "Dark roast",
            }
        )
        Preference.create(
            {"partner_id": duplicate.id, "product_id": self.coffee.id, "note": "Beans"}
        )
        moved_tea = Preference.create(
            {"partner_id": duplicate.id, "product_id": self.tea.id}
        )

        self._merge(self.customer | duplicate, self.customer)

        self.assertFalse(duplicate.exists())
        preferences = self.env["consumer.preference"].search(
            [("partner_id", "=", self.customer.id)]
        )
        specifications = preferences.filtered(
            lambda preference: preference.preference_type == "specification"
        )
        self.assertRecordValues(
            specifications,
            [
                {"id": kept_coffee.id, "note": "Dark roast / Beans"},
                {"id": moved_tea.id, "note": False},
            ],
        )
        self.assertRecordValues(
            preferences - specifications,
            [
                {
                    "preference_type": "history",
                    "product_id": self.coffee.id,
                    "invoice_count": 2,
                    "quantity": 5.0,
                    "amount": 43.0,
                    "first_invoice_date": fields.Date.to_date("2026-01-10"),
                    "last_invoice_date": fields.Date.to_date("2026-02-10"),
                    "last_price_unit": 9.0,
                }
            ],
        )
        self.assertFalse(
            self.env["consumer.preference"].search([("partner_id", "=", duplicate.id)])
        )
        # Its segment counts the invoices of both, at once.
        self.assertRecordValues(
            self.env["consumer.preference.segment"].search(
                [
                    ("partner_id", "=", self.customer.id),
                    ("company_id", "=", self.company.id),
                ]
            ),
            [{"invoice_count": 2, "amount": 43.0, "average_interval_days": 31.0}],
        )

    def test_merge_keeps_a_withdrawn_consent(self):
        """A customer who withdrew consent stays withdrawn when a duplicate
        record of it (which consents, by default) is merged in, either way:
        Odoo's merge keeps a box ticked on any of the records, and would
        record the customer's purchases again."""
        for kept_withdrew in (True, False):
            with self.subTest(kept_withdrew=kept_withdrew):
                withdrawn, consenting = self.env["res.partner"].create(
                    [
                        {"name": "Withdrawn Shop", "is_company": True},
                        {"name": "Consenting Shop", "is_company": True},
                    ]
                )
                for partner in (withdrawn, consenting):
                    self._post_customer_invoice(
                        partner, [(self.coffee, 2, 8.0)], invoice_date="2026-01-10"
                    )
                withdrawn.with_user(
                    self.salesperson
                ).action_consumer_preference_erase_history()
                kept = withdrawn if kept_withdrew else consenting

                self._merge(withdrawn | consenting, kept)

                self.assertFalse(kept.consumer_preference_consent)
                # The withdrawn record's purchases are not recorded again.
                history = self.env["consumer.preference"].search(
                    [("partner_id", "=", kept.id), ("preference_type", "=", "history")]
                )
                self.assertEqual(
                    history.mapped("invoice_count"), [] if kept_withdrew else [1]
                )
                self.assertFalse(
                    self.env["consumer.preference.segment"].search(
                        [("partner_id", "=", kept.id)]
                    )
                )

    def test_merge_of_an_erased_duplicate_keeps_the_kept_history(self):
        """A duplicate whose history was just erased (its erasure still
        queued) is merged into a consenting customer: the merge withdraws the
        kept customer's consent, which keeps its history as it is; the
        queue does not erase it."""
        duplicate = self.env["res.partner"].create(
            {"name": "Erased Duplicate", "is_company": True}
        )
        self._post_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        self._post_customer_invoice(duplicate, [(self.tea, 1, 5.0)])
        duplicate.with_user(self.salesperson).action_consumer_preference_erase_history()

        self._merge(self.customer | duplicate, self.customer)
        self.env["consumer.preference.history"]._process_queue()

        self.assertFalse(self.customer.consumer_preference_consent)
        self.assertEqual(self._history(self.customer).product_id, self.coffee)

    def test_withdrawn_person_merged_into_a_contact_withdraws_its_company(self):
        """A private customer who asked to be forgotten turns out to be a
        contact of Azure Shop: merged into that contact, its purchases belong
        to Azure Shop, whose consent is withdrawn, so they are not recorded;
        Azure Shop's own history stays as it was."""
        person = self.env["res.partner"].create({"name": "Jane Azure (private)"})
        self._post_customer_invoice(
            person, [(self.tea, 4, 5.0)], invoice_date="2026-01-10"
        )
        self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="2026-01-12"
        )
        history_before = self._history(self.customer).read(
            ["product_id", "invoice_count", "quantity"]
        )
        person.with_user(self.salesperson).action_consumer_preference_erase_history()

        self._merge(person | self.customer_contact, self.customer_contact)

        self.assertFalse(self.customer.consumer_preference_consent)
        self.assertFalse(self.customer_contact.consumer_preference_consent)
        self.assertFalse(self._history(self.customer, self.tea))
        self.assertEqual(
            self._history(self.customer).read(
                ["product_id", "invoice_count", "quantity"]
            ),
            history_before,
        )

    def test_erased_person_kept_as_a_contact_stays_erased(self):
        """The same private customer, kept this time: Odoo's merge gives it
        the contact's company, so it becomes a contact of Azure Shop. Azure
        Shop's consent is withdrawn, the erased purchases are not recorded,
        and the person's specification goes to Azure Shop."""
        person = self.env["res.partner"].create({"name": "Jane Azure (private)"})
        self._post_customer_invoice(person, [(self.tea, 4, 5.0)])
        self._post_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        specification = self.env["consumer.preference"].create(
            {"partner_id": person.id, "product_id": self.shirt_m.id}
        )
        history_before = self._history(self.customer).read(
            ["product_id", "invoice_count", "quantity"]
        )
        person.with_user(self.salesperson).action_consumer_preference_erase_history()

        self._merge(person | self.customer_contact, person)

        self.assertEqual(person.commercial_partner_id, self.customer)
        self.assertFalse(self.customer.consumer_preference_consent)
        self.assertFalse(self._history(self.customer, self.tea))
        self.assertFalse(self._history(person))
        self.assertEqual(
            self._history(self.customer).read(
                ["product_id", "invoice_count", "quantity"]
            ),
            history_before,
        )
        self.assertEqual(specification.partner_id, self.customer)

    def test_erased_person_made_a_contact_stays_erased(self):
        """The same private customer, made a contact of Azure Shop on its
        form (Company field) instead of merged: Odoo gives it Azure Shop's
        ticked box and its invoices; Azure Shop's consent is withdrawn, as in
        a merge, so the erased purchases are not recorded again."""
        person = self.env["res.partner"].create({"name": "Jane Azure (private)"})
        self._post_customer_invoice(person, [(self.tea, 4, 5.0)])
        self._post_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        history_before = self._history(self.customer).read(
            ["product_id", "invoice_count", "quantity"]
        )
        person.with_user(self.salesperson).action_consumer_preference_erase_history()

        with Form(person.with_user(self.salesperson)) as person_form:
            person_form.parent_id = self.customer
        self.env["consumer.preference.history"]._process_queue()

        self.assertEqual(person.commercial_partner_id, self.customer)
        self.assertFalse(self.customer.consumer_preference_consent)
        self.assertFalse(self._history(self.customer, self.tea))
        self.assertEqual(
            self._history(self.customer).read(
                ["product_id", "invoice_count", "quantity"]
            ),
            history_before,
        )

    def test_person_made_a_contact_gives_its_specifications_to_the_company(self):
        """A private customer's specifications go to the company it is made
        a contact of (their shared profile), one the company already has
        merged into it; its history goes to the company's."""
        person = self.env["res.partner"].create({"name": "Jane Azure (private)"})
        self._post_customer_invoice(person, [(self.tea, 4, 5.0)])
        Preference = self.env["consumer.preference"]
        shirt_of_person, coffee_of_person = Preference.create(
            [
                {"partner_id": person.id, "product_id": self.shirt_m.id, "note": "M"},
                {"partner_id": person.id, "product_id": self.coffee.id},
            ]
        )
        shirt_of_company = Preference.create(
            {"partner_id": self.customer.id, "product_id": self.shirt_m.id}
        )

        with Form(person.with_user(self.salesperson)) as person_form:
            person_form.parent_id = self.customer

        self.assertFalse(shirt_of_person.exists())
        self.assertEqual(shirt_of_company.note, "M")
        self.assertEqual(coffee_of_person.partner_id, self.customer)
        self.assertEqual(
            self.customer_contact.commercial_specification_ids,
            shirt_of_company | coffee_of_person,
        )
        self.assertFalse(Preference.search([("partner_id", "=", person.id)]))
        self.assertRecordValues(
            self._history(self.customer, self.tea), [{"quantity": 4.0}]
        )

    def _overseas_company(self):
        """A customer company restricted to another company, and a private
        customer with a specification here."""
        overseas = self.env["res.company"].create({"name": "Azure Overseas"})
        company = self.env["res.partner"].create(
            {"name": "Overseas Ltd", "is_company": True, "company_id": overseas.id}
        )
        person = self.env["res.partner"].create({"name": "Jane Azure (private)"})
        specification = self.env["consumer.preference"].create(
            {"partner_id": person.id, "product_id": self.coffee.id}
        )
        return company, person, specification

    def test_customer_made_a_contact_of_another_companys_customer_refused(self):
        """The company it is made a contact of belongs to another company
        only: its specifications here could not go to it. Refused, saying
        what to do, not Odoo's list of incompatible records."""
        company, person, specification = self._overseas_company()
        # Odoo's assertRaises: the write rolled back, as a request would be
        with self.assertRaises(UserError) as caught:
            person.write({"parent_id": company.id})
        self.assertIn(
            "Overseas Ltd belongs to Azure Overseas only, and specifications "
            "of Jane Azure (private) are recorded in company_1_data (1)",
            str(caught.exception),
        )
        self.env.invalidate_all()
        self.assertEqual(specification.partner_id, person)
        self.assertFalse(person.parent_id)

    def test_customer_merged_into_another_companys_customer_refused(self):
        company, person, specification = self._overseas_company()
        with self.assertRaises(UserError) as caught:
            self.env["base.partner.merge.automatic.wizard"]._merge(
                (person | company).ids, company
            )
        self.assertIn(
            "Overseas Ltd belongs to Azure Overseas only", str(caught.exception)
        )
        self.env.invalidate_all()
        self.assertTrue(person.exists())
        self.assertEqual(specification.partner_id, person)

    def test_customer_made_a_contact_keeps_what_odoo_leaves_on_it(self):
        """Odoo moves a person's own invoices to the company it is made a
        contact of, not those of the person's invoice address: their
        purchases stay in the person's history, the invoices' customer, even
        when the person has no invoice of its own to move."""
        person = self.env["res.partner"].create({"name": "Jane Azure (private)"})
        billing = self.env["res.partner"].create(
            {"name": "Jane's billing", "type": "invoice", "parent_id": person.id}
        )
        self._post_customer_invoice(billing, [(self.tea, 3, 5.0)])

        with Form(person.with_user(self.salesperson)) as person_form:
            person_form.parent_id = self.customer

        self.assertRecordValues(
            self._history(person), [{"product_id": self.tea.id, "quantity": 3.0}]
        )
        self.assertFalse(self._history(self.customer, self.tea))

    def test_customer_made_a_contact_withdrawing_consent_withdraws_the_companys(
        self,
    ):
        """Made a contact of Azure Shop and unticked in the same save: the
        choice is the company's now (Odoo gives the contact its box), so
        Azure Shop's consent is withdrawn, as for a customer who had
        withdrawn it before."""
        person = self.env["res.partner"].create({"name": "Jane Azure (private)"})
        person.with_user(self.salesperson).write(
            {"parent_id": self.customer.id, "consumer_preference_consent": False}
        )
        self.assertFalse(self.customer.consumer_preference_consent)
        self.assertFalse(person.consumer_preference_consent)

    def test_company_merged_into_a_contact_kept_makes_it_the_customer(self):
        """A company merged into another company's contact, keeping the
        contact: Odoo's merge makes it a company, its own customer. Its
        history is the merged company's purchases, right after the merge,
        with the merged company's specification; the contact's former
        company keeps its own history."""
        duplicate = self.env["res.partner"].create(
            {"name": "Azure Shop Branch (old)", "is_company": True}
        )
        self._post_customer_invoice(
            duplicate, [(self.tea, 3, 5.0)], invoice_date="2026-02-10"
        )
        self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="2026-02-12"
        )
        specification = self.env["consumer.preference"].create(
            {"partner_id": duplicate.id, "product_id": self.shirt_m.id}
        )
        kept = self.customer_contact
        history_before = self._history(self.customer).read(
            ["product_id", "invoice_count", "quantity"]
        )

        self._merge(duplicate | kept, kept)

        self.assertEqual(kept.commercial_partner_id, kept)
        self.assertRecordValues(
            self._history(kept),
            [{"product_id": self.tea.id, "invoice_count": 1, "quantity": 3.0}],
        )
        self.assertEqual(specification.partner_id, kept)
        self.assertEqual(
            self._history(self.customer).read(
                ["product_id", "invoice_count", "quantity"]
            ),
            history_before,
        )

    def test_two_companies_merged_into_a_contact_kept_fold_their_specifications(
        self,
    ):
        """Two companies with the same specification merged into a kept
        contact, which the merge makes a company: one specification, with
        both notes, and the others kept; the contact's former company keeps
        its consent when one of the merged companies withdrew its own."""
        first, second = self.env["res.partner"].create(
            [
                {"name": "Azure Old One", "is_company": True},
                {
                    "name": "Azure Old Two",
                    "is_company": True,
                    "consumer_preference_consent": False,
                },
            ]
        )
        Preference = self.env["consumer.preference"]
        Preference.create(
            [
                {"partner_id": first.id, "product_id": self.tea.id, "note": "One"},
                {"partner_id": second.id, "product_id": self.tea.id, "note": "Two"},
                {"partner_id": first.id, "product_id": self.coffee.id},
            ]
        )
        kept = self.customer_contact

        self._merge(first | second | kept, kept)

        self.assertEqual(kept.commercial_partner_id, kept)
        self.assertRecordValues(
            Preference.search(
                [
                    ("partner_id", "=", kept.id),
                    ("preference_type", "=", "specification"),
                ],
                order="product_id",
            ).sorted(lambda line: line.product_id.name),
            [
                {"product_id": self.coffee.id, "note": False},
                {"product_id": self.tea.id, "note": "One / Two"},
            ],
        )
        self.assertFalse(kept.consumer_preference_consent)
        self.assertTrue(self.customer.consumer_preference_consent)
