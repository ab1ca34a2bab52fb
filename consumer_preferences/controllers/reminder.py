# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import http
from odoo.http import request

from ..models.consumer_preference_reminder import BILL_DUE_ACTION_XMLID

BILL_DUE_URL = "/consumer_preferences/bill_due/<int:partner_id>/<int:company_id>"


class ConsumerPreferenceReminderLink(http.Controller):
    @http.route(BILL_DUE_URL, type="http", auth="user", methods=["GET"])
    def consumer_preference_bill_due(self, partner_id, company_id):
        """The link of a reorder reminder's To-Do: the Bill wizard of the
        customer's due products, in the reminder's company. The web client
        follows a link to /odoo/... in place, keeping the companies selected
        (it reads cids only when the page loads): this one loads the page,
        with the reminder's company selected. Nothing is read here; the
        action checks the user's rights."""
        return request.redirect(
            f"/odoo/res.partner/{partner_id}/action-{BILL_DUE_ACTION_XMLID}"
            f"?cids={company_id}"
        )
