# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import api, fields, models
from odoo.tools import SQL, drop_view_if_exists

MONTHS = [
    ("01", "January"),
    ("02", "February"),
    ("03", "March"),
    ("04", "April"),
    ("05", "May"),
    ("06", "June"),
    ("07", "July"),
    ("08", "August"),
    ("09", "September"),
    ("10", "October"),
    ("11", "November"),
    ("12", "December"),
]


class ConsumerPreferenceSalesMonth(models.Model):
    """A customer's posted invoice and credit note lines by year and month of
    the year, for a year × month grid per product (a pivot). A view over the
    lines the purchase history adds up (``_posted_lines_sql``): the web
    client groups dates by month *of a year* only, never by month alone."""

    _name = "consumer.preference.sales.month"
    _description = "Consumer Preference Sales by Month"
    _auto = False
    _rec_name = "product_id"
    _order = "invoice_date desc, id desc"

    company_id = fields.Many2one(comodel_name="res.company", readonly=True)
    currency_id = fields.Many2one(comodel_name="res.currency", readonly=True)
    partner_id = fields.Many2one(
        comodel_name="res.partner", string="Customer", readonly=True
    )
    product_id = fields.Many2one(comodel_name="product.product", readonly=True)
    invoice_date = fields.Date(readonly=True)
    year = fields.Char(readonly=True)
    month = fields.Selection(selection=MONTHS, readonly=True)
    quantity = fields.Float(
        string="Net Quantity",
        digits="Product Unit of Measure",
        readonly=True,
        help="In the product's unit; credit notes deducted.",
    )
    amount = fields.Monetary(
        string="Net Amount",
        readonly=True,
        help="Untaxed, in the company currency; credit notes deducted.",
    )

    # What the view reads: Odoo writes their pending changes before a search.
    _depends = {
        "account.move": [
            "move_type",
            "invoice_date",
            "commercial_partner_id",
            "state",
        ],
        "account.move.line": [
            "move_id",
            "company_id",
            "partner_id",
            "product_id",
            "product_uom_id",
            "quantity",
            "balance",
            "display_type",
            "parent_state",
        ],
        "product.product": ["product_tmpl_id"],
        "product.template": ["uom_id"],
        "res.company": ["currency_id"],
        "uom.uom": ["factor"],
    }

    @api.model
    def _query(self):
        Statistics = self.env["consumer.preference.statistics"]
        return SQL(
            """
            SELECT line.id, line.company_id, company.currency_id,
                   line.partner_id, line.product_id, move.invoice_date,
                   TO_CHAR(move.invoice_date, 'YYYY') AS year,
                   TO_CHAR(move.invoice_date, 'MM') AS month,
                   CASE WHEN move.move_type = 'out_refund' THEN -1 ELSE 1 END
                       * line.quantity / COALESCE(line_uom.factor, 1)
                       * COALESCE(product_uom.factor, 1) AS quantity,
                   -line.balance AS amount
              %s
            """,
            Statistics._posted_lines_sql(
                SQL("line.product_id IS NOT NULL"),
                # read whole unless filtered (by customer, as the form opens
                # it): estimated as every line, not one in thousands
                read_all=True,
                joins=SQL(
                    "JOIN res_company company ON company.id = line.company_id"
                    " JOIN product_product product ON product.id = line.product_id"
                    " JOIN product_template template"
                    " ON template.id = product.product_tmpl_id"
                    " LEFT JOIN uom_uom product_uom"
                    " ON product_uom.id = template.uom_id"
                ),
            ),
        )

    def init(self):
        drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                "CREATE OR REPLACE VIEW %s AS (%s)",
                SQL.identifier(self._table),
                self._query(),
            )
        )
