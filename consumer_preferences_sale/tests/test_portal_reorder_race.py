# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""The portal's Reorder form, and its heart on a purchase, submitted twice at
the same moment (a double click), in real, separate, committed transactions,
each wrapped in ``odoo.service.model.retrying`` as Odoo's server runs a
request.

This test commits: what it creates carries a unique tag and is removed at
the end."""

import threading
import time
import uuid

from odoo import api
from odoo.modules.registry import Registry
from odoo.service.model import retrying
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name

WORKER_TIMEOUT = 60


@tagged("post_install", "-at_install")
class TestPortalReorderRace(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        cls.tag = uuid.uuid4().hex[:8]
        cls.addClassCleanup(cls._remove_committed_data)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            cls.customer_id = (
                env["res.partner"]
                .create({"name": f"Reorder Race {cls.tag}", "is_company": True})
                .id
            )
            cls.product_id = (
                env["product.product"].create({"name": f"Race {cls.tag}"}).id
            )

    @classmethod
    def _remove_committed_data(cls):
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env["sale.order"].search([("partner_id", "=", cls.customer_id)]).unlink()
            env["consumer.preference"].with_context(active_test=False).search(
                [("partner_id", "=", cls.customer_id)]
            ).unlink()
            env["product.product"].browse(cls.product_id).unlink()
            env["res.partner"].browse(cls.customer_id).unlink()

    def _submit(self, token, results, name, before_lookup=None, after_create=None):
        """What the Reorder route does with its token: find the quotation of
        an earlier submission, else create one."""

        def call(env):
            # a request reads before it reaches the route: the snapshot
            env["res.partner"].browse(self.customer_id).read(["name"])
            if before_lookup:
                before_lookup()
            SaleOrder = env["sale.order"]
            order_id = SaleOrder._consumer_preference_reorder_of_token(token)
            if order_id:
                return "found", order_id
            order = SaleOrder.create(
                {
                    "partner_id": self.customer_id,
                    "consumer_preference_reorder_token": token,
                }
            )
            env.flush_all()
            if after_create:
                after_create()
            return "created", order.id

        self._request(results, name, call)

    def _add_favourite(self, results, name, before_lookup=None, after_create=None):
        """What the heart's route does: keep the product as a favourite."""

        def call(env):
            # a request reads before it reaches the route: the snapshot
            env["res.partner"].browse(self.customer_id).read(["name"])
            if before_lookup:
                before_lookup()
            favourite = env["consumer.preference"]._add_specification(
                env["res.partner"].browse(self.customer_id),
                env.company,
                env["product.product"].browse(self.product_id),
                env["product.attribute.value"],
            )
            env.flush_all()
            if after_create:
                after_create()
            return favourite.id

        self._request(results, name, call)

    def _request(self, results, name, call):
        """Run ``call(env)`` as Odoo's server runs a request: in a cursor of
        its own, retried on serialization failures; its result (or error)
        goes to ``results[name]``."""
        try:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, api.SUPERUSER_ID, {})
                results[name] = retrying(lambda: call(env), env)
        except Exception as error:  # reported by the main thread
            results[name] = error

    def _double_click(self, submit):
        """Run ``submit(results, name, before_lookup=, after_create=)`` twice
        at once: the second takes its snapshot once the first has created
        its record, and looks it up while the first has not committed yet.
        Return the results, by name (first, second)."""
        first_created = threading.Event()
        second_waiting = threading.Event()
        results = {}

        def hold_until_second_waits():
            first_created.set()
            if not second_waiting.wait(WORKER_TIMEOUT):
                raise TimeoutError("the second submission never came")
            # the second has taken its snapshot and reaches the lock
            time.sleep(0.5)

        def start_after_first_created():
            if not first_created.wait(WORKER_TIMEOUT):
                raise TimeoutError("the first submission created nothing")
            second_waiting.set()

        threads = [
            threading.Thread(
                target=submit,
                args=(results, "first"),
                kwargs={"after_create": hold_until_second_waits},
            ),
            threading.Thread(
                target=submit,
                args=(results, "second"),
                kwargs={"before_lookup": start_after_first_created},
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WORKER_TIMEOUT * 2)
        return results

    def test_second_submission_finds_the_first_quotation(self):
        """The second submission's snapshot predates the first's commit: it
        waits for the first, then opens its quotation, with no error and no
        second quotation."""
        token = f"race-{self.tag}"
        results = self._double_click(
            lambda results, name, **hooks: self._submit(token, results, name, **hooks)
        )
        self.assertEqual(results["first"][0], "created", results)
        self.assertEqual(results["second"], ("found", results["first"][1]))
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            self.assertEqual(
                env["sale.order"].search_count(
                    [("consumer_preference_reorder_token", "=", token)]
                ),
                1,
            )

    def test_second_heart_finds_the_first_favourite(self):
        """The heart on a purchase clicked twice: the second's snapshot
        predates the first's commit; it waits for the first, then finds its
        favourite, with no error and no second one."""
        results = self._double_click(self._add_favourite)
        self.assertIsInstance(results["first"], int, results)
        self.assertEqual(results["second"], results["first"], results)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            self.assertEqual(
                env["consumer.preference"].search_count(
                    [("partner_id", "=", self.customer_id)]
                ),
                1,
            )

    def test_second_specify_of_a_suggestion_finds_the_first(self):
        """A suggestion's Specify clicked twice at the same moment (two tabs,
        Specify and Specify and Bill): one specification, no error (the
        second got the duplicate's message)."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            bought = env["product.product"].create({"name": f"Race bought {self.tag}"})
            affinity = env["consumer.preference.affinity"].create(
                {
                    "company_id": env.company.id,
                    "product_id": bought.id,
                    "related_product_id": self.product_id,
                    "rank": 1,
                    "customer_count": 2,
                }
            )
            affinity_id, bought_id = affinity.id, bought.id
        self.addCleanup(self._remove_affinity, affinity_id, bought_id)

        def specify(results, name, before_lookup=None, after_create=None):
            def call(env):
                env["res.partner"].browse(self.customer_id).read(["name"])
                if before_lookup:
                    before_lookup()
                env["consumer.preference.affinity"].browse(affinity_id).with_context(
                    consumer_partner_id=self.customer_id
                ).action_add_to_specifications()
                env.flush_all()
                if after_create:
                    after_create()
                return True

            self._request(results, name, call)

        results = self._double_click(specify)
        self.assertEqual(results, {"first": True, "second": True})
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            self.assertEqual(
                env["consumer.preference"].search_count(
                    [("partner_id", "=", self.customer_id)]
                ),
                1,
            )

    def _remove_affinity(self, affinity_id, product_id):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env["consumer.preference"].with_context(active_test=False).search(
                [("partner_id", "=", self.customer_id)]
            ).unlink()
            env["consumer.preference.affinity"].browse(affinity_id).unlink()
            env["product.product"].browse(product_id).unlink()
