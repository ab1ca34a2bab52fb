# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import models


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _update_foreign_keys(self, src_partners, dst_partner):
        """Carry the merged-away customers' preferences over before Odoo
        repoints every foreign key in SQL: there, one line of the kept
        customer with the same key makes the whole update fail, and Odoo then
        deletes all the merged-away customer's lines. They go to the customer
        the kept record belongs to once merged (``_update_values`` recomputes
        its history, from the invoices then pointing to it)."""
        customer = self._consumer_preference_merged_customer(src_partners, dst_partner)
        self._merge_consumer_preference_consent(src_partners, dst_partner, customer)
        self._merge_consumer_preferences(src_partners, dst_partner, customer)
        return super()._update_foreign_keys(src_partners, dst_partner)

    def _update_values(self, src_partners, dst_partner):
        """Once Odoo has merged the values, which may give the kept record a
        company or make it one, recompute the history of its customer before
        and after, and their segments in every company."""
        customers = dst_partner.commercial_partner_id
        result = super()._update_values(src_partners, dst_partner)
        customers |= dst_partner.commercial_partner_id
        self._consumer_preference_history()._rebuild(customers)
        # sudo: as the history, merging takes contact rights only, and the
        # segment is recomputed in every company, not only the user's.
        segments = self.env["consumer.preference.segment"].sudo()
        for company in self.env["res.company"].sudo().search([]):
            segments._recompute(company, customers)
        return result

    @staticmethod
    def _consumer_preference_merged_customer(src_partners, dst_partner):
        """The customer the kept record belongs to once merged. Odoo's merge
        of values (``_update_values``) gives it the last parent of the
        records (its own first) and makes it a company if any of them is
        one: merging a private person with a company's contact, and keeping
        the person, makes it a contact of that company."""
        partners = [*src_partners, dst_partner]
        parent = next(
            (partner.parent_id for partner in reversed(partners) if partner.parent_id),
            dst_partner.browse(),
        )
        is_company = any(partner.is_company for partner in partners)
        if is_company or not parent or parent == dst_partner:
            return dst_partner
        return parent.commercial_partner_id

    def _merge_consumer_preference_consent(self, src_partners, dst_partner, customer):
        """A consent withdrawn on any of the merged records stays withdrawn:
        they are one customer, and the others' ticked box is only the
        default. Withdrawn on all of them before the kept customer's history
        is recomputed, and before Odoo's merge of values, which would keep
        the box ticked on any of them. Withdrawn on the merged ``customer``
        too: merged into (or as) a contact, the records become a contact of
        its company, whose consent the history reads (and Odoo resets the
        contact's box from it)."""
        partners = src_partners | dst_partner
        if not all(partners.mapped("consumer_preference_consent")):
            (partners | customer)._withdraw_consumer_preference_consent()

    def _consumer_preference_history(self):
        """The history service as a merge needs it: merging takes contact
        rights, not Preferences ones (sudo), and moves the invoices of every
        company, whoever runs it (all companies)."""
        all_companies = self.env["res.company"].sudo().search([])
        return (
            self.env["consumer.preference.history"]
            .sudo()
            .with_context(allowed_company_ids=all_companies.ids)
        )

    def _merge_consumer_preferences(self, src_partners, dst_partner, customer):
        """Move the specifications of ``src_partners`` to the merged
        ``customer``, merging each into an identical one it already has
        (same company, product and characteristic values); delete their
        history lines, which the rebuild recomputes on that customer. The
        same for the kept record's own, when it is to become a contact."""
        moved = src_partners
        if dst_partner.commercial_partner_id == dst_partner != customer:
            moved |= dst_partner
        # The history service owns history lines (the ORM refuses to delete
        # them); the kept customer's rebuild recomputes them.
        self._consumer_preference_history()._delete_history(moved)
        # sudo and every company, for the same reasons as the history.
        Preference = (
            self.env["consumer.preference"].sudo().with_context(active_test=False)
        )
        specifications = Preference.search(
            [
                ("partner_id", "in", moved.ids),
                ("preference_type", "=", "specification"),
            ]
        )
        # A contact that Odoo's merge of values makes a company has no
        # specification of its own yet (a contact's are its company's):
        # Odoo's repointing of the foreign keys gives it the merged ones,
        # once their duplicates are folded (the ORM would move them to the
        # contact's company).
        specifications._give_to_customer(
            customer, move=customer.commercial_partner_id == customer
        )
