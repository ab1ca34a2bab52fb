# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""Customers' rhythm and value, per company: RFM scores and segment, the
average interval between purchases, the next expected purchase and the churn
risk.

Derived from the posted customer invoices that the purchase profile already
adds up (the same invoices as its *Posted Invoices* and *Net Invoiced*): no
second source of truth, only the figures PostgreSQL ranks. One set-based
statement per company (``_recompute``) computes and writes every customer's
row; the nightly scheduled action runs it, and the queue refreshes the rows of
customers whose invoices were posted or reset since, or who gave their consent
back (``_process_queue``), scored against the others' figures of the last full
run.
"""

import logging
import threading
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from .consumer_preference_history import CONTENTION_ERRORS
from .consumer_preference_statistics import HISTORY_MOVE_TYPES

_logger = logging.getLogger(__name__)
SEGMENT_CRON_XMLID = "consumer_preferences.ir_cron_consumer_preference_segment"
SEGMENT_QUEUE_CRON_XMLID = (
    "consumer_preferences.ir_cron_consumer_preference_segment_queue"
)

RFM_SEGMENTS = [
    ("champions", "Champions"),
    ("loyal", "Loyal"),
    ("active", "Active"),
    ("promising", "Promising"),
    ("new", "New"),
    ("needs_attention", "Needs attention"),
    ("at_risk", "At risk"),
    ("previously_loyal", "Previously loyal"),
    ("almost_lost", "Almost lost"),
    ("dormant", "Dormant"),
    ("prospects", "Prospects"),
]
# A customer is at risk of churning when the days since its last purchase
# exceed this many times its average interval between purchases.
CHURN_INTERVAL_FACTOR = 2
# Memory each sort of the statement may use (PostgreSQL's default is 4MB):
# the three rankings sort every customer of the company.
SEGMENT_WORK_MEM = "64MB"
# Customers refreshed per transaction by the queue's scheduled action.
QUEUE_BATCH_SIZE = 5000
SEGMENT_MANAGER_GROUP = "consumer_preferences.group_consumer_preference_manager"
# The partner's segment fields and the columns of consumer.preference.segment
# they show, in the current company.
PARTNER_SEGMENT_FIELDS = {
    "consumer_recency_score": "recency_score",
    "consumer_frequency_score": "frequency_score",
    "consumer_monetary_score": "monetary_score",
    "consumer_rfm_segment": "rfm_segment",
    "consumer_average_interval_days": "average_interval_days",
    "consumer_next_expected_date": "next_expected_date",
    "consumer_churn_risk": "churn_risk",
}
# The figures a recomputation sets, compared to skip unchanged rows.
SCORED_COLUMNS = (
    "invoice_count",
    "amount",
    "first_invoice_date",
    "last_invoice_date",
    "purchase_count",
    "last_purchase_date",
    "recency_score",
    "frequency_score",
    "monetary_score",
    "rfm_segment",
    "average_interval_days",
    "next_expected_date",
    "churn_risk",
)


class ConsumerPreferenceSegment(models.Model):
    _name = "consumer.preference.segment"
    _description = "Consumer Preference Customer Segment"
    _order = "company_id, partner_id"
    _rec_name = "partner_id"
    _check_company_auto = True

    _sql_constraints = [
        (
            "unique_partner",
            "unique(company_id, partner_id)",
            "A customer has one segment per company.",
        ),
    ]

    company_id = fields.Many2one(
        comodel_name="res.company", required=True, readonly=True, ondelete="cascade"
    )
    partner_id = fields.Many2one(
        comodel_name="res.partner",
        string="Customer",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    invoice_count = fields.Integer(string="Invoices", readonly=True)
    # Money figures: for those who see every customer's amounts (see the
    # profile's PROFILE_ALL_AMOUNTS_GROUPS); the monetary score shows a rank.
    amount = fields.Monetary(
        string="Net Invoiced",
        readonly=True,
        groups="account.group_account_invoice,account.group_account_readonly,"
        "sales_team.group_sale_salesman_all_leads",
    )
    first_invoice_date = fields.Date(string="First Invoice", readonly=True)
    last_invoice_date = fields.Date(string="Last Invoice", readonly=True)
    # What the rhythm counts: days with an invoice that its reversal credit
    # notes did not credit in full (as the history lines count them).
    purchase_count = fields.Integer(
        string="Purchases",
        readonly=True,
        help="Days the customer was invoiced: invoices of one day are one "
        "purchase, and an invoice its reversal credit notes credit in full "
        "(Reverse, or Reverse and Create Invoice) is none.",
    )
    last_purchase_date = fields.Date(string="Last Purchase", readonly=True)
    recency_score = fields.Integer(
        readonly=True,
        aggregator="avg",
        help="1 to 5: the quintile of the last purchase date among the "
        "company's customers (5: the most recent).",
    )
    frequency_score = fields.Integer(
        readonly=True,
        aggregator="avg",
        help="1 to 5: the quintile of the number of purchases among the "
        "company's customers (5: the most purchases).",
    )
    monetary_score = fields.Integer(
        readonly=True,
        aggregator="avg",
        help="1 to 5: the quintile of the net invoiced amount among the "
        "company's customers (5: the highest).",
    )
    rfm_segment = fields.Selection(
        selection=RFM_SEGMENTS,
        string="Segment",
        readonly=True,
        index=True,
        help="The customer's group by recency, frequency and monetary scores.",
    )
    average_interval_days = fields.Float(
        string="Average Interval (Days)",
        digits=(16, 1),
        readonly=True,
        aggregator="avg",
        help="Days between the first and last purchase divided by the number of "
        "intervals between purchases (days with an invoice that its reversal "
        "credit notes did not credit in full).",
    )
    next_expected_date = fields.Date(
        string="Next Expected Purchase",
        readonly=True,
        help="Last purchase plus the average interval.",
    )
    churn_risk = fields.Boolean(
        readonly=True,
        index=True,
        help="No purchase for more than twice the customer's average interval.",
    )

    # ------------------------------------------------------------------
    # Entry points
    # ------------------------------------------------------------------
    @api.model
    def _cron_recompute(self):
        """Recompute every company's segments: the nightly scheduled action.
        Returns the number of customers scored."""
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        scored_count = 0
        contended = self.env["res.company"]
        # sudo: every company, not only those of the user running the
        # scheduled action: the nightly run scores all of them.
        for company in self.env["res.company"].sudo().search([]):
            try:
                with self.env.cr.savepoint():
                    scored_count += self._recompute(company)
            except CONTENTION_ERRORS as error:
                # A row the statement writes was changed by a transaction
                # committed during it (the queue's refresh, a customer's
                # consent): the company is scored again in a moment, in a new
                # transaction; the next companies go on.
                _logger.info(
                    "Segments of %s scored again after %s",
                    company.name,
                    type(error).__name__,
                )
                contended |= company
            if auto_commit:
                # Each company's statement is kept, and its locks released,
                # before the next company's.
                self.env.cr.commit()  # pylint: disable=invalid-commit
        if contended:
            # sudo: any user running the action may ask for its next run
            self.env.ref(SEGMENT_CRON_XMLID).sudo()._trigger(
                fields.Datetime.now() + timedelta(minutes=1)
            )
        return scored_count

    @api.model
    def _recompute(self, company, partners=None):
        """Score the customers of ``company`` (all of them, or only the
        commercial ``partners``, ranked against the others' stored figures)
        in one statement; delete the rows of those who no longer buy or
        consent (a second one). Returns the number of customers scored."""
        self._check_rights()
        self._flush_sources()
        service = self.env["consumer.preference.history"]
        previous_work_mem = service._set_work_mem(SEGMENT_WORK_MEM)
        self.env.cr.execute(self._recompute_sql(company, partners))
        scored_count, gone_partner_ids = self.env.cr.fetchone()
        if gone_partner_ids:
            # customers who no longer buy nor specify
            self.env.cr.execute(
                "DELETE FROM consumer_preference_segment "
                "WHERE company_id = %s AND partner_id = ANY(%s)",
                [company.id, gone_partner_ids],
            )
        service._set_work_mem(previous_work_mem)
        self._invalidate_caches()
        return scored_count

    @api.model
    def _recompute_sql(self, company, partners=None):
        """The statement of ``_recompute``; it returns the number of
        customers scored and those whose row is to be deleted. Two sets of
        customers it computes are compared by hashing or sorting (EXCEPT),
        never by a nested loop over one of them, whose size PostgreSQL can
        only guess: guessed at one row, such a loop read every customer for
        each specification (100 s instead of 1.5 s for 30,000
        specifications of 100,000 customers, benchmarks/bench_segments.py)."""
        partner_ids = partners.ids if partners is not None else None
        return SQL(
            """
        WITH fresh AS (
            -- the customers' posted invoices: those the profile adds up
            SELECT move.commercial_partner_id AS partner_id,
                   COUNT(*) FILTER (WHERE move.move_type = 'out_invoice')
                       AS invoice_count,
                   MIN(move.invoice_date)
                       FILTER (WHERE move.move_type = 'out_invoice')
                       AS first_invoice_date,
                   MAX(move.invoice_date)
                       FILTER (WHERE move.move_type = 'out_invoice')
                       AS last_invoice_date,
                   -- the rhythm counts purchases: days with an invoice of
                   -- its own (not one cancelling a credit note) that the
                   -- credit notes reversing it did not credit in full, in
                   -- its currency (a history line judges by its product's
                   -- quantity)
                   COUNT(DISTINCT move.invoice_date)
                       FILTER (WHERE purchase.is_purchase) AS purchase_count,
                   MIN(move.invoice_date)
                       FILTER (WHERE purchase.is_purchase) AS first_purchase_date,
                   MAX(move.invoice_date)
                       FILTER (WHERE purchase.is_purchase) AS last_purchase_date,
                   SUM(move.amount_untaxed_signed) AS amount
              FROM account_move move
              JOIN res_partner partner ON partner.id = move.commercial_partner_id
              LEFT JOIN (
                   -- what the credit notes reversing an invoice credit its
                   -- customer, in each currency, less the invoices reversing
                   -- those credit notes (the return cancelled), plus the
                   -- credit notes reversing these, and so on: each counted
                   -- while every reversal between it and the invoice is
                   -- posted (the history's rule, _is_purchase_sql)
                   WITH RECURSIVE reversal_tree(id, move_type, move_id) AS (
                       SELECT reversal.id, reversal.move_type,
                              reversal.reversed_entry_id
                         FROM account_move reversal
                        WHERE reversal.reversed_entry_id IS NOT NULL
                          AND reversal.company_id = %(company_id)s
                          AND reversal.state = 'posted'
                          AND reversal.move_type = 'out_refund'
                          -- for some customers: the credit notes reversing
                          -- their invoices, whoever they were made out to
                          -- (the chain goes on through the customer's own),
                          -- each invoice's by the index (an array, not a
                          -- list: never every reversal of the company)
                          AND (%(partner_ids)s::int[] IS NULL
                               OR reversal.reversed_entry_id = ANY(ARRAY(
                                  SELECT invoice.id FROM account_move invoice
                                   WHERE invoice.commercial_partner_id
                                         = ANY(%(partner_ids)s::int[])
                                     AND invoice.company_id = %(company_id)s
                                     AND invoice.state = 'posted'
                                     AND invoice.move_type = 'out_invoice')))
                        UNION
                       -- a cycle written by hand ends (UNION)
                       SELECT reversal.id, reversal.move_type,
                              reversal_tree.move_id
                         FROM reversal_tree
                         JOIN account_move reversal
                           ON reversal.reversed_entry_id = reversal_tree.id
                        WHERE reversal.state = 'posted'
                          AND reversal.move_type IN %(move_types)s
                          AND reversal.move_type != reversal_tree.move_type
                   )
                   SELECT reversal_tree.move_id,
                          reversal.commercial_partner_id, reversal.currency_id,
                          SUM(CASE WHEN reversal.move_type = 'out_refund'
                                   THEN reversal.amount_untaxed
                                   ELSE -reversal.amount_untaxed END) AS amount
                     FROM reversal_tree
                     JOIN account_move reversal ON reversal.id = reversal_tree.id
                    GROUP BY 1, reversal.commercial_partner_id,
                             reversal.currency_id
                   ) reversed
                ON reversed.move_id = move.id
               AND reversed.commercial_partner_id = move.commercial_partner_id
               AND reversed.currency_id = move.currency_id
             CROSS JOIN LATERAL (
                   SELECT move.move_type = 'out_invoice'
                          AND move.reversed_entry_id IS NULL
                          AND (reversed.move_id IS NULL
                               OR reversed.amount < move.amount_untaxed)
                              AS is_purchase) purchase
             WHERE move.company_id = %(company_id)s
               AND move.state = 'posted'
               AND move.move_type IN %(move_types)s
               AND partner.consumer_preference_consent IS NOT FALSE
               AND (%(partner_ids)s::int[] IS NULL
                    OR move.commercial_partner_id = ANY(%(partner_ids)s::int[]))
             GROUP BY move.commercial_partner_id
            HAVING COUNT(*) FILTER (WHERE move.move_type = 'out_invoice') > 0
        ),
        population AS (
            -- whom a customer is ranked among: everyone, freshly, or, when
            -- refreshing a few customers, their fresh figures and the
            -- others' stored ones
            SELECT partner_id, invoice_count, first_invoice_date,
                   last_invoice_date, amount, purchase_count,
                   first_purchase_date, last_purchase_date, TRUE AS own
              FROM fresh
             UNION ALL
            SELECT partner_id, invoice_count, first_invoice_date,
                   last_invoice_date, amount, purchase_count, NULL,
                   last_purchase_date, FALSE
              FROM consumer_preference_segment segment
             WHERE %(partner_ids)s::int[] IS NOT NULL
               AND segment.company_id = %(company_id)s
               AND segment.invoice_count > 0
               AND NOT segment.partner_id = ANY(%(partner_ids)s::int[])
        ),
        ranked AS (
            -- twice the mid-rank: customers below plus customers at or
            -- below; ties share one score. The customers' own figures ride
            -- along: a join back to fresh, whose sizes PostgreSQL can only
            -- guess, was costed high enough to be JIT-compiled, a second
            -- for 100,000 customers
            -- Recency and frequency follow purchases: a customer whose
            -- invoices were all credited in full has none, and ranks last.
            SELECT population.*, COUNT(*) OVER () AS customer_count,
                   RANK() OVER (ORDER BY last_purchase_date NULLS FIRST) - 1
                       + COUNT(*) OVER (ORDER BY last_purchase_date NULLS FIRST)
                       AS recency_rank,
                   RANK() OVER (ORDER BY purchase_count) - 1
                       + COUNT(*) OVER (ORDER BY purchase_count)
                       AS frequency_rank,
                   RANK() OVER (ORDER BY amount) - 1
                       + COUNT(*) OVER (ORDER BY amount) AS monetary_rank
              FROM population
        ),
        scores AS (
            SELECT partner_id, invoice_count, first_invoice_date,
                   last_invoice_date, amount, purchase_count,
                   LEAST(5, 1 + 5 * recency_rank
                                / (2 * customer_count)) AS recency_score,
                   LEAST(5, 1 + 5 * frequency_rank
                                / (2 * customer_count)) AS frequency_score,
                   LEAST(5, 1 + 5 * monetary_rank
                                / (2 * customer_count)) AS monetary_score,
                   last_purchase_date,
                   CASE WHEN purchase_count > 1
                        THEN (last_purchase_date - first_purchase_date)::numeric
                             / (purchase_count - 1)
                   END AS interval_days
              FROM ranked
             WHERE own
        ),
        prospects AS (
            -- customers with specifications but no posted invoice
            SELECT preference.partner_id
              FROM consumer_preference preference
              JOIN res_partner partner ON partner.id = preference.partner_id
             WHERE preference.company_id = %(company_id)s
               AND preference.preference_type = 'specification'
               AND preference.active
               AND partner.consumer_preference_consent IS NOT FALSE
               AND (%(partner_ids)s::int[] IS NULL
                    OR preference.partner_id = ANY(%(partner_ids)s::int[]))
            EXCEPT
            SELECT partner_id FROM fresh
        ),
        segments AS (
            SELECT partner_id, invoice_count, amount, first_invoice_date,
                   last_invoice_date, purchase_count, last_purchase_date,
                   recency_score, frequency_score,
                   monetary_score, %(segment)s AS rfm_segment,
                   ROUND(interval_days, 1) AS average_interval_days,
                   last_purchase_date + ROUND(interval_days)::int
                       AS next_expected_date,
                   -- one purchase (however many invoices): no interval, no risk
                   COALESCE(%(today)s - last_purchase_date
                            > %(churn_factor)s * interval_days, FALSE)
                       AS churn_risk
              FROM scores
             UNION ALL
            SELECT partner_id, 0, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL,
                   'prospects', NULL, NULL, FALSE
              FROM prospects
        ),
        upserted AS (
            INSERT INTO consumer_preference_segment AS segment (
                   company_id, partner_id, invoice_count, amount,
                   first_invoice_date, last_invoice_date, purchase_count,
                   last_purchase_date, recency_score,
                   frequency_score, monetary_score, rfm_segment,
                   average_interval_days, next_expected_date, churn_risk,
                   create_uid, create_date, write_uid, write_date)
            SELECT %(company_id)s, partner_id, invoice_count, amount,
                   first_invoice_date, last_invoice_date, purchase_count,
                   last_purchase_date, recency_score,
                   frequency_score, monetary_score, rfm_segment,
                   average_interval_days, next_expected_date, churn_risk,
                   %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s,
                   NOW() AT TIME ZONE 'UTC'
              FROM segments
                ON CONFLICT ON CONSTRAINT consumer_preference_segment_unique_partner
                DO UPDATE SET %(assignments)s
                -- unchanged rows are not rewritten
                WHERE (%(current)s) IS DISTINCT FROM (%(excluded)s)
            RETURNING segment.id
        ),
        dequeued AS (
            -- what this statement's snapshot saw queued is done
            DELETE FROM consumer_preference_segment_queue queue
             WHERE queue.company_id = %(company_id)s
               AND (%(partner_ids)s::int[] IS NULL
                    OR queue.partner_id = ANY(%(partner_ids)s::int[]))
        )
        SELECT (SELECT COUNT(*) FROM segments),
               -- the customers of the rows no longer scored, deleted by the
               -- next statement: found by set difference here, by the index
               -- there
               ARRAY(SELECT partner_id FROM consumer_preference_segment
                      WHERE company_id = %(company_id)s
                        AND (%(partner_ids)s::int[] IS NULL
                             OR partner_id = ANY(%(partner_ids)s::int[]))
                     EXCEPT
                     SELECT partner_id FROM segments)
                """,
            company_id=company.id,
            move_types=HISTORY_MOVE_TYPES,
            partner_ids=partner_ids,
            segment=self._segment_sql(),
            today=company._consumer_preference_today(),
            churn_factor=CHURN_INTERVAL_FACTOR,
            uid=self.env.uid,
            assignments=SQL(", ").join(
                SQL("%s = EXCLUDED.%s", SQL.identifier(name), SQL.identifier(name))
                for name in SCORED_COLUMNS + ("write_uid", "write_date")
            ),
            current=SQL(", ").join(
                SQL.identifier("segment", name) for name in SCORED_COLUMNS
            ),
            excluded=SQL(", ").join(
                SQL.identifier("excluded", name) for name in SCORED_COLUMNS
            ),
        )

    @api.model
    def _process_queue(self, batch_size=QUEUE_BATCH_SIZE):
        """Refresh the segments of the customers whose invoices entered or
        left the posted state since: a batch per company and transaction.
        Returns the number of customers refreshed."""
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        refreshed = 0
        self._erase_withdrawn()
        while True:
            self.env.cr.execute(
                SQL(
                    """
                    SELECT company_id, ARRAY_AGG(DISTINCT partner_id)
                      FROM (SELECT company_id, partner_id
                              FROM consumer_preference_segment_queue
                             ORDER BY id LIMIT %s) batch
                     GROUP BY company_id
                    """,
                    batch_size,
                )
            )
            batches = self.env.cr.fetchall()
            if not batches:
                break
            try:
                with self.env.cr.savepoint():
                    for company_id, partner_ids in batches:
                        self._recompute(
                            self.env["res.company"].browse(company_id),
                            self.env["res.partner"].browse(partner_ids),
                        )
                        refreshed += len(partner_ids)
            except CONTENTION_ERRORS as error:
                # A row the batch writes was changed by a transaction
                # committed during it (the nightly run, a consent withdrawn):
                # the batch stays queued for a run triggered in a minute.
                _logger.info("Segment queue left to the next run after %s", error)
                # sudo: any user running the action may ask for its next run
                self.env.ref(SEGMENT_QUEUE_CRON_XMLID).sudo()._trigger(
                    fields.Datetime.now() + timedelta(minutes=1)
                )
                break
            if auto_commit:
                # Each batch is kept, as the history queue's cron does.
                self.env.cr.commit()  # pylint: disable=invalid-commit
        return refreshed

    @api.model
    def _erase_withdrawn(self):
        """Delete the rows of customers who withdrew consent: a withdrawal
        erases them at once, but cannot see a row that a refresh running at
        that moment commits after it."""
        # every company's rows, below the ORM: the scheduled action's work
        self._check_rights()
        self.env["res.partner"].flush_model(["consumer_preference_consent"])
        self.env.cr.execute(
            SQL(
                """
                DELETE FROM consumer_preference_segment segment
                 USING res_partner partner
                 WHERE partner.id = segment.partner_id
                   AND partner.consumer_preference_consent IS FALSE
                """
            )
        )
        if self.env.cr.rowcount:
            self._invalidate_caches()
        return True

    @api.model
    def _enqueue(self, moves):
        """Queue the customers of ``moves`` (invoices that entered or left the
        posted state) for a refresh: one insert, no lock, so that posting
        never waits for a segment. The history service sends the same insert
        within its own statement (``_enqueue_sql``)."""
        self.env.cr.execute(self._enqueue_sql(moves))

    @api.model
    def _enqueue_sql(self, moves):
        """The insert of ``_enqueue``; the invoices' columns it reads must be
        flushed."""
        return self._queue_invoice_customers_sql(SQL("id = ANY(%s)", moves.ids))

    @api.model
    def _enqueue_customers(self, partners):
        """Queue ``partners`` (commercial partners who gave their consent
        back) for a refresh in every company where they have posted
        invoices, as a posting queues its customer: their segments come back
        with the queue's next run, not the next night."""
        self.env["account.move"].flush_model(
            ["state", "move_type", "company_id", "commercial_partner_id"]
        )
        self.env.cr.execute(
            self._queue_invoice_customers_sql(
                SQL(
                    "commercial_partner_id = ANY(%s) AND state = 'posted'",
                    partners.ids,
                )
            )
        )

    @api.model
    def _enqueue_company_customers(self, pairs):
        """Queue the customers of ``pairs`` ((company id, partner id)) in
        those companies: what an invoice changed in place was theirs."""
        if pairs:
            company_ids, partner_ids = (
                list(column) for column in zip(*pairs, strict=True)
            )
            self.env.cr.execute(
                SQL(
                    """
                    INSERT INTO consumer_preference_segment_queue
                           (company_id, partner_id)
                    SELECT company_id, partner_id
                      FROM unnest(%s::int[], %s::int[]) AS pair(company_id, partner_id)
                    """,
                    company_ids,
                    partner_ids,
                )
            )
        return True

    @api.model
    def _queue_invoice_customers_sql(self, invoices):
        """Queue, in their company, the customers of the customer invoices and
        credit notes of ``account_move`` that the condition ``invoices``
        selects."""
        return SQL(
            """
            INSERT INTO consumer_preference_segment_queue (company_id, partner_id)
            SELECT DISTINCT company_id, commercial_partner_id
              FROM account_move
             WHERE %s
               AND move_type IN %s
               AND commercial_partner_id IS NOT NULL
            """,
            invoices,
            HISTORY_MOVE_TYPES,
        )

    @api.model
    def _erase(self, partners, companies):
        """Forget the segments of ``partners`` in ``companies`` (consent
        withdrawn)."""
        self.env.cr.execute(
            SQL(
                "DELETE FROM consumer_preference_segment "
                "WHERE partner_id = ANY(%s) AND company_id = ANY(%s)",
                partners.ids,
                companies.ids,
            )
        )
        self._invalidate_caches()

    # ------------------------------------------------------------------
    # The rules
    # ------------------------------------------------------------------
    @staticmethod
    def _segment_sql():
        """The segment of a scored customer (``scores``), from its recency
        score R and FM, the mean of its frequency and monetary scores (F + M
        compared to twice FM's threshold); the first rule that holds wins.
        The readme states the same rules."""
        return SQL(
            """
            CASE
                WHEN recency_score = 5
                     AND frequency_score + monetary_score >= 8 THEN 'champions'
                WHEN recency_score >= 3
                     AND frequency_score + monetary_score >= 8 THEN 'loyal'
                WHEN recency_score >= 4 AND purchase_count = 1 THEN 'new'
                WHEN recency_score >= 4
                     AND frequency_score + monetary_score >= 5 THEN 'active'
                WHEN recency_score >= 4 THEN 'promising'
                WHEN recency_score = 3 THEN 'needs_attention'
                WHEN frequency_score + monetary_score >= 8 THEN 'previously_loyal'
                WHEN recency_score = 2
                     AND frequency_score + monetary_score >= 5 THEN 'at_risk'
                WHEN recency_score = 2 THEN 'almost_lost'
                ELSE 'dormant'
            END
            """
        )

    # ------------------------------------------------------------------
    # Around the statements
    # ------------------------------------------------------------------
    def _check_rights(self):
        # The statements write below the ORM's access rights: only the
        # scheduled actions (superuser) and managers recompute segments.
        if not (self.env.su or self.env.user.has_group(SEGMENT_MANAGER_GROUP)):
            raise AccessError(
                _("Only consumer preference managers can recompute segments.")
            )

    def _invalidate_caches(self):
        """The statements wrote below the ORM: forget the segments, and the
        partners' fields showing them."""
        self.invalidate_model()
        self.env["res.partner"].invalidate_model(list(PARTNER_SEGMENT_FIELDS))

    def _flush_sources(self):
        self.env["account.move"].flush_model(
            [
                "state",
                "move_type",
                "company_id",
                "commercial_partner_id",
                "invoice_date",
                "amount_untaxed_signed",
                "amount_untaxed",
                "currency_id",
                "reversed_entry_id",
            ]
        )
        self.env["res.partner"].flush_model(["consumer_preference_consent"])
        self.env["consumer.preference"].flush_model(
            ["company_id", "partner_id", "preference_type", "active"]
        )
        self.flush_model()
