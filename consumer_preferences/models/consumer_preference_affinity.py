# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""Products bought together: for each product, the products most often
bought by the same customers, with support and lift.

Counted over the purchase history (one line per customer and product, its
last invoice date telling whether it was bought within the period), so no
invoice line is read again: per company, the customers' purchases of the
period in a temporary table, then one statement, in PostgreSQL, whose sorts
and hashes are bounded by ``work_mem`` (they spill to disk beyond it), while
the Python process holds no row."""

import threading

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from .consumer_preference_segment import SEGMENT_MANAGER_GROUP

# Related products kept per product.
AFFINITY_TOP_COUNT = 10
# A pair bought by fewer customers says nothing.
AFFINITY_MIN_CUSTOMERS = 2
# Memory each sort or hash of the statement may use before spilling to disk.
AFFINITY_WORK_MEM = "64MB"
# Who bought what in the period, for the length of a recomputation.
AFFINITY_BOUGHT_TABLE = "consumer_preference_affinity_bought"
# Suggestions shown on a customer's tab.
SUGGESTION_COUNT = 5
AFFINITY_CRON_XMLID = "consumer_preferences.ir_cron_consumer_preference_affinity"


class ConsumerPreferenceAffinity(models.Model):
    _name = "consumer.preference.affinity"
    _description = "Consumer Preference Products Bought Together"
    _order = "company_id, product_id, rank"
    _rec_name = "related_product_id"
    _check_company_auto = True

    _sql_constraints = [
        (
            "unique_pair",
            "unique(company_id, product_id, related_product_id)",
            "A pair of products is counted once per company.",
        ),
    ]

    company_id = fields.Many2one(
        comodel_name="res.company", required=True, readonly=True, ondelete="cascade"
    )
    product_id = fields.Many2one(
        comodel_name="product.product",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    related_product_id = fields.Many2one(
        comodel_name="product.product",
        string="Bought With It",
        required=True,
        readonly=True,
        ondelete="cascade",
        check_company=True,
    )
    rank = fields.Integer(readonly=True)
    customer_count = fields.Integer(
        string="Customers",
        readonly=True,
        help="Customers who bought both products in the period.",
    )
    support = fields.Float(
        digits=(16, 4),
        readonly=True,
        help="Share of the company's customers of the period who bought both.",
    )
    lift = fields.Float(
        digits=(16, 2),
        readonly=True,
        help="How much more often than by chance customers buy both: above 1, "
        "buying one makes buying the other likelier.",
    )
    reason = fields.Char(compute="_compute_reason")

    @api.depends("product_id", "customer_count")
    def _compute_reason(self):
        for affinity in self:
            affinity.reason = _(
                "bought with %(product)s by %(count)s customers",
                product=affinity.product_id.display_name,
                count=affinity.customer_count,
            )

    # ------------------------------------------------------------------
    # Actions of a suggestion, on a customer's tab
    # ------------------------------------------------------------------
    def action_add_to_specifications(self):
        """Add the suggested product to the specifications of the customer
        in the context (``consumer_partner_id``)."""
        self.ensure_one()
        partner = self._context_partner()
        product = self.related_product_id
        if not (product.active and product.sale_ok):
            # a suggestion shown before its product was archived
            raise UserError(
                _(
                    "%(product)s is no longer sold: it cannot be added to the "
                    "customer's specifications.",
                    product=product.display_name,
                )
            )
        # Created as a preference, with the Preferences user's right: a
        # salesperson without Contact Creation may not edit the customer.
        # Once, even clicked twice at the same moment (two tabs, Specify and
        # Specify and Bill).
        self.env["consumer.preference"]._add_specification(
            partner,
            self.env.company,
            product,
            self.env["product.attribute.value"],
            any_values=True,
        )
        return True

    def action_add_and_bill(self):
        """Add the suggested product to the customer's specifications and
        open the Bill wizard with them."""
        # Before adding anything: a user who may not bill, or a company that
        # no longer bills from preferences (a form opened before it was
        # switched off), would get the specification and then an error
        # opening the wizard.
        Bill = self.env["consumer.preference.bill"]
        Bill.check_access("create")
        Bill._check_billing_enabled(self.env.company)
        self.action_add_to_specifications()
        partner = self._context_partner()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "consumer_preferences.consumer_preference_bill_action"
        )
        action["context"] = {"active_model": "res.partner", "active_id": partner.id}
        return action

    def _context_partner(self):
        partner_id = self.env.context.get("consumer_partner_id")
        # an id, as the tab sends it; anything else (a script's text or list)
        # is no customer, not a database error
        partner = self.env["res.partner"].browse(
            partner_id if type(partner_id) is int else ()
        )
        if not partner.exists():
            raise UserError(_("Open a customer to add a suggested product to it."))
        return partner.commercial_partner_id

    # ------------------------------------------------------------------
    # The nightly computation
    # ------------------------------------------------------------------
    @api.model
    def _cron_recompute(self):
        """Recompute every company's products bought together. Returns the
        number of pairs kept."""
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        pair_count = 0
        # sudo: every company, not only those of the user running the
        # scheduled action: the nightly run recomputes all of them.
        for company in self.env["res.company"].sudo().search([]):
            pair_count += self._recompute(company)
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
        return pair_count

    @api.model
    def _recompute_soon(self):
        """Have the nightly scheduled action run as soon as this transaction
        commits: a customer withdrew consent (or was erased), whose purchases
        the pairs shown to salespeople must stop counting now, not the next
        night."""
        # sudo: the scheduled action is this addon's own, run as superuser;
        # waking it up is no right of the user withdrawing the consent.
        cron = self.env.ref(AFFINITY_CRON_XMLID, raise_if_not_found=False)
        if cron and cron.sudo().active:
            cron.sudo()._trigger()
        return True

    @api.model
    def _recompute(self, company):
        """Replace the pairs of ``company``, counted over the customers who
        bought within its period (``consumer_preference_affinity_months``).
        Returns the number of pairs kept."""
        if not (self.env.su or self.env.user.has_group(SEGMENT_MANAGER_GROUP)):
            raise AccessError(
                _("Only consumer preference managers can recompute suggestions.")
            )
        self.env["consumer.preference"].flush_model()
        self.env["res.partner"].flush_model(["consumer_preference_consent"])
        self.env["product.product"].flush_model(["active", "product_tmpl_id"])
        self.env["product.template"].flush_model(["sale_ok", "company_id"])
        service = self.env["consumer.preference.history"]
        previous_work_mem = service._set_work_mem(AFFINITY_WORK_MEM)
        self.env.cr.execute(
            SQL(
                "DELETE FROM consumer_preference_affinity WHERE company_id = %s",
                company.id,
            )
        )
        # Who bought what in the period, and kept it: a table analyzed
        # before the pairs are counted. As a part of the statement its size
        # was a guess, one row when the history's statistics predate the
        # period's lines: the pairs were then planned as a loop reading
        # every purchase again for each purchase, more than 9 minutes for
        # 50,000 customers instead of under a second.
        self.env.cr.execute(self._bought_table_sql(company))
        self.env.cr.execute(SQL("ANALYZE %s", SQL.identifier(AFFINITY_BOUGHT_TABLE)))
        self.env.cr.execute(self._pairs_sql(company))
        pair_count = self.env.cr.rowcount
        self.env.cr.execute(SQL("DROP TABLE %s", SQL.identifier(AFFINITY_BOUGHT_TABLE)))
        service._set_work_mem(previous_work_mem)
        self.invalidate_model()
        self.env["res.partner"].invalidate_model(
            ["consumer_suggestion_ids", "consumer_suggested_product_ids"]
        )
        return pair_count

    @api.model
    def _bought_table_sql(self, company):
        """The statement creating ``AFFINITY_BOUGHT_TABLE``: who bought what
        in the period of ``company`` (a purchase: an invoice its reversal
        credit notes did not credit in full), and kept it."""
        since = fields.Date.subtract(
            company._consumer_preference_today(),
            months=company.consumer_preference_affinity_months,
        )
        quantity_digits = self.env["consumer.preference"]._quantity_digits()
        return SQL(
            """
        CREATE TEMPORARY TABLE %(bought)s ON COMMIT DROP AS
        SELECT DISTINCT preference.partner_id, preference.product_id
          FROM consumer_preference preference
          JOIN res_partner partner ON partner.id = preference.partner_id
         WHERE preference.company_id = %(company_id)s
           AND preference.preference_type = 'history'
           AND preference.active
           AND preference.last_purchase_date >= %(since)s
           AND preference.quantity >= %(threshold)s
           AND partner.consumer_preference_consent IS NOT FALSE
            """,
            bought=SQL.identifier(AFFINITY_BOUGHT_TABLE),
            company_id=company.id,
            since=since,
            threshold=0.5 * 10**-quantity_digits,
        )

    @api.model
    def _pairs_sql(self, company):
        """The statement inserting the pairs of ``company``, counted over
        ``AFFINITY_BOUGHT_TABLE``."""
        return SQL(
            """
        WITH customers AS (
            SELECT COUNT(DISTINCT partner_id) AS total FROM %(bought)s
        ),
        product_customers AS (
            SELECT product_id, COUNT(*) AS customer_count
              FROM %(bought)s GROUP BY product_id
        ),
        pairs AS (
            SELECT bought.product_id, other.product_id AS related_product_id,
                   COUNT(*) AS customer_count
              FROM %(bought)s bought
              JOIN %(bought)s other
                ON other.partner_id = bought.partner_id
               AND other.product_id != bought.product_id
              -- only what the company still sells is suggested: a product
              -- archived, taken off sale or restricted to another company
              -- would take one of the product's places (its customers still
              -- count, for the lift)
              JOIN product_product related_product
                ON related_product.id = other.product_id
               AND related_product.active
              JOIN product_template related_template
                ON related_template.id = related_product.product_tmpl_id
               AND related_template.sale_ok
               AND (related_template.company_id IS NULL
                    OR related_template.company_id = ANY(%(sharing_company_ids)s))
             GROUP BY bought.product_id, other.product_id
            HAVING COUNT(*) >= %(min_customers)s
        ),
        ranked AS (
            SELECT pairs.product_id, pairs.related_product_id,
                   pairs.customer_count,
                   pairs.customer_count::numeric / customers.total AS support,
                   pairs.customer_count::numeric * customers.total
                       / (product.customer_count * related.customer_count) AS lift,
                   ROW_NUMBER() OVER (
                        PARTITION BY pairs.product_id
                        ORDER BY pairs.customer_count DESC,
                                 pairs.customer_count::numeric
                                    / related.customer_count DESC,
                                 pairs.related_product_id
                   ) AS rank
              FROM pairs
             CROSS JOIN customers
              JOIN product_customers product
                ON product.product_id = pairs.product_id
              JOIN product_customers related
                ON related.product_id = pairs.related_product_id
        )
        INSERT INTO consumer_preference_affinity (
               company_id, product_id, related_product_id, rank, customer_count,
               support, lift, create_uid, create_date, write_uid, write_date)
        SELECT %(company_id)s, product_id, related_product_id, rank,
               customer_count, support, lift, %(uid)s, NOW() AT TIME ZONE 'UTC',
               %(uid)s, NOW() AT TIME ZONE 'UTC'
          FROM ranked
         WHERE rank <= %(top_count)s
            """,
            bought=SQL.identifier(AFFINITY_BOUGHT_TABLE),
            company_id=company.id,
            # a parent company shares its products with its branches
            sharing_company_ids=company.parent_ids.ids,
            min_customers=AFFINITY_MIN_CUSTOMERS,
            top_count=AFFINITY_TOP_COUNT,
            uid=self.env.uid,
        )

    @api.model
    def _suggestions(self, partners):
        """``{commercial partner: affinities}``: for each customer, the
        products that customers buying what it prefers (its history, its
        specifications) also buy, that it never bought; one affinity per
        suggested product, the most shared first."""
        partners = partners.filtered("consumer_preference_consent")
        if not partners:
            return {}
        preferences = self.env["consumer.preference"].search(
            [
                ("partner_id", "in", partners.ids),
                ("company_id", "=", self.env.company.id),
            ]
        )
        suggestions = {}
        for partner in partners:
            own = preferences.filtered(
                lambda line, partner=partner: line.partner_id == partner
            )
            # what it prefers: specified, or bought and kept
            preferred = own.filtered(lambda line: not line.is_fully_returned).product_id
            if not preferred:
                continue
            affinities = self.search(
                [
                    ("company_id", "=", self.env.company.id),
                    ("product_id", "in", preferred.ids),
                    # never bought, nor specified already
                    ("related_product_id", "not in", own.product_id.ids),
                    # still sold: neither archived since the night (said
                    # outright: the archived customers' list reads without
                    # active_test), nor taken off sale, nor restricted to
                    # another company (a parent company shares its products
                    # with its branches)
                    ("related_product_id.active", "=", True),
                    ("related_product_id.sale_ok", "=", True),
                    (
                        "related_product_id.company_id",
                        "in",
                        [False, *self.env.company.parent_ids.ids],
                    ),
                ],
                order="customer_count desc, lift desc, rank, id",
            )
            best = self.browse()
            for affinity in affinities:
                if affinity.related_product_id not in best.related_product_id:
                    best |= affinity
                if len(best) == SUGGESTION_COUNT:
                    break
            suggestions[partner] = best
        return suggestions
