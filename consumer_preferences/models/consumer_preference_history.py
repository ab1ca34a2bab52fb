# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""The one place that turns posted customer invoices into history preferences.

Invariant: for every key (company, commercial partner, product) of a customer who
consents, the history line equals the aggregate of that key over the posted
customer invoices and credit notes of that company; a key that no posted invoice
supports has no history line.

Every entry point (posting, reset to draft, cancel, the install backfill, a
manager's rebuild, consent given back) only decides *which keys* to refresh, then
calls ``_refresh_keys``, which recomputes those keys from the source of truth in
one statement. Recomputing rather than incrementing is what keeps concurrent
posting correct: two transactions touching the same key collide on that key's
row, and PostgreSQL's repeatable-read isolation (Odoo's default) makes the later
one fail with a serialization error; Odoo retries it, and the retry sees both
invoices. Both the upsert (via the unique constraint) and the delete must touch
every existing row of the refreshed keys for this to hold: a rewrite that skips
rows would let a stale snapshot win (tests/test_history_concurrency.py).
"""

from odoo import api, models
from odoo.tools import SQL

HISTORY_MOVE_TYPES = ("out_invoice", "out_refund")


class ConsumerPreferenceHistory(models.AbstractModel):
    _name = "consumer.preference.history"
    _description = "Consumer Preference History Service"

    # ------------------------------------------------------------------
    # Entry points: which keys to refresh
    # ------------------------------------------------------------------
    @api.model
    def _sync_moves(self, moves):
        """Refresh the keys of customer invoices whose posted state changed."""
        moves = moves.filtered(lambda move: move.move_type in HISTORY_MOVE_TYPES)
        if not moves:
            return
        self._flush_sources()
        self.env.cr.execute(
            SQL(
                """
                SELECT DISTINCT move.company_id, move.commercial_partner_id,
                       line.product_id
                  FROM account_move_line line
                  JOIN account_move move ON move.id = line.move_id
                 WHERE line.move_id = ANY(%(move_ids)s)
                   AND line.display_type = 'product'
                   AND line.product_id IS NOT NULL
                """,
                move_ids=moves.ids,
            )
        )
        self._refresh_keys(self.env.cr.fetchall())

    @api.model
    def _rebuild(self, partners=None):
        """Rebuild the history of ``partners`` (commercial partners), or of every
        customer when none are given: the install backfill and the manager's
        rebuild. Keys are those of posted invoices plus those of existing lines,
        so that lines no invoice supports any more disappear."""
        self._flush_sources()
        partner_filter = SQL("TRUE")
        if partners is not None:
            partner_filter = SQL("partner_id = ANY(%s)", partners.ids)
        self.env.cr.execute(
            SQL(
                """
                SELECT company_id, partner_id, product_id FROM (
                    SELECT DISTINCT move.company_id,
                           move.commercial_partner_id AS partner_id,
                           line.product_id
                      FROM account_move_line line
                      JOIN account_move move ON move.id = line.move_id
                     WHERE move.state = 'posted'
                       AND move.move_type IN %(move_types)s
                       AND line.display_type = 'product'
                       AND line.product_id IS NOT NULL
                     UNION
                    SELECT company_id, partner_id, product_id
                      FROM consumer_preference
                     WHERE preference_type = 'history'
                ) history_keys
                 WHERE %(partner_filter)s
                """,
                move_types=HISTORY_MOVE_TYPES,
                partner_filter=partner_filter,
            )
        )
        self._refresh_keys(self.env.cr.fetchall())

    @api.model
    def _erase(self, partners):
        """Delete the history lines of ``partners``, whatever their consent."""
        self.env["consumer.preference"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                DELETE FROM consumer_preference
                 WHERE preference_type = 'history' AND partner_id = ANY(%s)
                """,
                partners.ids,
            )
        )
        self.env["consumer.preference"].invalidate_model()
        return self.env.cr.rowcount

    # ------------------------------------------------------------------
    # The consolidation rule and the statistics, stated once
    # ------------------------------------------------------------------
    @api.model
    def _refresh_keys(self, keys):
        """Recompute the history lines of ``keys``, a list of
        ``(company_id, commercial_partner_id, product_id)``, in one statement:
        aggregate the posted invoice lines of those keys, upsert a line for
        each key still bought, delete the lines of the others. Customers who
        withdrew consent are left untouched (nothing recorded, nothing lost
        until they ask for erasure)."""
        if not keys:
            return
        company_ids, partner_ids, product_ids = (
            list(column) for column in zip(*keys, strict=True)
        )
        self.env.cr.execute(
            SQL(
                """
        WITH keys AS (
            SELECT DISTINCT key.company_id, key.partner_id, key.product_id
              FROM unnest(%(company_ids)s::int[], %(partner_ids)s::int[],
                          %(product_ids)s::int[])
                   AS key(company_id, partner_id, product_id)
              JOIN res_partner partner ON partner.id = key.partner_id
             WHERE partner.consumer_preference_consent IS NOT FALSE
        ),
        source AS (
            SELECT move.company_id, move.commercial_partner_id AS partner_id,
                   line.product_id,
                   move.id AS move_id,
                   move.move_type = 'out_invoice' AS is_invoice,
                   move.invoice_date,
                   CASE WHEN move.move_type = 'out_refund' THEN -1 ELSE 1 END
                       * line.quantity / COALESCE(line_uom.factor, 1)
                       * COALESCE(product_uom.factor, 1) AS quantity,
                   -line.balance AS amount,
                   -- unit price in the product's unit and the company
                   -- currency: the line's unit and rate applied
                   line.price_unit
                       * COALESCE(line_uom.factor, 1) / COALESCE(product_uom.factor, 1)
                       * CASE WHEN line.amount_currency != 0
                              THEN line.balance / line.amount_currency ELSE 1 END
                       AS price_unit,
                   line.id AS line_id
              FROM account_move move
              JOIN account_move_line line ON line.move_id = move.id
              JOIN product_product product ON product.id = line.product_id
              JOIN product_template template ON template.id = product.product_tmpl_id
              LEFT JOIN uom_uom line_uom ON line_uom.id = line.product_uom_id
              LEFT JOIN uom_uom product_uom ON product_uom.id = template.uom_id
             WHERE move.state = 'posted'
               AND move.move_type IN %(move_types)s
               AND line.display_type = 'product'
               -- The customers and products alone let PostgreSQL read each
               -- customer's invoices (or each product's lines) once, however
               -- many keys they have; the keys then keep the right pairs.
               AND move.commercial_partner_id = ANY(%(distinct_partner_ids)s)
               AND line.product_id = ANY(%(distinct_product_ids)s)
               AND (move.company_id, move.commercial_partner_id, line.product_id)
                   IN (SELECT company_id, partner_id, product_id FROM keys)
        ),
        statistics AS (
            SELECT company_id, partner_id, product_id,
                   COUNT(DISTINCT move_id) FILTER (WHERE is_invoice)
                       AS invoice_count,
                   COUNT(DISTINCT move_id) FILTER (WHERE NOT is_invoice)
                       AS refund_count,
                   SUM(quantity) AS quantity,
                   SUM(amount) AS amount,
                   MIN(invoice_date) FILTER (WHERE is_invoice) AS first_invoice_date,
                   MAX(invoice_date) FILTER (WHERE is_invoice) AS last_invoice_date,
                   (ARRAY_AGG(price_unit ORDER BY invoice_date DESC, move_id DESC,
                              line_id DESC) FILTER (WHERE is_invoice))[1]
                       AS last_price_unit
              FROM source
             GROUP BY company_id, partner_id, product_id
            -- a credit note alone never makes a customer "prefer" a product
            HAVING COUNT(*) FILTER (WHERE is_invoice) > 0
        ),
        upserted AS (
            INSERT INTO consumer_preference AS preference (
                   company_id, partner_id, product_id, product_tmpl_id,
                   product_category_id, preference_type, attribute_value_key,
                   sequence, active, invoice_count, refund_count, quantity,
                   amount, first_invoice_date, last_invoice_date, last_price_unit,
                   average_quantity, next_expected_date,
                   create_uid, create_date, write_uid, write_date)
            SELECT statistics.company_id, statistics.partner_id,
                   statistics.product_id, product.product_tmpl_id,
                   template.categ_id, 'history',
                   COALESCE(variant_values.value_key, ''),
                   10, TRUE, invoice_count, refund_count, quantity,
                   amount, first_invoice_date, last_invoice_date, last_price_unit,
                   quantity / invoice_count,
                   CASE WHEN invoice_count > 1 THEN last_invoice_date
                        + ROUND((last_invoice_date - first_invoice_date)::numeric
                                / (invoice_count - 1))::int
                   END,
                   %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
              FROM statistics
              JOIN product_product product ON product.id = statistics.product_id
              JOIN product_template template ON template.id = product.product_tmpl_id
              LEFT JOIN LATERAL (
                    -- same key as consumer.preference._attribute_value_key()
                    SELECT STRING_AGG(value.product_attribute_value_id::text, ','
                                      ORDER BY value.product_attribute_value_id)
                           AS value_key
                      FROM product_variant_combination combination
                      JOIN product_template_attribute_value value
                        ON value.id = combination.product_template_attribute_value_id
                     WHERE combination.product_product_id = statistics.product_id
                   ) variant_values ON TRUE
                ON CONFLICT ON CONSTRAINT consumer_preference_unique_preference
                DO UPDATE SET invoice_count = EXCLUDED.invoice_count,
                              refund_count = EXCLUDED.refund_count,
                              quantity = EXCLUDED.quantity,
                              amount = EXCLUDED.amount,
                              first_invoice_date = EXCLUDED.first_invoice_date,
                              last_invoice_date = EXCLUDED.last_invoice_date,
                              last_price_unit = EXCLUDED.last_price_unit,
                              average_quantity = EXCLUDED.average_quantity,
                              next_expected_date = EXCLUDED.next_expected_date,
                              active = TRUE,
                              write_uid = EXCLUDED.write_uid,
                              write_date = EXCLUDED.write_date
            RETURNING preference.id, preference.product_id
        ),
        linked_values AS (
            INSERT INTO consumer_preference_attribute_value_rel
                   (preference_id, value_id)
            SELECT upserted.id, value.product_attribute_value_id
              FROM upserted
              JOIN product_variant_combination combination
                ON combination.product_product_id = upserted.product_id
              JOIN product_template_attribute_value value
                ON value.id = combination.product_template_attribute_value_id
                ON CONFLICT DO NOTHING
        )
        DELETE FROM consumer_preference preference
         USING keys
         WHERE preference.preference_type = 'history'
           AND preference.company_id = keys.company_id
           AND preference.partner_id = keys.partner_id
           AND preference.product_id = keys.product_id
           AND preference.id NOT IN (SELECT id FROM upserted)
                """,
                company_ids=company_ids,
                partner_ids=partner_ids,
                product_ids=product_ids,
                distinct_partner_ids=sorted(set(partner_ids)),
                distinct_product_ids=sorted(set(product_ids)),
                move_types=HISTORY_MOVE_TYPES,
                uid=self.env.uid,
            )
        )
        self.env["consumer.preference"].invalidate_model()

    def _flush_sources(self):
        """The statements read the database: push the pending ORM writes of
        the columns they read, and nothing more (this runs inside _post)."""
        self.env["account.move"].flush_model(
            ["state", "move_type", "company_id", "commercial_partner_id"]
            + ["invoice_date"]
        )
        self.env["account.move.line"].flush_model(
            [
                "move_id",
                "display_type",
                "product_id",
                "product_uom_id",
                "quantity",
                "price_unit",
                "balance",
                "amount_currency",
            ]
        )
        self.env["product.product"].flush_model(["product_tmpl_id"])
        self.env["product.template"].flush_model(["uom_id", "categ_id"])
        self.env["res.partner"].flush_model(["consumer_preference_consent"])
        self.env["consumer.preference"].flush_model()
