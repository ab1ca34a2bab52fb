# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""The consolidation rule and the statistics of the purchase history, stated
once, as SQL: which posted lines a key (company, commercial partner, product)
reads, what each line counts, which invoices are purchases, how the figures
aggregate, and how a history line is found and written. The history service
(``consumer.preference.history``) builds every statement from these: posting,
un-posting, recomputation, backfill and rebuild; the sales months read the
same posted lines."""

import logging

from psycopg2 import errors

from odoo import models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# The moves the history reads: customer invoices and credit notes.
HISTORY_MOVE_TYPES = ("out_invoice", "out_refund")
# The database function that says whether an invoice's reversals credited a
# product in full (``_is_purchase_sql``), created by ``init()``
CREDITED_FUNCTION = "consumer_preference_credited_in_full"
# A line's invoice date and id as one number, in the same order: days since
# DAY_ZERO times LINE_ID_SPAN (line ids stay below it), plus the line id.
DAY_ZERO = "0001-01-01"
LINE_ID_SPAN = 10_000_000_000
# The figures of a history line: written by the history service only (in SQL),
# from the posted invoices.
STATISTICS_FIELDS = (
    "invoice_count",
    "refund_count",
    "quantity",
    "amount",
    "first_invoice_date",
    "last_invoice_date",
    "last_invoice_line_id",
    "last_price_unit",
    "purchase_count",
    "first_purchase_date",
    "last_purchase_date",
    "average_quantity",
    "next_expected_date",
)
# The columns of a history line, as the statistics set them.
STATISTICS_COLUMNS = (*STATISTICS_FIELDS, "active", "write_uid", "write_date")


class ConsumerPreferenceStatistics(models.AbstractModel):
    _name = "consumer.preference.statistics"
    _description = "Consumer Preference History Statistics"

    def init(self):
        result = super().init()
        self.env.cr.execute(self._credited_function_sql())
        return result

    def _register_hook(self):
        result = super()._register_hook()
        # The code of this version deployed without updating the module
        # (-u): every statement that may read a reversal calls the function,
        # and posting must never fail for its lack.
        self.env.cr.execute(
            SQL("SELECT 1 FROM pg_proc WHERE proname = %s", CREDITED_FUNCTION)
        )
        if not self.env.cr.fetchone():
            _logger.warning(
                "Creating the database function %s: update the module "
                "consumer_preferences (-u) when deploying a new version.",
                CREDITED_FUNCTION,
            )
            try:
                with self.env.cr.savepoint():
                    self.env.cr.execute(self._credited_function_sql())
            except errors.DatabaseError:
                # most likely another Odoo server loading the database
                # created it meanwhile; else the first statement calling it
                # says what is wrong
                _logger.warning("Could not create %s", CREDITED_FUNCTION, exc_info=True)
        return result

    # ------------------------------------------------------------------
    # The rule and the figures
    # ------------------------------------------------------------------
    @staticmethod
    def _statistics_sql(scope, per_key=False, read_all=False):
        """The statistics of each key, from the posted customer invoice and
        credit note lines of consenting customers within ``scope`` (a
        condition on ``line``; with ``per_key``, on the ``keys`` relation,
        read one key at a time; with ``read_all``, most lines:
        ``_posted_lines_sql``); only keys with an invoice: a credit note
        alone never makes a customer prefer a product.

        One aggregate over the lines joined to their invoice and unit only
        (and, in a rebuild, their customer, for consent), everything else
        looked up per key afterwards. Quantities are in the product's unit
        (negative on credit notes); amounts and the last unit price in
        company currency.
        The last invoiced line is the greatest (invoice date, line id), found
        as the greatest of one number per line, without sorting.

        A purchase is a day the customer was invoiced the product by an
        invoice of its own that its reversals did not credit in full
        (``_is_purchase_sql``): looked up for the few invoices that have a
        reversal only."""

        def consenting_customer(alias):
            return SQL(
                "JOIN res_partner partner ON partner.id = %s.partner_id"
                " AND partner.consumer_preference_consent IS NOT FALSE",
                SQL.identifier(alias),
            )

        per_key_statistics = SQL(
            """
            SELECT line.company_id, line.partner_id, line.product_id,
                   %(aggregates)s
              FROM (SELECT %(figures)s
                      %(posted_lines)s
                     -- sorted where the lines are read (in parallel in a
                     -- rebuild), by invoice within each key: the aggregate
                     -- then reads its keys in order. The customer first:
                     -- most comparisons end at the first column (a tenth
                     -- less sorting at 1,000,000 lines than the company
                     -- first, the same for all lines of most databases)
                     ORDER BY line.partner_id, line.product_id,
                              line.company_id, line.move_id
                    OFFSET 0) line
             GROUP BY line.partner_id, line.product_id, line.company_id
            HAVING BOOL_OR(line.is_invoice)
            """,
            aggregates=ConsumerPreferenceStatistics._aggregates_sql(),
            figures=ConsumerPreferenceStatistics._line_figures_sql(
                is_purchase=ConsumerPreferenceStatistics._is_purchase_sql(
                    "move", SQL("line.partner_id"), SQL("line.product_id")
                )
            ),
            posted_lines=ConsumerPreferenceStatistics._posted_lines_sql(
                scope,
                # a rebuild reads the customers' consent in its pass over the
                # lines (hashed, for every customer)
                joins=None if per_key else consenting_customer("line"),
                read_all=read_all,
            ),
        )
        if per_key:
            # One index lookup per key (OFFSET 0 keeps the subquery apart):
            # a join would let the planner read every posted line instead.
            per_key_statistics = SQL(
                "SELECT key_statistics.* FROM keys %s"
                " CROSS JOIN LATERAL (%s OFFSET 0) key_statistics",
                consenting_customer("keys"),
                per_key_statistics,
            )
        return SQL(
            """
            SELECT per_key.company_id, per_key.partner_id, per_key.product_id,
                   per_key.invoice_count, per_key.refund_count,
                   per_key.reference_quantity * COALESCE(product_uom.factor, 1)
                       AS quantity,
                   per_key.amount, per_key.first_invoice_date,
                   per_key.last_invoice_date, per_key.last_line_id,
                   %(last_price_unit)s AS last_price_unit,
                   per_key.purchase_count, per_key.first_purchase_date,
                   per_key.last_purchase_date,
                   product.product_tmpl_id, template.categ_id,
                   -- same key as consumer.preference._attribute_value_key()
                   COALESCE(variant_values.value_key, '') AS attribute_value_key
              FROM (%(per_key_statistics)s) per_key
              JOIN product_product product ON product.id = per_key.product_id
              JOIN product_template template ON template.id = product.product_tmpl_id
              LEFT JOIN uom_uom product_uom ON product_uom.id = template.uom_id
              LEFT JOIN account_move_line last_line
                ON last_line.id = per_key.last_line_id
              LEFT JOIN uom_uom last_uom ON last_uom.id = last_line.product_uom_id
              LEFT JOIN (%(variant_values)s) variant_values
                -- once per product, not once per key
                ON variant_values.product_id = per_key.product_id
            """,
            per_key_statistics=per_key_statistics,
            variant_values=ConsumerPreferenceStatistics._variant_values_sql(
                SQL("TRUE")
            ),
            last_price_unit=ConsumerPreferenceStatistics._price_unit_sql(
                "last_line",
                # looked up only for a line of zero amount
                SQL(
                    "(SELECT last_move.invoice_currency_rate"
                    " FROM account_move last_move"
                    " WHERE last_move.id = last_line.move_id)"
                ),
                "last_uom",
                "product_uom",
            ),
        )

    @staticmethod
    def _price_unit_sql(line, invoice_rate, line_uom, product_uom):
        """A line's unit price in its product's unit and company currency:
        the line's own rate, else its invoice's (``invoice_rate``: a line of
        zero amount has no rate of its own)."""
        return SQL(
            """
            %(line)s.price_unit * COALESCE(%(line_uom)s.factor, 1)
                / COALESCE(%(product_uom)s.factor, 1)
                * CASE WHEN %(line)s.amount_currency != 0
                       THEN %(line)s.balance / %(line)s.amount_currency
                       WHEN %(invoice_rate)s > 0
                       THEN 1 / %(invoice_rate)s::numeric
                       ELSE 1 END
            """,
            line=SQL.identifier(line),
            invoice_rate=invoice_rate,
            line_uom=SQL.identifier(line_uom),
            product_uom=SQL.identifier(product_uom),
        )

    @staticmethod
    def _posted_lines_sql(scope, joins=None, state=None, read_all=False):
        """FROM and WHERE of the lines a history counts: the product lines of
        posted customer invoices and credit notes within ``scope`` (a
        condition on ``line``), as ``line``, with their ``move`` and unit
        (``line_uom``); ``joins`` adds more. ``state`` replaces the condition
        that their invoice is posted. ``read_all``: the scope is most lines
        (a rebuild of every customer, the sales by month's view), read in
        one pass rather than by index."""
        partner_condition = SQL("move.commercial_partner_id = line.partner_id")
        if read_all:
            # As a function call: PostgreSQL would take this equality as
            # independent of the one on move_id and expect a line in
            # thousands (25 keys out of 20,020 at 100,000 lines), then look
            # up each key's customer and last line one at a time; a function
            # call it estimates at a third, and hashes those joins.
            partner_condition = SQL(
                "int4eq(move.commercial_partner_id, line.partner_id)"
            )
        return SQL(
            """
              FROM account_move_line line
              JOIN account_move move ON move.id = line.move_id
              LEFT JOIN uom_uom line_uom ON line_uom.id = line.product_uom_id
              %s
             WHERE %s
               AND line.display_type = 'product'
               AND move.move_type IN %s
               -- Odoo keeps an invoice's lines on its commercial partner
               AND %s
               AND %s
            """,
            joins or SQL(),
            state or SQL("line.parent_state = 'posted'"),
            HISTORY_MOVE_TYPES,
            partner_condition,
            scope,
        )

    @staticmethod
    def _line_figures_sql(is_purchase=None):
        """What the statistics read of each line (``_posted_lines_sql``),
        computed where the line is read: the key, its invoice, whether that
        is an invoice (else a credit note) and one of its own
        (``is_own_invoice``: not one reversing a credit note), the quantity
        in the unit of reference (``reference_quantity``, negative on credit
        notes), the balance, and (invoice date, line id) as one number
        (``date_order``); with ``is_purchase`` (an expression), whether the
        line's invoice is a purchase."""
        return SQL(
            """
            line.company_id, line.partner_id, line.product_id, line.move_id,
            move.move_type = 'out_invoice' AS is_invoice,
            move.invoice_date,
            move.move_type = 'out_invoice' AND move.reversed_entry_id IS NULL
                AS is_own_invoice,
            %(is_purchase)s
            CASE WHEN move.move_type = 'out_refund' THEN -%(quantity)s
                 ELSE %(quantity)s END AS reference_quantity,
            line.balance,
            (move.invoice_date - DATE %(day_zero)s)::bigint * %(line_id_span)s
                + line.id AS date_order
            """,
            # most lines are in their unit of reference: no division
            quantity=SQL(
                "(CASE WHEN line_uom.factor != 1 THEN line.quantity / line_uom.factor"
                " ELSE line.quantity END)"
            ),
            day_zero=DAY_ZERO,
            line_id_span=LINE_ID_SPAN,
            is_purchase=SQL("%s AS is_purchase,", is_purchase)
            if is_purchase
            else SQL(),
        )

    @staticmethod
    def _is_purchase_sql(move, partner_id, product_id, posting=(), unposting=()):
        """Whether the invoice ``move`` (an alias) is a purchase of the
        product ``product_id`` by the customer ``partner_id`` (expressions):
        an invoice of its own (not one reversing a credit note: a return
        cancelled) that the credit notes reversing it (``reversed_entry_id``,
        the reversal wizard's) did not credit in full
        (``_credited_function_sql``). Only an invoice that has a posted
        credit note reversing it (or one counted as posted, in ``posting``)
        calls the function, which reads lines. The
        reversals in ``posting`` (ids) count as posted already, those in
        ``unposting`` as no longer posted: what the invoice is once they are
        written."""

        assert not (posting and unposting), "one way at a time"
        reversal_posted = SQL("reversal.state = 'posted'")
        if posting:
            reversal_posted = SQL(
                "(reversal.state = 'posted' OR reversal.id = ANY(%s))", list(posting)
            )
        elif unposting:
            reversal_posted = SQL(
                "(reversal.state = 'posted' AND NOT reversal.id = ANY(%s))",
                list(unposting),
            )
        return SQL(
            """
            (%(move)s.move_type = 'out_invoice'
             AND %(move)s.reversed_entry_id IS NULL
             -- a CASE, evaluated in order: the function (whose statement
             -- PostgreSQL plans only once it is called) for an invoice
             -- with a posted credit note reversing it only
             AND CASE WHEN EXISTS (
                           SELECT 1 FROM account_move reversal
                            WHERE reversal.reversed_entry_id = %(move)s.id
                              AND %(reversal_posted)s
                              AND reversal.move_type = 'out_refund')
                      THEN %(credited)s(%(move)s.id, %(partner_id)s,
                                        %(product_id)s, %(posting)s::int[],
                                        %(unposting)s::int[]) IS NOT TRUE
                      ELSE TRUE END)
            """,
            move=SQL.identifier(move),
            partner_id=partner_id,
            product_id=product_id,
            reversal_posted=reversal_posted,
            credited=SQL.identifier(CREDITED_FUNCTION),
            posting=list(posting),
            unposting=list(unposting),
        )

    @staticmethod
    def _credited_function_sql():
        """The database function ``CREDITED_FUNCTION``: whether the posted
        credit notes reversing an invoice (``reversed_entry_id``, the
        reversal wizard's) credited a customer's product in full, in the
        product's net quantity over the invoice's reversals at any depth:
        what invoices cancelling those credit notes give back, what credit
        notes reversing those invoices take back again, and so on, each
        counted while it and every reversal between it and the invoice are
        posted (the reversals of ``posting``, ids, as if posted, those of
        ``unposting`` as if not). NULL when no credit note of the chain has
        a line of the product.

        A function rather than a subquery of the statements
        (``_is_purchase_sql``): PostgreSQL plans its statement when an
        invoice with a reversal first calls it in a request, where it
        planned the subquery with every statement that might need it
        (most of a credit note's statements' planning). Its parameters are
        read as such where a column has the same name (a field another
        module adds)."""
        return SQL(
            """
            CREATE OR REPLACE FUNCTION %(function)s(
                invoice integer, customer integer, product integer,
                posting integer[], unposting integer[])
            RETURNS boolean
            LANGUAGE plpgsql STABLE PARALLEL SAFE
            -- one plan a request (Odoo resets a connection for each), not a
            -- custom plan for each call, as PostgreSQL chooses by default:
            -- a reset's nearest purchase may call it for every credited
            -- invoice it reads past
            SET plan_cache_mode = force_generic_plan
            AS $body$
            #variable_conflict use_variable
            BEGIN
                RETURN (
                    SELECT CASE WHEN BOOL_OR(purchase_move.move_type = 'out_refund')
                                THEN ROUND(SUM(
                                         CASE WHEN purchase_move.move_type
                                                   = 'out_refund'
                                              THEN -(%(quantity)s)
                                              ELSE %(quantity)s END), 6) <= 0
                           END
                      -- the invoice and its reversals, each found by its
                      -- index: the credit notes reversing it, the invoices
                      -- cancelling those, the credit notes reversing
                      -- these... (UNION: a cycle written by hand ends)
                      FROM (WITH RECURSIVE reversal_tree(id, move_type) AS (
                                SELECT invoice_move.id, invoice_move.move_type
                                  FROM account_move invoice_move
                                 WHERE invoice_move.id = invoice
                                UNION
                                SELECT reversal.id, reversal.move_type
                                  FROM reversal_tree
                                  JOIN account_move reversal
                                    ON reversal.reversed_entry_id
                                       = reversal_tree.id
                                 WHERE (reversal.state = 'posted'
                                        OR reversal.id = ANY(posting))
                                   AND NOT reversal.id = ANY(unposting)
                                   AND reversal.move_type IN %(move_types)s
                                   AND reversal.move_type
                                       != reversal_tree.move_type)
                            SELECT id FROM reversal_tree) purchase_move_ids
                      JOIN account_move purchase_move
                        ON purchase_move.id = purchase_move_ids.id
                      JOIN account_move_line purchase_line
                        ON purchase_line.move_id = purchase_move.id
                     WHERE purchase_move.commercial_partner_id = customer
                       AND purchase_line.partner_id = customer
                       AND purchase_line.product_id = product
                       AND purchase_line.display_type = 'product');
            END
            $body$
            """,
            function=SQL.identifier(CREDITED_FUNCTION),
            move_types=HISTORY_MOVE_TYPES,
            quantity=SQL(
                "CASE WHEN purchase_line.product_uom_id IS NULL"
                " THEN purchase_line.quantity"
                " ELSE purchase_line.quantity / (SELECT purchase_uom.factor"
                " FROM uom_uom purchase_uom"
                " WHERE purchase_uom.id = purchase_line.product_uom_id) END"
            ),
        )

    @staticmethod
    def _aggregates_sql(is_purchase=None):
        """What a history line counts of its lines (``_line_figures_sql``,
        as ``line``): invoices and credit notes, net quantity in the unit of
        reference (``reference_quantity``, negative on credit notes), net
        amount in company currency, first and last invoice dates and the last
        invoiced line (the greatest ``date_order``: no sort); the purchases
        (days of the lines meeting ``is_purchase``, ``line.is_purchase`` by
        default), first and last."""
        is_purchase = is_purchase or SQL("line.is_purchase")
        return SQL(
            """
            COUNT(DISTINCT line.move_id)
                FILTER (WHERE line.is_invoice) AS invoice_count,
            COUNT(DISTINCT line.move_id)
                FILTER (WHERE NOT line.is_invoice) AS refund_count,
            SUM(line.reference_quantity) AS reference_quantity,
            -SUM(line.balance) AS amount,
            DATE %(day_zero)s + (MIN(line.date_order) FILTER (WHERE line.is_invoice)
                                 / %(line_id_span)s)::int AS first_invoice_date,
            DATE %(day_zero)s + (MAX(line.date_order) FILTER (WHERE line.is_invoice)
                                 / %(line_id_span)s)::int AS last_invoice_date,
            MOD(MAX(line.date_order) FILTER (WHERE line.is_invoice),
                %(line_id_span)s)::int AS last_line_id,
            COUNT(DISTINCT line.invoice_date)
                FILTER (WHERE %(is_purchase)s) AS purchase_count,
            MIN(line.invoice_date)
                FILTER (WHERE %(is_purchase)s) AS first_purchase_date,
            MAX(line.invoice_date)
                FILTER (WHERE %(is_purchase)s) AS last_purchase_date
            """,
            day_zero=DAY_ZERO,
            line_id_span=LINE_ID_SPAN,
            is_purchase=is_purchase,
        )

    def _assignments_sql(self, alias):
        """The columns of a history line set from the statistics in
        ``alias`` (a relation with the columns of ``_statistics_sql``)."""
        statistics = SQL.identifier(alias)
        return SQL(
            """
            invoice_count = %(s)s.invoice_count,
            refund_count = %(s)s.refund_count,
            quantity = %(s)s.quantity,
            amount = %(s)s.amount,
            first_invoice_date = %(s)s.first_invoice_date,
            last_invoice_date = %(s)s.last_invoice_date,
            last_invoice_line_id = %(s)s.last_line_id,
            last_price_unit = %(s)s.last_price_unit,
            purchase_count = %(s)s.purchase_count,
            first_purchase_date = %(s)s.first_purchase_date,
            last_purchase_date = %(s)s.last_purchase_date,
            average_quantity = %(average_quantity)s,
            next_expected_date = %(next_expected_date)s,
            active = TRUE,
            write_uid = %(uid)s,
            write_date = NOW() AT TIME ZONE 'UTC'
            """,
            s=statistics,
            average_quantity=self._average_quantity_sql(statistics),
            next_expected_date=self._next_expected_date_sql(statistics),
            uid=self.env.uid,
        )

    @staticmethod
    def _average_quantity_sql(statistics):
        """Net quantity per purchase (all of it, should none be left)."""
        return SQL(
            "%(s)s.quantity / GREATEST(%(s)s.purchase_count, 1)",
            s=statistics,
        )

    @staticmethod
    def _next_expected_date_sql(statistics):
        """Last purchase date plus the average interval between purchases."""
        return SQL(
            """
            CASE WHEN %(s)s.purchase_count > 1 THEN %(s)s.last_purchase_date
                 + ROUND((%(s)s.last_purchase_date
                          - %(s)s.first_purchase_date)::numeric
                         / (%(s)s.purchase_count - 1))::int
            END
            """,
            s=statistics,
        )

    @staticmethod
    def _variant_values_sql(condition):
        """Each variant meeting ``condition`` (on ``combination``, a
        ``product_variant_combination``) with its characteristic values as
        one text (``product_id``, ``value_key``), the same as
        ``consumer.preference._attribute_value_key()``."""
        return SQL(
            """
            SELECT combination.product_product_id AS product_id,
                   STRING_AGG(value.product_attribute_value_id::text, ','
                              ORDER BY value.product_attribute_value_id)
                       AS value_key
              FROM product_variant_combination combination
              JOIN product_template_attribute_value value
                ON value.id = combination.product_template_attribute_value_id
             WHERE %s
             GROUP BY combination.product_product_id
            """,
            condition,
        )

    @staticmethod
    def _value_key_sql(product_id):
        """The value key (``_variant_values_sql``) of the variant
        ``product_id`` (an SQL expression), '' for a product without
        variants."""
        return SQL(
            "COALESCE((SELECT variant_values.value_key FROM (%s) variant_values), '')",
            ConsumerPreferenceStatistics._variant_values_sql(
                SQL("combination.product_product_id = %s", product_id)
            ),
        )

    # ------------------------------------------------------------------
    # A key's lines, looked up one day or one line at a time
    # ------------------------------------------------------------------
    @staticmethod
    def _key_lines_sql(line, key):
        """Whether ``line`` (an alias of ``account_move_line``) is a posted
        product line of the key in ``key`` (an alias with ``company_id``,
        ``partner_id`` and ``product_id``): the condition of the index of the
        posted lines by customer, product, company and date
        (``account_move_line.py``), so that the key's lines are read through
        it, whatever the customer's past."""
        return SQL(
            """
                %(line)s.partner_id = %(key)s.partner_id
            AND %(line)s.product_id = %(key)s.product_id
            AND %(line)s.company_id = %(key)s.company_id
            AND %(line)s.parent_state = 'posted'
            AND %(line)s.display_type = 'product'
            """,
            line=SQL.identifier(line),
            key=SQL.identifier(key),
        )

    @staticmethod
    def _purchased_that_day_sql(key, day, excluded=(), posting=(), unposting=()):
        """Whether the key in ``key`` (an alias with ``company_id``,
        ``partner_id`` and ``product_id``) has a purchase on ``day`` (an
        expression): a posted invoice of that day, but those of ``excluded``
        (ids), with a line of the product, that is a purchase
        (``_is_purchase_sql``, as the statistics count them; with the
        reversals of ``posting`` as if posted, those of ``unposting`` as if
        not). Read through the key's posted
        lines of that day only (the index of the posted lines by customer,
        product, company and date): whatever its past."""
        return SQL(
            """
            EXISTS (
                SELECT 1 FROM account_move_line day_line
                  JOIN account_move day_move ON day_move.id = day_line.move_id
                 WHERE %(key_lines)s
                   AND day_line.invoice_date = %(day)s
                   AND day_move.commercial_partner_id = day_line.partner_id
                   AND NOT day_move.id = ANY(%(excluded)s)
                   AND %(is_purchase)s)
            """,
            key_lines=ConsumerPreferenceStatistics._key_lines_sql("day_line", key),
            day=day,
            excluded=list(excluded),
            is_purchase=ConsumerPreferenceStatistics._is_purchase_sql(
                "day_move",
                SQL("%s.partner_id", SQL.identifier(key)),
                SQL("%s.product_id", SQL.identifier(key)),
                posting,
                unposting,
            ),
        )

    @staticmethod
    def _nearest_purchase_sql(key, day, later):
        """The key's (``_purchased_that_day_sql``) purchase day nearest to
        ``day`` (excluded), later or earlier: the key's posted lines read
        from that day on, in date order, through the index of the posted
        lines by customer, product, company and date, up to the first that
        is a purchase."""
        return SQL(
            """
            (SELECT line.invoice_date
               FROM account_move_line line
              WHERE %(key_lines)s
                AND line.invoice_date %(direction)s %(day)s
                -- a lookup per line read, in date order, until one is a
                -- purchase (a join would read every line of the key)
                AND (SELECT %(is_purchase)s FROM account_move move
                      WHERE move.id = line.move_id
                        AND move.commercial_partner_id = line.partner_id)
              ORDER BY line.invoice_date %(order)s
              LIMIT 1)
            """,
            key_lines=ConsumerPreferenceStatistics._key_lines_sql("line", key),
            day=day,
            direction=SQL(">" if later else "<"),
            order=SQL("" if later else "DESC"),
            is_purchase=ConsumerPreferenceStatistics._is_purchase_sql(
                "move", SQL("line.partner_id"), SQL("line.product_id")
            ),
        )

    @staticmethod
    def _other_invoice_line_sql(key, moves):
        """Whether ``line`` is a posted invoice line of the key in ``key``
        (an alias with ``company_id``, ``partner_id`` and ``product_id``)
        but those of ``moves``: read through the index of the posted lines
        by customer, product, company and date, its invoice looked up for
        each line read (a join would read every line of the key)."""
        return SQL(
            """
                %(key_lines)s
            AND NOT line.move_id = ANY(%(move_ids)s)
            AND (SELECT move.move_type = 'out_invoice' FROM account_move move
                  WHERE move.id = line.move_id
                    AND move.commercial_partner_id = line.partner_id)
            """,
            key_lines=ConsumerPreferenceStatistics._key_lines_sql("line", key),
            move_ids=moves.ids,
        )

    # ------------------------------------------------------------------
    # A history line, found and written
    # ------------------------------------------------------------------
    def _history_line_sql(self, key):
        """The join condition of ``preference`` on the history line of the
        key in ``key`` (an alias with ``company_id``, ``partner_id`` and
        ``product_id``), with its product's characteristic values."""
        key = SQL.identifier(key)
        return SQL(
            """
                   preference.company_id = %(key)s.company_id
               AND preference.partner_id = %(key)s.partner_id
               AND preference.product_id = %(key)s.product_id
               AND preference.preference_type = 'history'
               AND preference.attribute_value_key = %(value_key)s
            """,
            key=key,
            value_key=self._value_key_sql(SQL("%s.product_id", key)),
        )

    def _insert_sql(self, alias, condition, on_conflict):
        """Insert the history lines of the statistics in ``alias`` (a
        relation with the columns of ``_statistics_sql``) that meet
        ``condition``; return their id and product."""
        statistics = SQL.identifier(alias)
        return SQL(
            """
            INSERT INTO consumer_preference AS preference (
                   company_id, partner_id, product_id, product_tmpl_id,
                   product_category_id, preference_type, attribute_value_key,
                   sequence, active, invoice_count, refund_count, quantity,
                   amount, first_invoice_date, last_invoice_date,
                   last_invoice_line_id, last_price_unit, purchase_count,
                   first_purchase_date, last_purchase_date, average_quantity,
                   next_expected_date, create_uid, create_date, write_uid,
                   write_date)
            SELECT %(s)s.company_id, %(s)s.partner_id, %(s)s.product_id,
                   %(s)s.product_tmpl_id, %(s)s.categ_id, 'history',
                   %(s)s.attribute_value_key, 10, TRUE, %(s)s.invoice_count,
                   %(s)s.refund_count, %(s)s.quantity, %(s)s.amount,
                   %(s)s.first_invoice_date, %(s)s.last_invoice_date,
                   %(s)s.last_line_id, %(s)s.last_price_unit,
                   %(s)s.purchase_count, %(s)s.first_purchase_date,
                   %(s)s.last_purchase_date, %(average_quantity)s,
                   %(next_expected_date)s,
                   %(uid)s, NOW() AT TIME ZONE 'UTC',
                   %(uid)s, NOW() AT TIME ZONE 'UTC'
              FROM %(s)s
             WHERE %(condition)s
                ON CONFLICT ON CONSTRAINT consumer_preference_unique_preference
                %(on_conflict)s
            RETURNING preference.id, preference.product_id
            """,
            s=statistics,
            average_quantity=self._average_quantity_sql(statistics),
            next_expected_date=self._next_expected_date_sql(statistics),
            uid=self.env.uid,
            condition=condition,
            on_conflict=on_conflict,
        )

    @staticmethod
    def _link_values_sql(inserted):
        """Link the lines in ``inserted`` (id, product_id) to their
        variant's characteristic values."""
        return SQL(
            """
            INSERT INTO consumer_preference_attribute_value_rel
                   (preference_id, value_id)
            SELECT %(inserted)s.id, value.product_attribute_value_id
              FROM %(inserted)s
              JOIN product_variant_combination combination
                ON combination.product_product_id = %(inserted)s.product_id
              JOIN product_template_attribute_value value
                ON value.id = combination.product_template_attribute_value_id
                ON CONFLICT DO NOTHING
            """,
            inserted=SQL.identifier(inserted),
        )
