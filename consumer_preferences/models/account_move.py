# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import models
from odoo.tools.sql import create_index

from .consumer_preference_statistics import HISTORY_MOVE_TYPES

# What Odoo's _post writes to post invoices, and its Reset to Draft to take
# them out of the posted state (Cancel resets a posted invoice to draft
# first; ``auto_post`` for a direct write of both on a posted invoice): a
# write that changes anything else is recorded after it, from what it leaves.
POSTING_FIELDS = frozenset({"state", "posted_before"})
UNPOSTING_FIELDS = frozenset({"state", "auto_post"})
# What the history reads of an invoice (beside its state; its lines tell of
# their own changes). Odoo refuses most of them on a posted invoice, but not
# a reversal link, nor any of them under ``skip_readonly_check``: a write of
# one of them on a posted invoice queues its keys.
EDITED_FIELDS = frozenset(
    {
        "move_type",
        "company_id",
        "partner_id",
        "commercial_partner_id",
        "invoice_date",
        "invoice_currency_rate",
        "reversed_entry_id",
    }
)
# Dropped by the uninstall hook: Odoo drops only the indexes of its fields.
HISTORY_MOVE_INDEX = "account_move_consumer_preference_history_index"


class AccountMove(models.Model):
    _inherit = "account.move"

    def init(self):
        result = super().init()
        # The purchase profile reads a customer's posted invoices, with
        # their dates: Odoo does not index the commercial partner of moves.
        create_index(
            self.env.cr,
            HISTORY_MOVE_INDEX,
            self._table,
            ["commercial_partner_id", "company_id", "invoice_date"],
            where=f"state = 'posted' AND move_type IN {HISTORY_MOVE_TYPES}",
        )
        return result

    def write(self, vals):
        # Posting, reset to draft and cancellation all change the state through
        # write(): hooking here keeps the history true whichever path (or
        # module) moves an invoice in or out of the posted state. With
        # _post(soft=True), future-dated moves are not written posted, so they
        # do not count until they are.
        if "state" not in vals and EDITED_FIELDS.isdisjoint(vals):
            return super().write(vals)
        # The history, and the queue of the customers' segments.
        history = self.env["consumer.preference.history"]
        posted_before = self.filtered(lambda move: move.state == "posted")
        if "state" not in vals:
            if not posted_before:
                return super().write(vals)
            return self._write_posted(vals, posted_before)
        if (
            POSTING_FIELDS.issuperset(vals)
            and vals["state"] == "posted"
            and (posting := history._history_moves(self - posted_before))
        ):
            # Odoo numbers the invoices in this write, and keeps the journal's
            # next number locked until the transaction ends: every other
            # posting in the journal waits until then. The history is added
            # to before, so that it makes no one wait longer (README,
            # bench_load.py), from the invoices as they are: only when the
            # write changes nothing else.
            return self._write_history_first(vals, history._start_posting(posting))
        if (
            UNPOSTING_FIELDS.issuperset(vals)
            and vals["state"] in ("draft", "cancel")
            and (unposting := history._history_moves(posted_before))
        ):
            # Likewise taken from the history before the write, from the
            # invoices as they are, still posted: their keys' past is then
            # read up to the nearest other invoice, not recomputed.
            return self._write_history_first(vals, history._start_unposting(unposting))
        # A state written with other fields: the invoices that enter or
        # leave the posted state are recorded from what the write leaves;
        # those that were posted and change are queued, as they were too.
        edited = self.browse()
        if not EDITED_FIELDS.isdisjoint(vals):
            edited = history._history_moves(posted_before)
        if edited:
            history._start_edit(edited)
        result = super().write(vals)
        posted_after = self.filtered(lambda move: move.state == "posted")
        changed = (posted_before - posted_after) | (posted_after - posted_before)
        if changed:
            history._sync_moves(changed)
        if edited:
            history._finish_edit(edited)
        return result

    def _write_posted(self, vals, posted):
        """Write ``vals``, which may change what the history reads of the
        ``posted`` invoices (and leave them posted): their keys are queued,
        as they were and as the write leaves them."""
        history = self.env["consumer.preference.history"]
        if edited := history._history_moves(posted):
            history._start_edit(edited)
        result = super().write(vals)
        # a move type written may make a posted entry an invoice
        if edited := edited | history._history_moves(posted):
            history._finish_edit(edited)
        return result

    def _write_history_first(self, vals, started):
        """Write ``vals``, the history already changed for them (``started``:
        the keys changed and those to recompute once written, from
        ``_start_posting`` or ``_start_unposting``)."""
        history = self.env["consumer.preference.history"]
        keys, to_recompute = started
        try:
            result = super().write(vals)
        except Exception:
            history._enqueue_after_failed_write(keys)
            raise
        if any(move.state != vals["state"] for move in self):
            # An override that did not write the state it was given: the
            # keys are recomputed from what is posted.
            history._enqueue_after_failed_write(keys)
        history._finish_sync(to_recompute)
        return result
