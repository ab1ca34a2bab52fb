# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .common import ConsumerPreferenceCommon


@tagged("post_install", "-at_install")
class TestConsumerPreferenceSpecification(ConsumerPreferenceCommon):
    def _specify(self, partner, product, values=None, note=False, user=None):
        """Add a specification through the partner form, as a salesperson does."""
        specifications = [
            ("partner_id", "=", partner.commercial_partner_id.id),
            ("preference_type", "=", "specification"),
        ]
        existing = self.env["consumer.preference"].search(specifications)
        with Form(self._as_web_client(partner, user)) as partner_form:
            with partner_form.commercial_specification_ids.new() as line:
                line.product_id = product
                if values is not None:
                    line.attribute_value_ids.clear()
                    for value in values:
                        line.attribute_value_ids.add(value)
                if note:
                    line.note = note
        return self.env["consumer.preference"].search(specifications) - existing

    def _as_web_client(self, records, user=None):
        """The records as the web client's request would see them: the user's
        current company selected."""
        user = user or self.salesperson
        return records.with_user(user).with_context(
            allowed_company_ids=user.company_id.ids
        )

    def test_add_specification_without_values(self):
        preference = self._specify(self.customer, self.coffee, note="Dark roast")
        self.assertRecordValues(
            preference,
            [
                {
                    "partner_id": self.customer.id,
                    "company_id": self.company.id,
                    "product_id": self.coffee.id,
                    "preference_type": "specification",
                    "attribute_value_ids": [],
                    "note": "Dark roast",
                }
            ],
        )
        self.assertEqual(self.customer.consumer_preference_count, 1)

    def test_add_specification_with_values(self):
        preference = self._specify(
            self.customer, self.shirt_m, values=[self.size_m, self.quality_8]
        )
        self.assertEqual(preference.attribute_value_ids, self.size_m | self.quality_8)
        self.assertEqual(
            preference.attribute_value_key,
            ",".join(str(i) for i in sorted((self.size_m | self.quality_8).ids)),
        )
        self.assertIn("Quality: 8", preference.display_name)

    def test_variant_values_are_proposed(self):
        """Picking a variant proposes its values; the user may keep them."""
        preference = self._specify(self.customer, self.shirt_l)
        self.assertEqual(preference.attribute_value_ids, self.size_l)

    def test_edit_specification(self):
        preference = self._specify(self.customer, self.shirt_m, values=[self.size_m])
        with Form(self.customer.with_user(self.salesperson)) as partner_form:
            with partner_form.commercial_specification_ids.edit(0) as line:
                line.attribute_value_ids.add(self.quality_9)
                line.note = "For the summer"
        self.assertRecordValues(
            preference,
            [
                {
                    "attribute_value_ids": (self.size_m | self.quality_9).ids,
                    "note": "For the summer",
                }
            ],
        )

    def test_delete_specification(self):
        preference = self._specify(self.customer, self.coffee)
        with Form(self.customer.with_user(self.salesperson)) as partner_form:
            partner_form.commercial_specification_ids.remove(0)
        self.assertFalse(preference.exists())

    def test_duplicate_refused(self):
        """The user gets the message, and the server log no SQL error."""
        self._specify(self.customer, self.shirt_m, values=[self.size_m, self.quality_8])
        with (
            self.assertNoLogs("odoo.sql_db", "ERROR"),
            self.assertRaisesRegex(ValidationError, "already has this product"),
        ):
            self._specify(
                self.customer_contact,
                self.shirt_m,
                values=[self.quality_8, self.size_m],
            )
        with (
            self.assertNoLogs("odoo.sql_db", "ERROR"),
            self.assertRaisesRegex(ValidationError, "already has this product"),
        ):
            self.env["consumer.preference"].with_user(self.salesperson).create(
                {
                    "partner_id": self.customer.id,
                    "product_id": self.shirt_m.id,
                    "attribute_value_ids": [
                        Command.set((self.quality_8 | self.size_m).ids)
                    ],
                }
            )

    def test_duplicate_by_editing_refused(self):
        self._specify(self.customer, self.shirt_m, values=[self.size_m, self.quality_8])
        other = self._specify(
            self.customer, self.shirt_m, values=[self.size_m, self.quality_9]
        )
        with (
            self.assertNoLogs("odoo.sql_db", "ERROR"),
            self.assertRaisesRegex(ValidationError, "already has this product"),
        ):
            with Form(self._as_web_client(other)) as form:
                form.attribute_value_ids.remove(self.quality_9.id)
                form.attribute_value_ids.add(self.quality_8)

    def test_duplicate_message_names_customer_and_product(self):
        """Among a customer's many lines, the message says which product
        (and values) is already specified, and for whom."""
        self._specify(self.customer, self.shirt_m, values=[self.size_m, self.quality_8])
        self._specify(self.customer, self.coffee)
        for duplicate_of_batch in (False, True):
            with self.subTest(duplicate_of_batch=duplicate_of_batch):
                with self.assertRaises(ValidationError) as caught:
                    with Form(self._as_web_client(self.customer_contact)) as form:
                        with form.commercial_specification_ids.new() as line:
                            line.product_id = self.tea
                        if duplicate_of_batch:
                            with form.commercial_specification_ids.new() as line:
                                line.product_id = self.tea
                        else:
                            with form.commercial_specification_ids.new() as line:
                                line.product_id = self.shirt_m
                                line.attribute_value_ids.add(self.quality_8)
                message = str(caught.exception)
                self.assertIn("Azure Shop", message)
                if duplicate_of_batch:
                    self.assertIn("Tea", message)
                else:
                    self.assertIn("Shirt (M) (Quality: 8, Size: M)", message)
                    self.assertNotIn("Coffee", message)

    def test_duplicate_of_archived_line_says_archived(self):
        """An archived line still holds its customer, product and values: the
        message sends the user to that line, which the tab no longer shows."""
        preference = self._specify(self.customer, self.tea)
        preference.with_user(self.salesperson).action_archive()
        with (
            self.assertNoLogs("odoo.sql_db", "ERROR"),
            self.assertRaises(ValidationError) as caught,
        ):
            self._specify(self.customer_contact, self.tea)
        message = str(caught.exception)
        self.assertIn("archived preferences: Tea", message)
        self.assertIn("Restore", message)
        self.assertNotIn("Edit the existing line", message)

    def test_two_specifications_of_one_batch_refused(self):
        with (
            self.assertNoLogs("odoo.sql_db", "ERROR"),
            self.assertRaisesRegex(ValidationError, "already has this product"),
        ):
            self.env["consumer.preference"].with_user(self.salesperson).create(
                [
                    {"partner_id": self.customer.id, "product_id": self.tea.id},
                    {"partner_id": self.customer_contact.id, "product_id": self.tea.id},
                ]
            )

    def test_database_constraint_still_guards(self):
        """Concurrent requests that both pass the check meet the constraint."""
        self._specify(self.customer, self.tea)
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self.env.cr.execute(
                """
                INSERT INTO consumer_preference (company_id, partner_id,
                       product_id, attribute_value_key, preference_type)
                SELECT company_id, partner_id, product_id, attribute_value_key,
                       preference_type
                  FROM consumer_preference
                 WHERE partner_id = %s
                """,
                [self.customer.id],
            )

    def test_same_product_other_values_allowed(self):
        self._specify(self.customer, self.shirt_m, values=[self.size_m, self.quality_8])
        other = self._specify(
            self.customer, self.shirt_m, values=[self.size_m, self.quality_9]
        )
        self.assertEqual(len(self.customer.consumer_specification_ids), 2)
        self.assertEqual(other.attribute_value_ids, self.size_m | self.quality_9)

    def test_foreign_attribute_value_refused(self):
        with self.assertRaisesRegex(ValidationError, "Red cannot be chosen"):
            self._specify(self.customer, self.shirt_m, values=[self.colour.value_ids])

    def test_two_values_of_one_attribute_refused(self):
        with self.assertRaisesRegex(ValidationError, "at most one value"):
            self._specify(
                self.customer, self.shirt_m, values=[self.quality_7, self.quality_8]
            )

    def test_values_contradicting_the_variant_refused(self):
        """ "Shirt (S)" with Size: L is refused by the server."""
        # Odoo's assertRaises: rolled back like the refused request.
        with self.assertRaises(ValidationError) as caught:
            self._specify(self.customer, self.shirt_s, values=[self.size_l])
        self.assertIn(
            "Size: L contradicts the chosen variant Shirt (S)", str(caught.exception)
        )
        with self.assertRaises(ValidationError) as caught:
            self.env["consumer.preference"].with_user(self.salesperson).create(
                {
                    "partner_id": self.customer.id,
                    "product_id": self.shirt_s.id,
                    "attribute_value_ids": [Command.set(self.size_l.ids)],
                }
            )
        self.assertIn("contradicts the chosen variant", str(caught.exception))
        # Fewer values than the variant's is not a contradiction.
        preference = self._specify(self.customer, self.shirt_s, values=[self.quality_9])
        self.assertEqual(preference.attribute_value_ids, self.quality_9)

    def test_form_offers_only_values_agreeing_with_the_variant(self):
        """The dropdown's domain: the variant's own size, and once a quality
        is chosen no second one."""
        with Form(self._as_web_client(self.customer)) as partner_form:
            with partner_form.commercial_specification_ids.new() as line:
                line.product_id = self.shirt_s
                self.assertEqual(self._values(line.attribute_value_ids), self.size_s)
                self.assertEqual(
                    self._values(line.allowed_attribute_value_ids),
                    self.size_s | self.quality.value_ids,
                )
                line.attribute_value_ids.add(self.quality_7)
                self.assertEqual(
                    self._values(line.allowed_attribute_value_ids),
                    self.size_s | self.quality_7,
                )
                line.attribute_value_ids.remove(self.size_s.id)
                self.assertEqual(
                    self._values(line.allowed_attribute_value_ids),
                    self.size_s | self.quality_7,
                )

    def _values(self, proxy):
        """The records of a many2many field of a Form."""
        return self.env["product.attribute.value"].union(*proxy)

    def test_contact_shares_company_profile(self):
        """A contact's tab shows and edits its company's lines."""
        preference = self._specify(self.customer_contact, self.coffee)
        self.assertEqual(preference.partner_id, self.customer)
        self.assertEqual(self.customer_contact.commercial_specification_ids, preference)
        self.assertEqual(self.customer_contact.consumer_preference_count, 1)
        self.assertFalse(self.customer_contact.consumer_preference_ids)

    def test_other_company_lines_invisible(self):
        other_company = self.setup_other_company()["company"]
        foreign_preference = self.env["consumer.preference"].create(
            {
                "partner_id": self.customer.id,
                "company_id": other_company.id,
                "product_id": self.coffee.id,
            }
        )
        # A new request starts with an empty cache: x2many values cached for
        # the superuser above would otherwise be served to the salesperson.
        self.env.invalidate_all()
        own_preference = self._specify(self.customer, self.tea)
        visible = self._as_web_client(self.env["consumer.preference"]).search(
            [("partner_id", "=", self.customer.id)]
        )
        self.assertEqual(visible, own_preference)
        with self.assertRaises(AccessError):
            self._as_web_client(foreign_preference).read(["product_id"])

    def test_user_without_group_cannot_write(self):
        employee = self._new_company_user("cp_employee", "base.group_user")
        preference = self._specify(self.customer, self.coffee)
        with self.assertRaises(AccessError):
            preference.with_user(employee).write({"note": "Nope"})
        with self.assertRaises(AccessError):
            self.env["consumer.preference"].with_user(employee).create(
                {"partner_id": self.customer.id, "product_id": self.tea.id}
            )

    def test_accountant_reads_but_cannot_write(self):
        preference = self._specify(self.customer, self.coffee)
        self.assertEqual(
            preference.with_user(self.accountant).read(["product_id"])[0]["product_id"][
                0
            ],
            self.coffee.id,
        )
        with self.assertRaises(AccessError):
            preference.with_user(self.accountant).write({"note": "Nope"})

    def test_portal_user_cannot_read(self):
        portal_user = new_test_user(
            self.env,
            login="cp_portal",
            groups="base.group_portal",
            partner_id=self.customer_contact.id,
        )
        preference = self._specify(self.customer, self.coffee)
        with self.assertRaises(AccessError):
            preference.with_user(portal_user).read(["product_id"])

    def test_history_lines_refused_by_hand(self):
        with self.assertRaisesRegex(UserError, "cannot be created by hand"):
            self.env["consumer.preference"].with_user(self.salesperson).create(
                {
                    "partner_id": self.customer.id,
                    "product_id": self.coffee.id,
                    "preference_type": "history",
                }
            )
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        history = self._history(self.customer, self.coffee)
        self.assertTrue(history)
        for user in (self.salesperson, self.preference_manager, self.env.user):
            with self.assertRaisesRegex(UserError, "cannot be changed by hand"):
                history.with_user(user).write({"note": "Edited"})
            with self.assertRaisesRegex(UserError, "cannot be changed by hand"):
                history.with_user(user).unlink()
        specification = self._specify(self.customer, self.tea)
        with self.assertRaisesRegex(UserError, "cannot be turned into history"):
            specification.write({"preference_type": "history"})

    def test_purchase_figures_refused_by_hand(self):
        """A client writing the read-only figures on a specification (over
        RPC, read-only is the web client's only) is refused: they count
        posted invoices, and the lists and pivots add them up."""
        Preference = self.env["consumer.preference"].with_user(self.salesperson)
        with self.assertRaisesRegex(UserError, "cannot be set by hand"):
            Preference.create(
                {
                    "partner_id": self.customer.id,
                    "product_id": self.coffee.id,
                    "invoice_count": 42,
                    "amount": 9.99e11,
                }
            )
        specification = self._specify(self.customer, self.tea)
        for name, value in (
            ("quantity", 5.0),
            ("last_invoice_date", "2026-01-01"),
            ("next_expected_date", "2026-02-01"),
        ):
            with self.assertRaisesRegex(UserError, "cannot be set by hand"):
                specification.with_user(self.salesperson).write({name: value})
        self.assertRecordValues(
            specification,
            [{"quantity": 0.0, "last_invoice_date": False, "amount": 0.0}],
        )
        # a copy carries its empty figures, and the note
        specification.note = "Loose leaf"
        copy = specification.with_user(self.salesperson).copy(
            {"attribute_value_ids": [], "partner_id": self.other_customer.id}
        )
        self.assertEqual(copy.note, "Loose leaf")

    def test_what_follows_the_product_is_not_written_as_given(self):
        """A client writing a line's template, category or values' key (read
        only in the web client, not over RPC) changes nothing: stored as
        given, the line would name one product and check its values against
        another's, or repeat the customer's coffee under another key."""
        Preference = self.env["consumer.preference"].with_user(self.salesperson)
        coffee = Preference.create(
            {
                "partner_id": self.customer.id,
                "product_id": self.coffee.id,
                "attribute_value_key": "forged",
                "product_tmpl_id": self.shirt_template.id,
            }
        )
        coffee.write(
            {
                "attribute_value_key": "forged",
                "product_tmpl_id": self.shirt_template.id,
                "product_category_id": self.category_textile.id,
            }
        )
        self.env.flush_all()
        self.assertRecordValues(
            coffee,
            [
                {
                    "attribute_value_key": "",
                    "product_tmpl_id": self.coffee.product_tmpl_id.id,
                    "product_category_id": self.coffee.categ_id.id,
                }
            ],
        )
        with self.assertRaisesRegex(ValidationError, "already has this product"):
            Preference.create(
                {"partner_id": self.customer.id, "product_id": self.coffee.id}
            )
        # The shirt's values are not the coffee's, whatever template was sent.
        with self.assertRaisesRegex(ValidationError, "configured on"):
            coffee.write({"attribute_value_ids": [Command.set(self.quality_8.ids)]})

    def test_history_lines_refused_are_named(self):
        """Deleting or archiving a selection of the preferences list: the
        message says which selected lines are history lines."""
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        self._post_customer_invoice(self.other_customer, [(self.tea, 1, 5.0)])
        specification = self._specify(self.customer, self.tea)
        history = self._history(self.customer, self.coffee) | self._history(
            self.other_customer, self.tea
        )
        selection = (specification | history).with_user(self.salesperson)
        for operation in ("unlink", "archive"):
            with self.subTest(operation=operation):
                with self.assertRaises(UserError) as caught:
                    if operation == "unlink":
                        selection.unlink()
                    else:
                        selection.action_archive()
                message = str(caught.exception)
                self.assertIn("Azure Shop: Coffee", message)
                self.assertIn("Deco Store: Tea", message)
                self.assertNotIn("Azure Shop: Tea", message)

    def test_companies_checked_on_product_and_customer(self):
        """Defect 4: a user of two companies cannot give a line of one company
        a product or a customer of the other."""
        other_company = self.setup_other_company()["company"]
        user = new_test_user(
            self.env,
            login="cp_two_companies",
            groups="base.group_user,sales_team.group_sale_salesman",
            company_id=self.company.id,
            company_ids=[Command.set((self.company | other_company).ids)],
        )
        branch_product = self.env["product.product"].create(
            {"name": "Branch Tea", "company_id": other_company.id}
        )
        branch_customer = self.env["res.partner"].create(
            {"name": "Branch Customer", "company_id": other_company.id}
        )
        Preference = (
            self.env["consumer.preference"]
            .with_user(user)
            .with_context(allowed_company_ids=[self.company.id, other_company.id])
        )
        specification = Preference.create(
            {"partner_id": self.customer.id, "product_id": self.coffee.id}
        )
        self.assertEqual(specification.company_id, self.company)
        attempts = [
            lambda: Preference.create(
                {"partner_id": self.customer.id, "product_id": branch_product.id}
            ),
            lambda: Preference.create(
                {"partner_id": branch_customer.id, "product_id": self.coffee.id}
            ),
            lambda: specification.write({"product_id": branch_product.id}),
            lambda: specification.write({"partner_id": branch_customer.id}),
        ]
        for attempt in attempts:
            # Odoo's assertRaises: rolled back to a savepoint, as a request is
            with self.assertRaises(UserError) as caught:
                attempt()
            self.assertIn("Incompatible companies", str(caught.exception))
        self.assertRecordValues(
            self.env["consumer.preference"].search(
                [("product_id", "in", (self.coffee | branch_product).ids)]
            ),
            [{"partner_id": self.customer.id, "product_id": self.coffee.id}],
        )

    def test_history_refused_through_context_default(self):
        """Defect 5: a context default is no way around the guard."""
        Preference = (
            self.env["consumer.preference"]
            .with_user(self.salesperson)
            .with_context(default_preference_type="history")
        )
        with self.assertRaisesRegex(UserError, "cannot be created by hand"):
            Preference.create(
                {"partner_id": self.customer.id, "product_id": self.coffee.id}
            )
        self.assertFalse(self._history(self.customer))

    def test_removed_variant_archived_specification_kept(self):
        """Defect 7: when a value leaves a template, Odoo archives the variant
        a specification names instead of deleting both."""
        specification = self._specify(self.customer, self.shirt_l)
        size_line = self.shirt_template.attribute_line_ids.filtered(
            lambda line: line.attribute_id == self.size
        )
        size_line.value_ids = [Command.unlink(self.size_l.id)]
        self.assertTrue(specification.exists())
        self.assertRecordValues(
            specification.with_context(active_test=False),
            [{"product_id": self.shirt_l.id, "attribute_value_ids": self.size_l.ids}],
        )
        self.assertFalse(self.shirt_l.active)

    def test_removed_variant_specification_values_editable(self):
        """The line kept when its variant's value left the template: its
        characteristics can still be edited, the variant's own value kept."""
        specification = self._specify(
            self.customer, self.shirt_l, values=[self.size_l, self.quality_8]
        )
        size_line = self.shirt_template.attribute_line_ids.filtered(
            lambda line: line.attribute_id == self.size
        )
        size_line.value_ids = [Command.unlink(self.size_l.id)]
        with Form(self._as_web_client(self.customer)) as partner_form:
            with partner_form.commercial_specification_ids.edit(0) as line:
                line.attribute_value_ids.remove(self.quality_8.id)
                line.attribute_value_ids.add(self.quality_9)
        self.assertEqual(
            specification.attribute_value_ids, self.size_l | self.quality_9
        )
        # Other values are checked as before.
        with self.assertRaisesRegex(ValidationError, "Size: M contradicts"):
            specification.write({"attribute_value_ids": [Command.set(self.size_m.ids)]})
        with self.assertRaisesRegex(ValidationError, "Red cannot be chosen"):
            specification.write(
                {"attribute_value_ids": [Command.link(self.colour.value_ids.id)]}
            )

    def _assert_names_quality_8(self, line):
        """``line`` still names an M shirt of quality 8: shown, and in its key."""
        self.assertEqual(line.attribute_value_ids, self.size_m | self.quality_8)
        self.assertEqual(
            line.attribute_value_key,
            line._attribute_value_key((self.size_m | self.quality_8).ids),
        )
        self.assertEqual(line.display_name, "Shirt (M) (Quality: 8, Size: M)")

    def test_deleted_value_of_specifications_archived(self):
        """A value deleted while specifications name it is archived instead:
        the lines keep it, shown and in their key, and stay told apart."""
        with_quality = self._specify(
            self.customer, self.shirt_m, values=[self.size_m, self.quality_8]
        )
        without_quality = self._specify(
            self.customer, self.shirt_m, values=[self.size_m]
        )
        quality_line = self.shirt_template.attribute_line_ids.filtered(
            lambda line: line.attribute_id == self.quality
        )
        quality_line.value_ids = [Command.unlink(self.quality_8.id)]
        self.quality_8.unlink()
        self.assertTrue(self.quality_8.exists())
        self.assertFalse(self.quality_8.active)
        with_quality = self._as_web_client(with_quality)
        self._assert_names_quality_8(with_quality)
        self.assertNotEqual(with_quality.display_name, without_quality.display_name)
        # Its values can still be edited; dropping the archived value makes
        # it the other line, which is refused.
        with Form(self._as_web_client(self.customer)) as partner_form:
            with partner_form.commercial_specification_ids.edit(0) as line:
                line.attribute_value_ids.remove(self.quality_8.id)
                line.attribute_value_ids.add(self.quality_9)
        self.assertEqual(with_quality.attribute_value_ids, self.size_m | self.quality_9)
        # A value no line names any more is deleted as before.
        quality_line.value_ids = [Command.unlink(self.quality_7.id)]
        self.quality_7.unlink()
        self.assertFalse(self.quality_7.exists())
        with self.assertRaisesRegex(ValidationError, "Edit the existing line"):
            with_quality.write({"attribute_value_ids": [Command.set(self.size_m.ids)]})

    def test_deleted_characteristic_of_specifications_archived(self):
        """A characteristic deleted while specifications name its values
        (its values go with it, below their own deletion) is archived
        instead, with them: the lines keep their values, shown and in their
        key. One whose values no line names is deleted as before."""
        with_quality = self._specify(
            self.customer, self.shirt_m, values=[self.size_m, self.quality_8]
        )
        self.shirt_template.attribute_line_ids.filtered(
            lambda line: line.attribute_id == self.quality
        ).unlink()
        self.quality.unlink()
        self.assertTrue(self.quality.exists())
        self.assertFalse(self.quality.active)
        self.assertFalse(self.quality_8.active)
        with_quality = self._as_web_client(with_quality)
        self._assert_names_quality_8(with_quality)
        self.colour.unlink()
        self.assertFalse(self.colour.exists())

    def test_history_form_read_only(self):
        """Defect 10: the form of a history line offers nothing to edit."""
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        history = self._history(self.customer)
        form = Form(history.with_user(self.preference_manager))
        for field_name in ("partner_id", "product_id", "attribute_value_ids", "note"):
            with self.assertRaisesRegex(AssertionError, "readonly", msg=field_name):
                setattr(form, field_name, False)

    def test_lists_offer_no_handle_nor_duplicate(self):
        """Defect 10: history rows can be neither dragged nor duplicated."""
        views = (
            self.env["consumer.preference"]
            .with_user(self.preference_manager)
            .get_views([(False, "list"), (False, "form")])["views"]
        )
        self.assertNotIn('widget="handle"', views["list"]["arch"])
        for view_type in ("list", "form"):
            self.assertIn('duplicate="0"', views[view_type]["arch"], view_type)

    def test_product_cannot_be_created_from_a_specification(self):
        """Item 6: a mis-click on "Create ..." must not create a bare product."""
        partner_arch = self.customer.with_user(self.salesperson).get_views(
            [(False, "form")]
        )["views"]["form"]["arch"]
        preference_arch = (
            self.env["consumer.preference"]
            .with_user(self.salesperson)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        for arch in (partner_arch, preference_arch):
            self.assertRegex(arch, r"<field name=\"product_id\"[^>]*'no_create': True")

    def test_pivot_has_no_column_empty_for_specifications(self):
        """Item 6: specifications have no invoice date: no "None" column."""
        pivot_arch = self.env["consumer.preference"].get_views([(False, "pivot")])[
            "views"
        ]["pivot"]["arch"]
        self.assertNotIn('type="col"', pivot_arch)

    def test_security_data_not_updated(self):
        """Defect 10: an upgrade keeps what an administrator tuned in the
        groups and the record rule (tests/test_lifecycle.py upgrades)."""
        xml_ids = self.env["ir.model.data"].search(
            [
                ("module", "=", "consumer_preferences"),
                (
                    "name",
                    "in",
                    [
                        "module_category_consumer_preferences",
                        "group_consumer_preference_user",
                        "group_consumer_preference_manager",
                        "consumer_preference_rule_company",
                    ],
                ),
            ]
        )
        self.assertEqual(len(xml_ids), 4)
        self.assertEqual(set(xml_ids.mapped("noupdate")), {True})
