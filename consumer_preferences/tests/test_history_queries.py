# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""The history costs a fixed number of SQL queries per posting, however many
lines the invoice has."""

import sys
from contextlib import contextmanager
from unittest.mock import patch

from odoo import Command
from odoo.sql_db import Cursor
from odoo.tests import tagged

from .common import ConsumerPreferenceCommon

# _sync_moves: one query for the keys of the moves, one statement that
# recomputes, upserts and deletes the history lines of those keys.
SYNC_QUERY_COUNT = 2
# The same, plus reading the moves' type from a cold cache.
SYNC_QUERY_COUNT_COLD = 3
SERVICE_FILE = "consumer_preferences/models/consumer_preference_history.py"
CURSOR_FILES = ("odoo/sql_db.py", "odoo/tools/sql.py")


@tagged("post_install", "-at_install", "is_query_count")
class TestHistoryQueries(ConsumerPreferenceCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bulk_products = cls.env["product.product"].create(
            [
                {
                    "name": f"Bulk product {number}",
                    "lst_price": 10.0 + number,
                    "property_account_income_id": cls.company_data[
                        "default_account_revenue"
                    ].id,
                    "taxes_id": [Command.set(cls.tax_sale_a.ids)],
                }
                for number in range(50)
            ]
        )

    def _draft_invoices(self):
        """A one-line and a fifty-line invoice (distinct products)."""
        small = self._create_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        large = self._create_customer_invoice(
            self.customer,
            [
                (product, 1 + index, product.lst_price)
                for index, product in enumerate(self.bulk_products)
            ],
        )
        return small, large

    def _count_queries(self, function):
        self.env.flush_all()
        count_before = self.cr.sql_log_count
        function()
        return self.cr.sql_log_count - count_before

    def test_sync_moves_query_count_independent_of_line_count(self):
        small, large = self._draft_invoices()
        (small | large).with_user(self.accountant).action_post()
        self.assertEqual(len(self._history(self.customer)), 51)
        history = self.env["consumer.preference.history"]

        for invoice in (small, large):
            # Cold cache: the moves' type is read too.
            self.env.invalidate_all()
            self.assertEqual(
                self._count_queries(
                    lambda invoice=invoice: history._sync_moves(invoice)
                ),
                SYNC_QUERY_COUNT_COLD,
                f"{len(invoice.invoice_line_ids)}-line invoice, cold cache",
            )
            self.assertEqual(
                self._count_queries(
                    lambda invoice=invoice: history._sync_moves(invoice)
                ),
                SYNC_QUERY_COUNT,
                f"{len(invoice.invoice_line_ids)}-line invoice, warm cache",
            )
        # Both invoices at once: still one batch.
        self.env.invalidate_all()
        self.assertEqual(
            self._count_queries(lambda: history._sync_moves(small | large)),
            SYNC_QUERY_COUNT_COLD,
        )
        # The recomputation did its work: the fifty lines are still right.
        self.assertRecordValues(
            self._history(self.customer, self.bulk_products[49]),
            [{"invoice_count": 1, "quantity": 50.0, "amount": 50 * 59.0}],
        )

    def test_posting_runs_the_same_history_queries_for_1_and_50_lines(self):
        """Inside a real posting, the SQL the history service sends itself
        is the same for one line and for fifty."""
        small, large = self._draft_invoices()
        service_queries, queries_during_service = {}, {}
        for invoice in (small, large):
            self.env.flush_all()
            with self._record_queries() as queries:
                invoice.with_user(self.accountant).action_post()
            line_count = len(invoice.invoice_line_ids)
            service_queries[line_count] = [
                query for query, caller, _during in queries if caller == SERVICE_FILE
            ]
            # Including the ORM flushes the service triggers before reading.
            queries_during_service[line_count] = [
                query for query, _caller, during in queries if during
            ]
        self.assertEqual(len(service_queries[1]), SYNC_QUERY_COUNT)
        self.assertEqual(len(service_queries[50]), SYNC_QUERY_COUNT)
        self.assertEqual(
            len(queries_during_service[1]), len(queries_during_service[50])
        )
        self.assertEqual(len(self._history(self.customer)), 51)

    @contextmanager
    def _record_queries(self):
        """Record each query as (query, file of the code that sent it, whether
        the history service is running), on the cursor as Odoo's own
        ``assertQueries`` does: the ORM itself is left alone."""
        queries = []
        execute = Cursor.execute

        def recording_execute(cursor, query, params=None, log_exceptions=True):
            frame = sys._getframe(1)
            while frame.f_code.co_filename.endswith(CURSOR_FILES):
                frame = frame.f_back
            caller = frame.f_code.co_filename
            during_service = False
            while frame and not during_service:
                during_service = frame.f_code.co_filename.endswith(SERVICE_FILE)
                frame = frame.f_back
            queries.append(
                (
                    str(query),
                    SERVICE_FILE if caller.endswith(SERVICE_FILE) else caller,
                    during_service,
                )
            )
            return execute(cursor, query, params, log_exceptions)

        with patch.object(Cursor, "execute", recording_execute):
            yield queries
