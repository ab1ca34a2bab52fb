# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""The one place that turns posted customer invoices into history preferences.

Invariant: for every key (company, commercial partner, product) of a customer who
consents, the history line equals the aggregate of that key over the posted
customer invoices and credit notes of that company; a key that no posted invoice
supports has no history line. A key may lag behind only while it waits in
``consumer.preference.history.queue``; the partner form says so.

How it is kept, and why:

* **Posting never fails nor waits because of the history.** The work runs in
  a savepoint, on keys this transaction could lock at once
  (``pg_try_advisory_xact_lock``), and it locks their history lines with
  ``NOWAIT``. A key another transaction holds, or whose line changed since this
  transaction's snapshot (a serialization failure under Odoo's repeatable-read
  isolation), is not an error: the savepoint is rolled back and the key is
  queued, in the same transaction as the invoice, so it is committed (or not)
  with it and can never be lost. A scheduled action, triggered at once,
  recomputes queued keys in fresh transactions, within about a second
  (``_process_queue``). The one
  exception, rare: a posting whose customer's consent changes while it runs
  is replayed once by Odoo (``_lock_consent``), rather than count the invoice
  from a consent that is no longer the customer's (losing it from the history
  of a customer giving consent back, or bringing back a line of a customer
  whose history was just erased). An invoice change that committed before
  the consent change locked the customer, but after its snapshot, conflicts
  with nothing: giving consent back and erasing therefore also queue the
  customer whole, and the scheduled action recomputes (or erases) it again,
  from a snapshot that sees both (``_expand_queued_customers``).
* **Posting makes no one wait longer.** Odoo numbers an invoice when it
  writes it posted, and keeps the journal's next number locked until the
  transaction ends: every other posting in the journal waits until then. The
  invoice is added to the history just before that write
  (``_start_posting``), not inside that wait, when the write changes nothing
  but the state (a write that changes more is recorded after it); its keys
  are recomputed after it only when they need to be (``_finish_sync``).
  Should the write fail and the transaction go on, those keys are queued
  (``_enqueue_after_failed_write``).
* **Posting costs the same whatever the customer's past.** A newly posted
  invoice adds its own lines to the existing history lines (``_increment``):
  counts and sums add up, the first and last dates and the last unit price
  compare, and so do the purchases' days (an invoice dated back between
  them asks, in a statement sent only then, whether its day had a purchase
  already: ``_count_dated_back``). A reversal (a credit note reversing an
  invoice, which may leave it no purchase; an invoice reversing such a
  credit note, which may make it one again) adds its lines as any credit
  note or invoice, and a statement sent only then counts the reversed
  invoice's day again, the nearest other purchase standing in for a first
  or last one lost (``_count_reversed``). A key bought for the first time
  (no line, and no posted line but the invoice's own) gets its line from
  the invoice's lines, in a second statement sent only then
  (``_insert_first_purchases``). An invoice reset to draft or cancelled is
  taken from its keys' lines the same way, before Odoo writes it
  (``_decrement``): counts and sums go down, and the dates, last unit price
  and purchases it held give way to the nearest other invoice or purchase,
  read from its day on; a reversal leaving the posted state has its
  reversed invoice's day counted again, as when it was posted. Nothing that
  cannot be undone that way is ever undone by subtraction: invoices of
  several days leaving the posted state together, reversals posted (or
  reset) with an invoice of the same product or after the write, or
  reversing invoices of several days, reversals further down a chain (below
  an invoice cancelling a credit note: every posted reversal of a chain
  counts against the invoice at its top) and the reversals below one posted
  again or reset, invoices of several days falling among a key's purchases,
  a key with a past but no line (credit notes only), a state changed by a
  write that changes more, a queued key, a rebuild are all recomputed
  exactly from that key's posted lines
  (``_recompute``), read through an index on the lines by customer,
  product, company and date: their cost follows that key's past.
* **A posted invoice changed in place** (what Odoo's forms keep read-only on
  it, written by a script or a module: a line's product, quantity or price, a
  line added, a reversal link) has its keys queued, as they were and as the
  write leaves them, once the transaction is about to commit
  (``_start_edit``, ``_finish_edit``, ``_queue_edits``).
* **The backfill and rebuild are one set-based pass** over the posted lines.

Every writer of a key writes its history line (update, delete, or insert under
the unique constraint), so two transactions that computed the same key from
different snapshots always collide on that row, and the later one is queued (or,
for a rebuild, retried by Odoo's request loop) instead of writing a stale figure.

What a key counts (its posted lines, the figures of each, which invoices are
purchases, how they aggregate, how a history line is written) is stated once,
in ``consumer.preference.statistics``: every statement here is built from it.
"""

import logging
import threading
import time

from psycopg2 import errors

from odoo import api, models
from odoo.tools import SQL

from .consumer_preference_statistics import HISTORY_MOVE_TYPES, STATISTICS_COLUMNS

_logger = logging.getLogger(__name__)

QUEUE_CRON_XMLID = "consumer_preferences.ir_cron_consumer_preference_history_queue"
# Errors that mean "another transaction has this key": queue it and go on.
CONTENTION_ERRORS = (
    errors.SerializationFailure,
    errors.LockNotAvailable,
    errors.DeadlockDetected,
)
# What invoices changed in place in a transaction leave to queue at its
# commit (_start_edit), in the cursor's pre-commit data.
EDITS_DATA = "consumer_preferences.history_edits"
# Queue rows the scheduled action reads per transaction: their keys (at most
# as many) are recomputed, with every row that queues them.
QUEUE_BATCH_SIZE = 2000
# Product lines beyond which a posting queues its keys instead of adding to
# their lines at once: each key takes an advisory lock until the transaction
# ends, from PostgreSQL's lock table, shared by every session (64 locks a
# connection by default): 5,000 invoices validated together (20,000 keys)
# failed with "out of shared memory". The scheduled action recomputes them
# as soon as the posting commits.
SYNC_LINE_LIMIT = 200
# Seconds the scheduled action waits before it runs again, when every queued
# key was held by another transaction.
HELD_KEYS_PAUSE = 0.5
# Seconds the scheduled action lets a queued key wait, at most, before it
# reads the queue: under sustained contention (many clients posting for the
# same customers) it then recomputes the keys that every posting of that
# second queued in one run, instead of running once or twice per posting,
# each run paying Odoo's own cost of a scheduled action again (README,
# bench_load.py). A key queued longer ago is taken at once.
QUEUE_SETTLE_SECONDS = 1.0
# The statistics of a rebuild, for the length of its statement.
REBUILD_TABLE = "consumer_preference_rebuild_statistics"
# Memory a rebuild may sort its lines in (PostgreSQL's default is 4MB).
REBUILD_WORK_MEM = "256MB"
# A key and what an invoice adds to it, from _increment to
# _insert_first_purchases: the columns and their types.
FIRST_PURCHASE_COLUMNS = (
    ("company_id", "int"),
    ("partner_id", "int"),
    ("product_id", "int"),
    ("invoice_count", "int"),
    ("refund_count", "int"),
    ("quantity", "numeric"),
    ("amount", "numeric"),
    ("first_invoice_date", "date"),
    ("last_invoice_date", "date"),
    ("last_line_id", "int"),
    ("last_price_unit", "numeric"),
    ("purchase_count", "int"),
    ("first_purchase_date", "date"),
    ("last_purchase_date", "date"),
)


class ConsumerPreferenceHistory(models.AbstractModel):
    _name = "consumer.preference.history"
    _description = "Consumer Preference History Service"

    # ------------------------------------------------------------------
    # Entry points
    # ------------------------------------------------------------------
    @api.model
    def _sync_moves(self, moves):
        """Record customer invoices that entered or left the posted state,
        after a write that changed more than the state.

        Newly posted invoices are added to their keys' lines; the keys of
        invoices that left the posted state, of reversals, and keys without a
        line yet, are recomputed exactly. Keys that another transaction holds
        are queued, never waited for. The invoices' customers are queued for a refresh
        of their segment, which is computed from the history.
        """
        posted = moves.filtered(lambda move: move.state == "posted")
        _keys, to_recompute = self._start_sync(posted, moves)
        self._finish_sync(to_recompute)

    @api.model
    def _start_posting(self, moves):
        """Add ``moves``, which are about to be written posted, to their
        keys' lines, as ``_sync_moves`` does, but for reversals, counted
        (``_count_reversed``) rather than recomputed. Return their keys (for
        ``_enqueue_after_failed_write``) and the keys to recompute once
        they are written posted (for ``_finish_sync``)."""
        return self._start_sync(moves, moves, before_write=True)

    @api.model
    def _start_unposting(self, moves):
        """Take ``moves``, posted and about to be written in draft or
        cancelled, from their keys' lines (``_decrement``; the day of the
        invoice each reversal among them reverses counted again:
        ``_count_reversed``), where ``_sync_moves`` would recompute them
        after the write. Return their keys (for
        ``_enqueue_after_failed_write``) and the keys to recompute once they
        are written (for ``_finish_sync``)."""
        return self._start_sync(self.env["account.move"], moves, before_write=True)

    def _enqueue_after_failed_write(self, keys):
        """The write that was to post the invoices just added to ``keys``,
        or to take out of the posted state those just taken from them,
        failed: queue those keys, to be recomputed from what is posted once
        this transaction commits. It is usually rolled back instead, which
        takes the changes back with everything else; but a caller may catch
        the error and go on, and the history would then count invoices that
        were never posted, or miss posted ones. Odoo's write is left alone:
        a savepoint around it would have to push the ORM's pending values
        first, computing the invoices' fields that depend on their state
        twice (measured: +10 ms a 50-line invoice). A caller that tries the
        same write again in that transaction changes the lines again: they
        are wrong until the queue recomputes them, once it commits, and the
        partner form says so meanwhile."""
        try:
            with self.env.cr.savepoint(flush=False):
                self._enqueue(keys)
        except errors.InFailedSqlTransaction:
            # Aborted: it can only be rolled back, and the changes with it.
            _logger.debug("Failed write: its transaction is aborted")
        return True

    def _start_sync(self, posted, moves, before_write=False):
        """Add ``posted`` to the history, queue the keys another transaction
        holds (all the keys of invoices of more than ``SYNC_LINE_LIMIT``
        product lines together); return the keys of ``moves`` and those to
        recompute exactly. ``before_write``: ``posted`` are about to be
        written posted, or the others among ``moves`` about to leave the
        posted state (taken from the history: ``_decrement``), not yet."""
        moves = self._history_moves(moves)
        if not moves:
            return [], []
        posted &= moves
        unposted = moves - posted
        # Invoices leaving the posted state are taken from their keys' lines
        # before they are written (_decrement); after, their keys are
        # recomputed.
        decrement = before_write and unposted
        # Reversals (credit notes reversing an invoice, invoices cancelling
        # such a credit note) may change whether the invoice they reverse is
        # a purchase: before they are written posted, or leave that state,
        # that is counted apart (_count_reversed), the rest of them added or
        # taken as any invoice's; otherwise their keys are recomputed.
        changing = unposted if decrement else posted
        reversals = changing.filtered("reversed_entry_id")
        count_reversals = before_write and reversals
        recompute = self.env["account.move"] if decrement else unposted
        if not count_reversals:
            recompute |= reversals
        self._flush_sources(line_states=False)
        # A reversal counts against the invoice it reverses, at any depth,
        # only while every reversal between them is posted: the keys of the
        # reversals below those changing, which theirs need not cover (a
        # product changed on either since), and of those too deep for
        # _count_reversed, are recomputed once written.
        related = self._related_reversals(reversals, bool(decrement))
        if not before_write:
            related |= self._related_reversals(
                unposted.filtered("reversed_entry_id"), True
            )
        related_keys = self._move_keys(related)
        if decrement:
            # Their day's purchases are read from the posted lines, theirs
            # included: lines posted earlier in this transaction too.
            self.env["account.move.line"].flush_model(["parent_state", "invoice_date"])
        else:
            self._flush_earlier_lines(moves)
        product_lines = moves.line_ids.filtered(
            lambda line: line.display_type == "product"
        )
        if len(product_lines) > SYNC_LINE_LIMIT:
            return self._enqueue_moves(moves | related), []
        try:
            with self.env.cr.savepoint(flush=False):
                if decrement:
                    keys, no_line = self._decrement(unposted), {}
                else:
                    keys, no_line = self._increment(posted, unposted, recompute)
                if count_reversals:
                    counted = "decremented" if decrement else "incremented"
                    for key in self._count_reversed(
                        reversals,
                        changing - reversals,
                        [key for key, state in keys.items() if state == counted],
                        unposting=bool(decrement),
                    ):
                        keys[key] = "leaving"
                # Keys with no line to add to: perhaps bought for the first
                # time. Apart, so that a repeat purchase (the most common)
                # does not plan their insert.
                if no_line:
                    for key in self._insert_first_purchases(posted, no_line):
                        keys[key] = "incremented"
        except CONTENTION_ERRORS as error:
            _logger.debug("History keys queued after %s", type(error).__name__)
            return self._enqueue_moves(moves | related), []
        self._invalidate_caches()
        self._enqueue([key for key, state in keys.items() if state == "contended"])
        to_recompute = [
            key for key, state in keys.items() if state in ("leaving", "no_line")
        ]
        return list(keys), to_recompute + [
            key for key in related_keys if key not in to_recompute
        ]

    def _related_reversals(self, reversals, unposting):
        """The moves whose keys are recomputed once ``reversals``, which
        enter or leave the posted state (``unposting``), are written: the
        posted reversals below them at any depth (the invoices cancelling a
        credit note, the credit notes reversing those, ...), which count
        against the invoice above only while every reversal between is
        posted; and those of ``reversals`` too deep for ``_count_reversed``
        (below an invoice cancelling a credit note). A reversal posted for
        the first time (through ``_post``, which marks it ``posted_before``)
        has none below: no search then."""

        def is_own_invoice(move):
            return move.move_type == "out_invoice" and not move.reversed_entry_id

        def is_counted(reversal):
            reversed_move = reversal.reversed_entry_id
            if reversal.move_type == "out_refund":
                return is_own_invoice(reversed_move)
            return reversed_move.move_type == "out_refund" and is_own_invoice(
                reversed_move.reversed_entry_id
            )

        deep = reversals.filtered(lambda move: not is_counted(move))
        return deep | self._reversals_below(
            reversals.filtered(lambda move: unposting or move.posted_before)
        )

    def _reversals_below(self, moves):
        """The posted reversals below ``moves`` at any depth: the credit
        notes reversing them, the invoices cancelling those, ...; one query a
        level (a chain of reversals is short)."""
        below = self.env["account.move"]
        level = moves
        while level:
            level = (
                self.env["account.move"]
                .search(
                    [
                        ("reversed_entry_id", "in", level.ids),
                        ("move_type", "in", HISTORY_MOVE_TYPES),
                        ("state", "=", "posted"),
                    ]
                )
                # a credit note reverses an invoice, an invoice a credit note
                .filtered(
                    lambda move: move.move_type != move.reversed_entry_id.move_type
                )
                - below
                - moves
            )
            below |= level
        return below

    def _enqueue_moves(self, moves):
        """Queue the keys of ``moves``, and their customers' segments, for
        the scheduled action; return the keys."""
        self.env["consumer.preference.segment"]._enqueue(moves)
        keys = self._move_keys(moves)
        self._enqueue(keys)
        return keys

    def _start_edit(self, moves):
        """Remember the keys and customers of ``moves`` (posted customer
        invoices and credit notes) before a write changes what the history
        reads of them while they stay posted: a product, a quantity, a price
        on their lines, a line added or deleted, a reversal link (what
        Odoo's forms keep read-only on a posted invoice, a script or a module
        may write). As the ORM holds them: this runs inside Odoo's own
        writes, where a flush could write half a change. Queued with their
        keys after the write by ``_queue_edits``."""
        edits = self._edits()
        product_lines = moves.line_ids.filtered(
            lambda line: (
                line.display_type == "product" and line.product_id and line.partner_id
            )
        )
        edits["keys"].update(
            (line.company_id.id, line.partner_id.id, line.product_id.id)
            for line in product_lines
        )
        edits["customers"].update(
            (move.company_id.id, move.commercial_partner_id.id)
            for move in moves
            if move.commercial_partner_id
        )
        edits["moves"].update(moves.ids)
        return True

    def _finish_edit(self, moves):
        """``moves`` were written (see ``_start_edit``): their keys as the
        write leaves them are queued with the others."""
        self._edits()["moves"].update(moves.ids)
        return True

    def _edits(self):
        """What ``_start_edit`` and ``_finish_edit`` remember in this
        transaction, queued just before it commits."""
        precommit = self.env.cr.precommit
        if EDITS_DATA not in precommit.data:
            precommit.data[EDITS_DATA] = {
                "keys": set(),
                "customers": set(),
                "moves": set(),
            }
            precommit.add(self._queue_edits)
        return precommit.data[EDITS_DATA]

    def _queue_edits(self):
        """Queue the keys, and the customers' segments, of the invoices
        changed in place in this transaction, as they were and as they are
        now, every change written: the scheduled action, woken at once,
        recomputes them from what is posted; the partner form says they are
        pending meanwhile. Rare, so queued rather than planned in every
        posting. Run by the transaction's commit (pre-commit)."""
        edits = self.env.cr.precommit.data.get(EDITS_DATA)
        if not edits:
            return
        self.env.flush_all()
        moves = self.env["account.move"].browse(sorted(edits["moves"]))
        # The reversals below them count against the invoice at the top of
        # their chain: a reversal link written or removed moves them too.
        moves |= self._reversals_below(moves)
        keys = sorted(edits["keys"])
        if keys:
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM res_partner WHERE id = ANY(%s) "
                    "AND consumer_preference_consent IS NOT FALSE",
                    list({key[1] for key in keys}),
                )
            )
            consenting = {row[0] for row in self.env.cr.fetchall()}
            keys = [key for key in keys if key[1] in consenting]
        self._enqueue(keys + self._move_keys(moves))
        segment = self.env["consumer.preference.segment"]
        segment._enqueue_company_customers(sorted(edits["customers"]))
        if moves:
            segment._enqueue(moves)
        # the trigger the queue wakes its scheduled action with
        self.env.flush_all()

    def _finish_sync(self, keys):
        """Recompute ``keys`` exactly (locked by ``_start_sync``), or queue
        them when one of their lines changed since this transaction's
        snapshot."""
        if keys:
            self._enqueue(self._try_recompute(keys))
            self._invalidate_caches()
        return True

    @api.model
    def _history_moves(self, moves):
        """The customer invoices and credit notes among ``moves``."""
        return moves.filtered(lambda move: move.move_type in HISTORY_MOVE_TYPES)

    def _try_recompute(self, keys):
        """Recompute ``keys``, which this transaction has locked, unless one
        of their lines changed since its snapshot; return the keys left for
        the queue."""
        if not keys:
            return []
        # Outside the savepoint: a flush rolled back with it would be lost
        # to the ORM, which believes it written. The invoices just written
        # included: their state and their lines'.
        self._flush_sources()
        try:
            with self.env.cr.savepoint(flush=False):
                self._recompute(keys=keys)
        except CONTENTION_ERRORS as error:
            _logger.debug("History keys queued after %s", type(error).__name__)
            return keys
        return []

    @api.model
    def _rebuild(self, partners=None, companies=None):
        """Recompute exactly, in one pass, the history of ``partners``
        (commercial partners; every customer when None) in ``companies``
        (every company when None): the install backfill, the manager's
        rebuild, consent given back. Synchronous: when it returns, their
        history is exact and none of their keys is left queued."""
        self._flush_sources()
        # A rebuild sorts every posted line of its customers: in memory, not
        # on disk, for this statement only.
        previous_work_mem = self._set_work_mem(REBUILD_WORK_MEM)
        self._recompute(partners=partners, companies=companies)
        self._set_work_mem(previous_work_mem)
        self._dequeue(partners=partners, companies=companies)
        self._invalidate_caches()
        return True

    @api.model
    def _recompute_products(self, products):
        """Recompute exactly the existing history lines of ``products``, whose
        unit or characteristic values changed: their figures and values
        follow the product as it is now. Keys another transaction holds are
        queued."""
        self.env["consumer.preference"].flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT DISTINCT company_id, partner_id, product_id "
                "FROM consumer_preference "
                "WHERE preference_type = 'history' AND product_id = ANY(%s)",
                products.ids,
            )
        )
        keys = [tuple(row) for row in self.env.cr.fetchall()]
        if keys:
            self._flush_sources()
        return self._finish_sync(keys)

    @api.model
    def _recompute_units(self, units):
        """Recompute exactly the history lines that ``units``, whose ratio
        changed, convert: those of the products in these units, and of the
        products invoiced in them."""
        self._flush_sources()
        self.env["uom.uom"].flush_model(["factor"])
        self.env.cr.execute(
            SQL(
                """
                SELECT line.product_id
                  FROM account_move_line line
                 WHERE line.product_uom_id = ANY(%(units)s)
                   AND line.parent_state = 'posted'
                   AND line.display_type = 'product'
                   AND line.product_id IS NOT NULL
                 UNION
                SELECT product.id
                  FROM product_product product
                  JOIN product_template template
                    ON template.id = product.product_tmpl_id
                 WHERE template.uom_id = ANY(%(units)s)
                """,
                units=units.ids,
            )
        )
        products = self.env["product.product"].browse(
            row[0] for row in self.env.cr.fetchall()
        )
        self._queue_units(units)
        return self._recompute_products(products)

    def _queue_units(self, units):
        """Queue ``units``, whose ratio changed, for the scheduled action
        to queue the keys whose lines they convert once this transaction
        commits (``_expand_queued_units``): a posting in these units that
        held them first (``_increment_sql``) commits before this
        transaction can change them, and the action, reading after it, sees
        its lines, which this transaction's snapshot may not."""
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO consumer_preference_history_unit_queue
                       (uom_id, queued_at)
                SELECT id, NOW() AT TIME ZONE 'UTC' FROM unnest(%s::int[]) AS unit(id)
                """,
                units.ids,
            )
        )
        self._wake_scheduled_action()
        return True

    @api.model
    def _erase(self, partners):
        """Erase, at their request, the history of ``partners`` (who no
        longer consent) in the user's companies; return how many lines were
        deleted. They are queued whole, to be erased again once this
        transaction commits: a first purchase committed meanwhile, after
        this transaction's snapshot, added a line this one cannot see."""
        erased_count = self._delete_history(partners)
        self._enqueue_customers(partners, self.env.companies, erase=True)
        return erased_count

    @api.model
    def _delete_history(self, partners):
        """Delete the history lines of ``partners`` in the user's companies,
        whatever their consent, and take them out of the queue, erasures
        included (a merge moves the queue's rows to the kept customer,
        whose history an erasure of the merged-away one must not delete);
        return how many were deleted."""
        companies = self.env.companies
        self.env["consumer.preference"].flush_model()
        self.env.cr.execute(
            SQL(
                "DELETE FROM consumer_preference preference "
                "WHERE preference.preference_type = 'history' AND %s",
                self._scope_filter("preference", partners, companies),
            )
        )
        deleted_count = self.env.cr.rowcount
        self._dequeue(partners=partners, companies=companies, erasures=True)
        self._invalidate_caches()
        return deleted_count

    @api.model
    def _refresh_after_consent(self, partners):
        """Queue ``partners``, who give consent back (their history was just
        rebuilt), whole in every company: an invoice reset or posted
        meanwhile, committed after this transaction's snapshot, wrote no
        history (the customer did not consent in its own), and this
        rebuild did not see it. The queue recomputes them once this
        transaction commits, from a snapshot that sees both."""
        # Their erasures queued (_erase) are over: erasing would now delete
        # the history they consent to (the rebuild dequeued the rest).
        self._dequeue(partners=partners, erasures=True)
        # sudo: the consent is the customer's, not a company's; the queue
        # runs as superuser in every company.
        companies = self.env["res.company"].sudo().search([])
        self._enqueue_customers(partners, companies)
        return True

    @api.model
    def _lock_consent(self, partners):
        """Lock ``partners`` (commercial partners) whose consent is about to
        change, until this transaction ends: ``FOR UPDATE``, which makes
        the change a key update to PostgreSQL. A posting for them reads
        their consent from its snapshot and adds to the history, or not,
        without writing the partner; but it queues their segment (a foreign
        key, checked with a key share lock, which a key update conflicts
        with): a posting that did not see the change, whether running or
        committed meanwhile, fails with a serialization failure and is
        replayed on a fresh snapshot, instead of adding an invoice of an
        erased customer or missing one the rebuild of a customer giving
        consent back did not see."""
        if partners:
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM res_partner WHERE id = ANY(%s) "
                    "ORDER BY id FOR UPDATE",
                    partners.ids,
                )
            )
        return True

    @api.model
    def _process_queue(self, batch_size=QUEUE_BATCH_SIZE):
        """Once the oldest queued row has waited ``QUEUE_SETTLE_SECONDS``
        (those queued meanwhile come along), turn the customers queued whole
        into their keys (``_expand_queued_customers``), then recompute the
        queued keys, one batch per transaction each, and report progress to
        the scheduled action. A key another transaction holds, or queued
        once its batch was read, is left for the next run, which a trigger
        makes immediate; half a second later when nothing could be done.
        Returns the number of customers and keys done."""
        # The scheduled action commits each batch (a fresh snapshot for the
        # next one); a test's transaction must not be committed.
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        if auto_commit:
            wait = self._queue_settle_seconds()
            # This transaction holds no snapshot while it waits (Odoo's own
            # transaction for the scheduled action stays open, as for any).
            self.env.cr.commit()  # pylint: disable=invalid-commit
            time.sleep(wait)
        done = 0
        skipped_ids = []
        # Each batch goes on after the last row the one before read: the rows
        # done are deleted, but read again, dead, by every later batch as
        # long as a snapshot older than their deletion is open (a report, a
        # backup), which made a drain quadratic again. A row committed
        # meanwhile behind it is for the next run, which the rows left wake.
        done += self._expand_queued_units()
        if auto_commit:
            self.env.cr.commit()  # pylint: disable=invalid-commit
        last_id = 0
        while batch := self._queued_customers(batch_size, last_id):
            done_ids = set(self._expand_queued_customers(batch))
            skipped_ids += [row[0] for row in batch if row[0] not in done_ids]
            done += len(done_ids)
            last_id = batch[-1][0]
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
        last_id = 0
        while picked := self._lock_queued_keys(batch_size, skipped_ids, last_id):
            batch, last_id = picked
            locked = [(key, ids) for key, ids, is_locked in batch if is_locked]
            skipped_ids += [
                id_ for _key, ids, is_locked in batch if not is_locked for id_ in ids
            ]
            queue_ids = [id_ for _key, ids in locked for id_ in ids]
            try:
                with self.env.cr.savepoint(flush=False):
                    self._recompute(keys=[key for key, _ids in locked])
                    self.env.cr.execute(
                        SQL(
                            "DELETE FROM consumer_preference_history_queue "
                            "WHERE id = ANY(%s)",
                            queue_ids,
                        ),
                        log_exceptions=False,
                    )
                done += len(locked)
            except CONTENTION_ERRORS:
                skipped_ids += queue_ids
            self._invalidate_caches()
            if auto_commit:
                # Each batch is kept, and the next one reads a fresh snapshot:
                # the scheduled action's own transaction, as Odoo's batch
                # crons do.
                self.env.cr.commit()  # pylint: disable=invalid-commit
        if skipped_ids and not done and auto_commit:
            # Every key was held by another transaction: give it time before
            # the next run (this transaction holds no lock), so that a long one is
            # not polled in a loop.
            time.sleep(HELD_KEYS_PAUSE)
        self.env.cr.execute(
            "SELECT COUNT(DISTINCT (company_id, partner_id, product_id)) "
            "FROM consumer_preference_history_queue"
        )
        remaining = self.env.cr.fetchone()[0]
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        if remaining:
            # Reporting them is not enough: Odoo counts a run that did
            # nothing as finished, and re-runs one that did something at most
            # ten times in a row; either way the cron worker would then sleep
            # until its next wake-up, up to a minute (measured: a queue
            # drained 66 s after the last posting of bench_load.py).
            self._wake_scheduled_action()
        return done

    # ------------------------------------------------------------------
    # Keys, locks and the queue
    # ------------------------------------------------------------------
    def _queue_settle_seconds(self):
        """How long the scheduled action waits before it reads the queue:
        until the oldest queued row (the first by id) was queued
        ``QUEUE_SETTLE_SECONDS`` ago, by the start of the transaction that
        queued it (none if the queue is empty, or its oldest row older;
        never longer, whatever the clock that stamped the row)."""
        self.env.cr.execute(
            SQL(
                """
                SELECT LEAST(GREATEST(%(settle)s - EXTRACT(EPOCH FROM
                           (NOW() AT TIME ZONE 'UTC') - queued_at), 0),
                             %(settle)s)
                  FROM consumer_preference_history_queue
                 ORDER BY id
                 LIMIT 1
                """,
                settle=QUEUE_SETTLE_SECONDS,
            )
        )
        row = self.env.cr.fetchone()
        return float(row[0]) if row else 0.0

    def _set_work_mem(self, work_mem):
        """Set this transaction's ``work_mem``; return the previous one."""
        return self._set_settings({"work_mem": work_mem})["work_mem"]

    def _set_settings(self, settings):
        """Set PostgreSQL's ``settings`` (``{name: value}``) for this
        transaction, in one statement; return their previous values, to set
        them back with."""
        names = list(settings)
        self.env.cr.execute(
            SQL(
                """
                WITH previous AS MATERIALIZED (
                    SELECT setting.name, setting.value AS new_value,
                           current_setting(setting.name) AS value
                      FROM unnest(%(names)s::text[], %(values)s::text[])
                           AS setting(name, value)
                )
                SELECT previous.name, previous.value,
                       set_config(previous.name, previous.new_value, TRUE)
                  FROM previous
                """,
                names=names,
                values=[settings[name] for name in names],
            )
        )
        return {name: value for name, value, _new in self.env.cr.fetchall()}

    def _lock_queued_keys(self, batch_size, skipped_ids, after_id=0):
        """A batch of queued keys, ``(key, queue ids, locked)`` each, and the
        last row it read (none when the queue has no key after
        ``after_id``): the keys of the next ``batch_size`` rows after
        ``after_id``, with every row that queues them. The rows are read by
        id, and each key's others by the key's index: a batch reads its own
        rows, never the whole queue (grouping the whole queue at each batch
        made a drain quadratic in the queue's size: 9.6 s of 17.1 s to drain
        400,000 rows, README)."""
        self._flush_sources()
        self.env.cr.execute(
            SQL(
                """
                WITH head AS MATERIALIZED (
                    SELECT id, company_id, partner_id, product_id
                      FROM consumer_preference_history_queue
                     WHERE id > %(after_id)s AND product_id IS NOT NULL
                       AND NOT id = ANY(%(skipped)s)
                     ORDER BY id
                     LIMIT %(limit)s
                ),
                queued_keys AS (
                    SELECT company_id, partner_id, product_id, MIN(id) AS first_id
                      FROM head
                     GROUP BY company_id, partner_id, product_id
                )
                SELECT company_id, partner_id, product_id,
                       ARRAY(SELECT queue.id
                               FROM consumer_preference_history_queue queue
                              WHERE queue.partner_id = queued_keys.partner_id
                                AND queue.company_id = queued_keys.company_id
                                AND queue.product_id = queued_keys.product_id
                                AND NOT queue.id = ANY(%(skipped)s)),
                       pg_try_advisory_xact_lock(%(lock_key)s),
                       (SELECT MAX(id) FROM head)
                  FROM queued_keys
                 ORDER BY first_id
                """,
                lock_key=self._lock_key_sql(),
                after_id=after_id,
                skipped=skipped_ids,
                limit=batch_size,
            )
        )
        rows = self.env.cr.fetchall()
        if not rows:
            return None
        return [(tuple(row[:3]), row[3], row[4]) for row in rows], rows[0][5]

    def _move_keys(self, moves):
        if not moves:
            return []
        self.env.cr.execute(self._move_keys_sql(moves))
        return [tuple(row) for row in self.env.cr.fetchall()]

    @staticmethod
    def _move_keys_sql(moves):
        return SQL(
            """
            SELECT DISTINCT line.company_id, line.partner_id, line.product_id
              FROM account_move_line line
              JOIN res_partner partner ON partner.id = line.partner_id
             WHERE line.move_id = ANY(%s)
               AND line.display_type = 'product'
               AND line.product_id IS NOT NULL
               AND partner.consumer_preference_consent IS NOT FALSE
            """,
            moves.ids,
        )

    @staticmethod
    def _lock_key_sql():
        """A key's advisory lock, computed from the key's columns. Two keys
        sharing a hash only make each other queue now and then."""
        return SQL(
            "hashtextextended('consumer_preference_history:' || company_id "
            "|| ',' || partner_id || ',' || product_id, 0)"
        )

    @staticmethod
    def _keys_sql(keys):
        company_ids, partner_ids, product_ids = (
            list(column) for column in zip(*keys, strict=True)
        )
        return SQL(
            "SELECT DISTINCT company_id, partner_id, product_id "
            "FROM unnest(%s::int[], %s::int[], %s::int[]) "
            "AS key(company_id, partner_id, product_id)",
            company_ids,
            partner_ids,
            product_ids,
        )

    def _enqueue(self, keys):
        """Queue ``keys`` in this transaction, committed with the invoices
        that changed them, and wake the scheduled action once it commits."""
        if not keys:
            return
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO consumer_preference_history_queue
                       (company_id, partner_id, product_id, queued_at)
                SELECT company_id, partner_id, product_id, NOW() AT TIME ZONE 'UTC'
                  FROM (%s) queued_keys
                """,
                self._keys_sql(keys),
            )
        )
        self.env["res.partner"].invalidate_model(
            ["consumer_preference_history_pending"]
        )
        self._wake_scheduled_action()

    def _enqueue_customers(self, partners, companies, erase=False):
        """Queue the whole history of ``partners`` in ``companies``: to be
        recomputed, or with ``erase``, erased (unless they consent again
        by then), by the scheduled action, once this transaction commits."""
        if not partners or not companies:
            return
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO consumer_preference_history_queue
                       (company_id, partner_id, erase, queued_at)
                SELECT company.id, partner.id, %s, NOW() AT TIME ZONE 'UTC'
                  FROM unnest(%s::int[]) AS company(id)
                 CROSS JOIN unnest(%s::int[]) AS partner(id)
                """,
                erase,
                companies.ids,
                partners.ids,
            )
        )
        self.env["res.partner"].invalidate_model(
            ["consumer_preference_history_pending"]
        )
        self._wake_scheduled_action()

    def _expand_queued_units(self):
        """Take the queued units (``_queue_units``) out of the queue, and
        queue the keys whose posted lines they convert, as the lines are
        now. Returns how many units were done."""
        Statistics = self.env["consumer.preference.statistics"]
        self.env.cr.execute(
            "DELETE FROM consumer_preference_history_unit_queue RETURNING uom_id"
        )
        unit_ids = list({unit_id for (unit_id,) in self.env.cr.fetchall()})
        if not unit_ids:
            return 0
        self._flush_sources()
        self.env.cr.execute(
            SQL(
                "SELECT DISTINCT line.company_id, line.partner_id, line.product_id %s",
                Statistics._posted_lines_sql(
                    SQL(
                        "line.product_uom_id IS DISTINCT FROM template.uom_id"
                        " AND (line.product_uom_id = ANY(%(units)s)"
                        " OR template.uom_id = ANY(%(units)s))",
                        units=unit_ids,
                    ),
                    joins=SQL(
                        "JOIN product_product product ON product.id = line.product_id"
                        " JOIN product_template template"
                        " ON template.id = product.product_tmpl_id"
                    ),
                ),
            )
        )
        self._enqueue([tuple(row) for row in self.env.cr.fetchall()])
        return len(unit_ids)

    def _queued_customers(self, batch_size, after_id=0):
        """A batch of the queue's customers queued whole, the next
        ``batch_size`` after the row ``after_id``:
        ``(id, company_id, partner_id, erase)`` each, by id."""
        self.env.cr.execute(
            SQL(
                """
                SELECT id, company_id, partner_id, erase
                  FROM consumer_preference_history_queue
                 WHERE product_id IS NULL AND id > %s
                 ORDER BY id
                 LIMIT %s
                """,
                after_id,
                batch_size,
            )
        )
        return self.env.cr.fetchall()

    def _expand_queued_customers(self, rows):
        """Do what the customers queued whole (``_enqueue_customers``,
        ``rows`` of ``_queued_customers``) need, as they are now: a
        customer who consents has every key of its posted lines and history
        lines queued, which the keys' batches then recompute (never waiting
        for a posting, which never waits for them: each key's lock is
        tried); one queued by an erasure who still does not consent is
        erased again; any other is left as it is. Returns the ids of the
        rows done: none when another transaction holds one of the lines to
        erase (left queued, for the next run)."""
        self._flush_sources()
        partner_ids = list({partner_id for _id, _company, partner_id, _e in rows})
        self.env.cr.execute(
            SQL(
                "SELECT id FROM res_partner WHERE id = ANY(%s) "
                "AND consumer_preference_consent IS NOT FALSE",
                partner_ids,
            )
        )
        consenting = {partner_id for (partner_id,) in self.env.cr.fetchall()}
        to_erase = {
            (company_id, partner_id)
            for _id, company_id, partner_id, erase in rows
            if erase and partner_id not in consenting
        }
        to_refresh = {
            (company_id, partner_id)
            for _id, company_id, partner_id, _erase in rows
            if partner_id in consenting
        }
        try:
            with self.env.cr.savepoint(flush=False):
                if to_erase:
                    self._erase_again(to_erase)
                if to_refresh:
                    self._enqueue_customer_keys(to_refresh)
                done_ids = [row[0] for row in rows]
                self.env.cr.execute(
                    SQL(
                        "DELETE FROM consumer_preference_history_queue "
                        "WHERE id = ANY(%s)",
                        done_ids,
                    ),
                    log_exceptions=False,
                )
        except CONTENTION_ERRORS as error:
            _logger.debug("Queued customers left after %s", type(error).__name__)
            return []
        finally:
            self._invalidate_caches()
        return done_ids

    def _erase_again(self, customers):
        """Delete the history lines of ``customers`` (``(company_id,
        partner_id)`` pairs, who do not consent), unless another transaction
        holds one of them (``NOWAIT``: the caller leaves them queued). No
        posting writes the lines of a customer who does not consent, nor
        waits for them; nor are their keys' advisory locks taken: tried on
        every line a scan reads, they would fill PostgreSQL's lock table."""
        self.env.cr.execute(
            SQL(
                """
                WITH erased AS (
                    SELECT preference.id FROM consumer_preference preference
                     WHERE preference.preference_type = 'history'
                       AND (preference.company_id, preference.partner_id)
                           IN (SELECT * FROM unnest(%s::int[], %s::int[]))
                       FOR UPDATE NOWAIT
                )
                DELETE FROM consumer_preference preference
                 USING erased WHERE preference.id = erased.id
                """,
                *self._pair_columns(customers),
            ),
            log_exceptions=False,
        )

    def _enqueue_customer_keys(self, customers):
        """Queue every key of ``customers`` (``(company_id, partner_id)``
        pairs): those of their posted lines, and those of their history
        lines (which a recomputation may delete)."""
        Statistics = self.env["consumer.preference.statistics"]
        company_ids, partner_ids = self._pair_columns(customers)
        scope = SQL(
            "(line.company_id, line.partner_id) "
            "IN (SELECT * FROM unnest(%s::int[], %s::int[]))",
            company_ids,
            partner_ids,
        )
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO consumer_preference_history_queue
                       (company_id, partner_id, product_id, queued_at)
                SELECT company_id, partner_id, product_id,
                       NOW() AT TIME ZONE 'UTC'
                  FROM (SELECT line.company_id, line.partner_id, line.product_id
                          %s AND line.product_id IS NOT NULL
                         UNION
                        SELECT line.company_id, line.partner_id, line.product_id
                          FROM consumer_preference line
                         WHERE line.preference_type = 'history' AND %s
                       ) customer_keys
                """,
                Statistics._posted_lines_sql(scope),
                scope,
            ),
            log_exceptions=False,
        )

    @staticmethod
    def _pair_columns(pairs):
        """``pairs`` as two lists, for ``unnest``."""
        return [list(column) for column in zip(*pairs, strict=True)]

    def _wake_scheduled_action(self):
        """Have the queue's scheduled action run as soon as this transaction
        commits: a trigger, which Odoo's cron workers are notified of."""
        cron = self.env.ref(QUEUE_CRON_XMLID, raise_if_not_found=False)
        if not cron:
            # Deleted by an administrator: posting goes on, the keys wait in
            # the queue (the partner form says so) until a module update
            # brings the action back, or a rebuild.
            _logger.warning(
                "Scheduled action %s not found: history keys stay queued",
                QUEUE_CRON_XMLID,
            )
            return
        # The scheduled action is this addon's own, run as superuser:
        # waking it up is no right the posting user needs.
        cron = cron.sudo()
        if not cron.active:
            # Deactivated by an administrator, or by Odoo after repeated
            # failures: Odoo neither triggers nor runs it.
            _logger.warning(
                "Scheduled action %s is inactive: history keys stay queued "
                "until it is active again",
                QUEUE_CRON_XMLID,
            )
            return
        cron._trigger()

    def _dequeue(self, partners=None, companies=None, erasures=False):
        """Take ``partners`` in ``companies`` out of the queue: their history
        was just recomputed, or deleted. Their queued erasures (``_erase``)
        stay unless ``erasures``: a rebuild does not erase what a racing
        posting added for a customer who no longer consents."""
        self.env.cr.execute(
            SQL(
                "DELETE FROM consumer_preference_history_queue queue WHERE %s AND %s",
                SQL("TRUE") if erasures else SQL("queue.erase IS NOT TRUE"),
                self._scope_filter("queue", partners, companies),
            )
        )
        self.env["res.partner"].invalidate_model(
            ["consumer_preference_history_pending"]
        )

    @staticmethod
    def _scope_filter(alias, partners=None, companies=None):
        """Rows of ``alias`` of ``partners`` in ``companies`` (None: all)."""
        conditions = [SQL("TRUE")]
        if partners is not None:
            conditions.append(
                SQL("%s.partner_id = ANY(%s)", SQL.identifier(alias), partners.ids)
            )
        if companies is not None:
            conditions.append(
                SQL("%s.company_id = ANY(%s)", SQL.identifier(alias), companies.ids)
            )
        return SQL(" AND ").join(conditions)

    # ------------------------------------------------------------------
    # Writers
    # ------------------------------------------------------------------
    def _increment(self, posted, unposted, recompute):
        """Take the keys of ``posted`` and ``unposted`` invoices (customers
        who consent) that no other transaction holds, and add the lines of
        ``posted`` to the existing history lines of those keys (a purchase
        dated back counted by ``_count_dated_back``); return the state of
        every key: ``incremented``, ``contended`` (another transaction holds
        it), ``leaving`` (a key of ``recompute``'s invoices, those leaving
        the posted state among them, or of an invoice posted again while a
        reversal of it is: to recompute)
        or ``no_line`` (no line to add to, a line whose product's
        characteristic values changed since, or invoices of several days
        among its purchases: a first purchase, else to recompute); and, for
        ``no_line`` keys, what the invoices add to them
        (``FIRST_PURCHASE_COLUMNS``). The same statement
        queues the invoices' customers for a refresh of their segment."""
        self.env.cr.execute(
            self._increment_sql(posted, unposted, recompute), log_exceptions=False
        )
        states, no_line, dated_back = {}, {}, {}
        for row in self.env.cr.fetchall():
            key = tuple(row[:3])
            states[key] = row[3]
            if row[3] == "no_line":
                no_line[key] = row[4:]
            elif row[3] == "dated_back":
                states[key] = "incremented"
                # what the invoices add, as FIRST_PURCHASE_COLUMNS after the key
                added = dict(
                    zip(
                        (name for name, _type in FIRST_PURCHASE_COLUMNS[3:]),
                        row[4:],
                        strict=True,
                    )
                )
                dated_back[key] = added["first_purchase_date"]
        if dated_back:
            self._count_dated_back(posted, dated_back)
        return states, no_line

    def _count_dated_back(self, moves, days):
        """Count one more purchase on the lines of the keys of ``days``
        (``{key: day}``), just incremented by ``moves`` with invoices of that
        day, between their first and last purchases (dated back), unless the
        key had a purchase that day already. A statement of its own, sent
        only then: its lookups would cost every posting their planning."""
        Statistics = self.env["consumer.preference.statistics"]
        companies, partners, products = zip(*days, strict=True)
        self.env.cr.execute(
            SQL(
                """
        WITH delta AS (
            SELECT * FROM unnest(%(companies)s::int[], %(partners)s::int[],
                                 %(products)s::int[], %(days)s::date[])
                AS delta(company_id, partner_id, product_id, first_purchase_date)
        ),
        counted AS (
            SELECT preference.id, preference.quantity,
                   preference.purchase_count + 1 AS purchase_count,
                   preference.first_purchase_date, preference.last_purchase_date
              FROM delta
              JOIN consumer_preference preference ON %(history_line)s
             WHERE NOT %(purchased_that_day)s
        )
        UPDATE consumer_preference preference
           SET purchase_count = counted.purchase_count,
               average_quantity = %(average_quantity)s,
               next_expected_date = %(next_expected_date)s
          FROM counted
         WHERE preference.id = counted.id
                """,
                companies=list(companies),
                partners=list(partners),
                products=list(products),
                days=list(days.values()),
                history_line=Statistics._history_line_sql("delta"),
                purchased_that_day=Statistics._purchased_that_day_sql(
                    "delta", SQL("delta.first_purchase_date"), excluded=moves.ids
                ),
                average_quantity=Statistics._average_quantity_sql(
                    SQL.identifier("counted")
                ),
                next_expected_date=Statistics._next_expected_date_sql(
                    SQL.identifier("counted")
                ),
            ),
            log_exceptions=False,
        )
        return True

    def _count_reversed(self, reversals, others, keys, unposting=False):
        """Count again the purchases of the ``keys`` (locked, and just
        incremented) of ``reversals``, which are about to be written posted
        (with ``unposting``: the keys just decremented, the reversals about
        to leave the posted state), on the day of the invoice each reverses
        (that a credit note reverses, or whose reversal an invoice cancels):
        that invoice may stop being a purchase (credited in full), or be one
        again. A day that stops being a purchase day, the key's first or
        last, gives way to the nearest purchase day before or after it, read
        in date order from that day on: the key's lines up to that purchase,
        not its whole past (nothing when it was the only one). Return the
        keys to recompute: whose reversals reverse invoices of several days,
        or that invoices of their own among ``others``, posted (reset) with
        them, may buy (stop buying) on that day (the days are judged before
        the write). A statement of its own, sent only for reversals."""
        Statistics = self.env["consumer.preference.statistics"]
        if not keys:
            return []
        companies, partners, products = zip(*keys, strict=True)
        self.env.cr.execute(
            SQL(
                """
        WITH locked AS (
            SELECT * FROM unnest(%(companies)s::int[], %(partners)s::int[],
                                 %(products)s::int[])
                AS locked(company_id, partner_id, product_id)
        ),
        reversed_days AS MATERIALIZED (
            -- each key's reversal lines, with the day of the invoice (of
            -- its own, posted) that they reverse; whether the key has a
            -- line of an invoice of its own posted with them
            SELECT line.company_id, line.partner_id, line.product_id,
                   MIN(reversed.invoice_date) AS day,
                   COUNT(DISTINCT reversed.invoice_date) AS day_count,
                   EXISTS (
                       SELECT 1 FROM account_move_line other_line
                        WHERE other_line.move_id = ANY(%(own_ids)s)
                          AND other_line.partner_id = line.partner_id
                          AND other_line.product_id = line.product_id
                          AND other_line.company_id = line.company_id
                          AND other_line.display_type = 'product')
                       AS bought_too
              FROM account_move_line line
              JOIN account_move move ON move.id = line.move_id
              LEFT JOIN account_move refund
                ON refund.id = move.reversed_entry_id
               AND move.move_type = 'out_invoice'
               AND refund.move_type = 'out_refund'
              JOIN account_move reversed
                ON reversed.id = CASE WHEN move.move_type = 'out_refund'
                                      THEN move.reversed_entry_id
                                      ELSE refund.reversed_entry_id END
             WHERE line.move_id = ANY(%(reversal_ids)s)
               AND line.display_type = 'product'
               AND line.partner_id = move.commercial_partner_id
               AND (line.company_id, line.partner_id, line.product_id)
                   IN (SELECT company_id, partner_id, product_id FROM locked)
               -- posted, or posted with them: then bought_too
               AND (reversed.state = 'posted' OR reversed.id = ANY(%(own_ids)s))
               AND reversed.move_type = 'out_invoice'
               AND reversed.reversed_entry_id IS NULL
               AND reversed.commercial_partner_id = line.partner_id
             GROUP BY line.company_id, line.partner_id, line.product_id
        ),
        purchase_days AS MATERIALIZED (
            -- is that day a purchase day, before the reversals and after
            SELECT reversed_days.*, %(before)s AS before, %(after)s AS after
              FROM reversed_days
             WHERE reversed_days.day_count = 1
               AND NOT reversed_days.bought_too
        ),
        changed AS (
            SELECT preference.id, preference.quantity,
                   preference.purchase_count, preference.first_purchase_date,
                   preference.last_purchase_date, purchase_days.company_id,
                   purchase_days.partner_id, purchase_days.product_id,
                   purchase_days.day, purchase_days.after
              FROM purchase_days
              JOIN consumer_preference preference ON %(history_line)s
             WHERE purchase_days.before != purchase_days.after
        ),
        counted AS MATERIALIZED (
            -- computed once, not once per column that reads it
            SELECT changed.id, changed.quantity,
                   changed.purchase_count
                       + CASE WHEN changed.after THEN 1 ELSE -1 END
                       AS purchase_count,
                   CASE WHEN changed.after
                        THEN LEAST(changed.first_purchase_date, changed.day)
                        WHEN changed.purchase_count <= 1 THEN NULL
                        WHEN changed.day > changed.first_purchase_date
                        THEN changed.first_purchase_date
                        ELSE %(next_purchase)s END AS first_purchase_date,
                   CASE WHEN changed.after
                        THEN GREATEST(changed.last_purchase_date, changed.day)
                        WHEN changed.purchase_count <= 1 THEN NULL
                        WHEN changed.day < changed.last_purchase_date
                        THEN changed.last_purchase_date
                        ELSE %(previous_purchase)s END AS last_purchase_date
              FROM changed
        ),
        updated AS (
            UPDATE consumer_preference preference
               SET purchase_count = counted.purchase_count,
                   first_purchase_date = counted.first_purchase_date,
                   last_purchase_date = counted.last_purchase_date,
                   average_quantity = %(average_quantity)s,
                   next_expected_date = %(next_expected_date)s
              FROM counted
             WHERE preference.id = counted.id
        )
        SELECT company_id, partner_id, product_id
          FROM reversed_days
         WHERE day_count > 1 OR bought_too
                """,
                companies=list(companies),
                partners=list(partners),
                products=list(products),
                reversal_ids=reversals.ids,
                own_ids=others.filtered(
                    lambda move: move.move_type == "out_invoice"
                ).ids,
                before=Statistics._purchased_that_day_sql(
                    "reversed_days", SQL("reversed_days.day")
                ),
                after=Statistics._purchased_that_day_sql(
                    "reversed_days",
                    SQL("reversed_days.day"),
                    **{"unposting" if unposting else "posting": reversals.ids},
                ),
                history_line=Statistics._history_line_sql("purchase_days"),
                # the other purchase days are not the reversals' concern
                next_purchase=Statistics._nearest_purchase_sql(
                    "changed", SQL("changed.day"), later=True
                ),
                previous_purchase=Statistics._nearest_purchase_sql(
                    "changed", SQL("changed.day"), later=False
                ),
                average_quantity=Statistics._average_quantity_sql(
                    SQL.identifier("counted")
                ),
                next_expected_date=Statistics._next_expected_date_sql(
                    SQL.identifier("counted")
                ),
            ),
            log_exceptions=False,
        )
        return [tuple(row) for row in self.env.cr.fetchall()]

    def _decrement(self, moves):
        """Take the keys of ``moves`` (posted customer invoices and credit
        notes about to be reset to draft or cancelled; customers who
        consent) that no other transaction holds, and take the lines of
        ``moves`` from those keys' history lines; return the state of every
        key: ``decremented``, ``contended`` (another transaction holds it),
        ``leaving`` (to recompute once they are written: invoices of
        several days) or ``no_line`` (no line to take from, or a line whose
        product's characteristic values changed since: to recompute). A line
        left with no invoice is deleted (credit notes alone make no line).
        The same statement queues the invoices' customers for a refresh of
        their segment."""
        self.env.cr.execute(self._decrement_sql(moves), log_exceptions=False)
        return {tuple(row[:3]): row[3] for row in self.env.cr.fetchall()}

    def _decrement_sql(self, moves):
        """The statement of ``_decrement``, sent before the invoices are
        written: the counts and sums are reduced, the first and last
        dates and the last unit price are kept unless the invoices held
        them (then the nearest other invoice line stands in, read in date
        order through the index of the posted lines by customer, product,
        company and date), and the invoices' day is judged a purchase day
        before and without them (``_purchased_that_day_sql``), the nearest
        other purchase standing in for a first or last one lost: the cost
        follows the invoices, not the key's past."""
        Statistics = self.env["consumer.preference.statistics"]
        return SQL(
            """
        WITH %(move_keys)s,
        delta AS (
            -- what the invoices' lines count, and their day (one at most)
            SELECT line.company_id, line.partner_id, line.product_id,
                   %(aggregates)s,
                   MAX(COALESCE(line.product_uom_factor, 1)) AS product_uom_factor
              FROM move_lines line
             WHERE (line.company_id, line.partner_id, line.product_id) IN (
                   SELECT company_id, partner_id, product_id FROM move_keys
                    WHERE locked AND NOT leaving)
             GROUP BY line.company_id, line.partner_id, line.product_id
        ),
        changed AS MATERIALIZED (
            SELECT preference.id, preference.invoice_count,
                   preference.refund_count, preference.quantity,
                   preference.amount, preference.first_invoice_date,
                   preference.last_invoice_date, preference.last_invoice_line_id,
                   preference.last_price_unit, preference.purchase_count,
                   preference.first_purchase_date, preference.last_purchase_date,
                   delta.company_id, delta.partner_id, delta.product_id,
                   delta.invoice_count AS delta_invoice_count,
                   delta.refund_count AS delta_refund_count,
                   delta.reference_quantity * delta.product_uom_factor
                       AS delta_quantity,
                   delta.amount AS delta_amount,
                   delta.first_invoice_date AS day,
                   delta.product_uom_factor,
                   EXISTS (SELECT 1 FROM move_lines line
                            WHERE line.id = preference.last_invoice_line_id)
                       AS last_line_taken,
                   -- no invoice left: credit notes alone make no line
                   preference.invoice_count <= delta.invoice_count AS emptied
              FROM delta
              -- a line whose product's values changed since is recomputed
              JOIN consumer_preference preference ON %(history_line)s
               FOR UPDATE OF preference NOWAIT
        ),
        deleted AS (
            DELETE FROM consumer_preference preference
             USING changed
             WHERE preference.id = changed.id
               AND changed.emptied
        ),
        purchase_days AS MATERIALIZED (
            -- is the invoices' day a purchase day, with them and without
            SELECT changed.*,
                   changed.day IS NOT NULL
                   AND %(before)s AND NOT %(after)s AS purchase_lost
              FROM changed
             WHERE NOT changed.emptied
        ),
        counted AS MATERIALIZED (
            -- computed once, not once per column that reads it
            SELECT purchase_days.id, purchase_days.company_id,
                   purchase_days.partner_id, purchase_days.product_id,
                   purchase_days.invoice_count
                       - purchase_days.delta_invoice_count AS invoice_count,
                   purchase_days.refund_count
                       - purchase_days.delta_refund_count AS refund_count,
                   purchase_days.quantity - purchase_days.delta_quantity
                       AS quantity,
                   purchase_days.amount - purchase_days.delta_amount AS amount,
                   CASE WHEN purchase_days.day IS NULL
                          OR purchase_days.day > purchase_days.first_invoice_date
                        THEN purchase_days.first_invoice_date
                        ELSE %(first_invoice_date)s END AS first_invoice_date,
                   COALESCE(last_line.invoice_date, purchase_days.last_invoice_date)
                       AS last_invoice_date,
                   COALESCE(last_line.id, purchase_days.last_invoice_line_id)
                       AS last_line_id,
                   CASE WHEN last_line.id IS NOT NULL THEN %(last_price_unit)s
                        ELSE purchase_days.last_price_unit END AS last_price_unit,
                   purchase_days.purchase_count
                       - purchase_days.purchase_lost::int AS purchase_count,
                   CASE WHEN NOT purchase_days.purchase_lost
                        THEN purchase_days.first_purchase_date
                        WHEN purchase_days.purchase_count <= 1 THEN NULL
                        WHEN purchase_days.day > purchase_days.first_purchase_date
                        THEN purchase_days.first_purchase_date
                        ELSE %(next_purchase)s END AS first_purchase_date,
                   CASE WHEN NOT purchase_days.purchase_lost
                        THEN purchase_days.last_purchase_date
                        WHEN purchase_days.purchase_count <= 1 THEN NULL
                        WHEN purchase_days.day < purchase_days.last_purchase_date
                        THEN purchase_days.last_purchase_date
                        ELSE %(previous_purchase)s END AS last_purchase_date
              FROM purchase_days
              -- the key's last invoice line but the invoices', when theirs
              -- was the last: read from the last day back
              LEFT JOIN LATERAL (
                   SELECT line.id, line.invoice_date
                     FROM account_move_line line
                    WHERE purchase_days.last_line_taken
                      AND %(other_invoice_line)s
                    ORDER BY line.invoice_date DESC, line.id DESC
                    LIMIT 1) last_found ON TRUE
              LEFT JOIN account_move_line last_line ON last_line.id = last_found.id
              LEFT JOIN account_move last_move ON last_move.id = last_line.move_id
              LEFT JOIN uom_uom last_uom ON last_uom.id = last_line.product_uom_id
             CROSS JOIN LATERAL (
                   SELECT purchase_days.product_uom_factor AS factor) product_uom
        ),
        updated AS (
            UPDATE consumer_preference preference
               SET %(assignments)s
              FROM counted
             WHERE preference.id = counted.id
        ),
        queued_segments AS (%(queue_segments)s)
        SELECT move_keys.company_id, move_keys.partner_id, move_keys.product_id,
               CASE WHEN NOT move_keys.locked THEN 'contended'
                    WHEN move_keys.leaving THEN 'leaving'
                    WHEN changed.id IS NOT NULL THEN 'decremented'
                    ELSE 'no_line' END
          FROM move_keys
          LEFT JOIN changed
            ON changed.company_id = move_keys.company_id
           AND changed.partner_id = move_keys.partner_id
           AND changed.product_id = move_keys.product_id
            """,
            move_keys=self._move_keys_ctes(
                moves,
                # invoices of several days (reversals are counted apart:
                # _count_reversed)
                leaving=SQL(
                    "COUNT(DISTINCT line.invoice_date)"
                    " FILTER (WHERE line.is_invoice) > 1"
                ),
            ),
            aggregates=Statistics._aggregates_sql(is_purchase=SQL("FALSE")),
            history_line=Statistics._history_line_sql("delta"),
            before=Statistics._purchased_that_day_sql("changed", SQL("changed.day")),
            after=Statistics._purchased_that_day_sql(
                "changed", SQL("changed.day"), excluded=moves.ids
            ),
            first_invoice_date=SQL(
                """
                (SELECT line.invoice_date FROM account_move_line line
                  WHERE %s
                  ORDER BY line.invoice_date
                  LIMIT 1)
                """,
                Statistics._other_invoice_line_sql("purchase_days", moves),
            ),
            other_invoice_line=Statistics._other_invoice_line_sql(
                "purchase_days", moves
            ),
            last_price_unit=Statistics._price_unit_sql(
                "last_line",
                SQL("last_move.invoice_currency_rate"),
                "last_uom",
                "product_uom",
            ),
            next_purchase=Statistics._nearest_purchase_sql(
                "purchase_days", SQL("purchase_days.day"), later=True
            ),
            previous_purchase=Statistics._nearest_purchase_sql(
                "purchase_days", SQL("purchase_days.day"), later=False
            ),
            assignments=Statistics._assignments_sql("counted"),
            queue_segments=self.env["consumer.preference.segment"]._enqueue_sql(moves),
        )

    def _move_keys_ctes(self, moves, leaving):
        """The relations ``move_lines``, ``held_units`` and ``move_keys`` of
        the statements that add ``moves`` to their keys' lines or take them
        from them (``_increment_sql``, ``_decrement_sql``): the invoices'
        product lines, read once; the units converting them, held; and each
        key of customers who consent, its advisory lock tried once, and
        whether it is ``leaving`` (an aggregate of its lines: to recompute
        rather than count)."""
        Statistics = self.env["consumer.preference.statistics"]
        # right after WITH: the statements open with "WITH move_lines"
        # (bench_history.py recognises them so)
        return SQL(
            """move_lines AS MATERIALIZED (
            -- the invoices' product lines, with what the statistics read of
            -- them, and what their unit price needs, read once
            SELECT %(figures)s, line.id, line.price_unit, line.amount_currency,
                   move.invoice_currency_rate,
                   line_uom.factor AS line_uom_factor,
                   -- three lookups by primary key, planned apart
                   (SELECT product_uom.factor FROM uom_uom product_uom
                     WHERE product_uom.id = (
                           SELECT template.uom_id FROM product_template template
                            WHERE template.id = (
                                  SELECT product.product_tmpl_id
                                    FROM product_product product
                                   WHERE product.id = line.product_id)))
                       AS product_uom_factor,
                   line.product_uom_id AS line_unit_id,
                   (SELECT template.uom_id FROM product_template template
                     WHERE template.id = (
                           SELECT product.product_tmpl_id FROM product_product product
                            WHERE product.id = line.product_id)) AS product_unit_id
              %(move_lines)s
        ),
        held_units AS MATERIALIZED (
            -- the units converting the lines (a line's own and its
            -- product's, when they differ; most lines: none), held until
            -- this transaction ends against a change of their ratio: one
            -- committed since this snapshot, or under way, is a contention
            -- (the keys are queued, recomputed once both are committed); one
            -- made later waits for this transaction, and then queues the
            -- keys its units convert (_queue_units)
            SELECT unit.id FROM uom_uom unit
             WHERE unit.id IN (
                   SELECT UNNEST(ARRAY[line.line_unit_id, line.product_unit_id])
                     FROM move_lines line
                    WHERE line.line_unit_id IS DISTINCT FROM line.product_unit_id)
               FOR SHARE OF unit NOWAIT
        ),
        move_keys AS MATERIALIZED (
            -- each key once, and its lock tried once
            SELECT company_id, partner_id, product_id, leaving,
                   pg_try_advisory_xact_lock(%(lock_key)s) AS locked
              FROM (SELECT line.company_id, line.partner_id, line.product_id,
                           %(leaving)s AS leaving
                      FROM move_lines line
                      JOIN res_partner partner ON partner.id = line.partner_id
                     WHERE partner.consumer_preference_consent IS NOT FALSE
                       -- the units held first
                       AND (SELECT COUNT(*) FROM held_units) >= 0
                     GROUP BY line.company_id, line.partner_id, line.product_id
                   ) keys_of_moves
        )
            """,
            leaving=leaving,
            lock_key=self._lock_key_sql(),
            move_lines=Statistics._posted_lines_sql(
                SQL("line.product_id IS NOT NULL"),
                # the lines of the invoices being posted (Odoo writes
                # their posted state on the lines later in _post), reset or
                # cancelled
                state=SQL("line.move_id = ANY(%s)", moves.ids),
            ),
            figures=Statistics._line_figures_sql(),
        )

    def _increment_sql(self, posted, unposted, recompute):
        """The statement of ``_increment``. It is planned at every posting:
        its joins are kept small (planning one join of the lines with their
        invoice, units and products would cost more than running it)."""
        Statistics = self.env["consumer.preference.statistics"]
        moves = posted | unposted
        return SQL(
            """
        WITH %(move_keys)s,
        delta AS (
            -- the invoices' own lines, never a line of the key's past; few
            -- rows, so the last unit price is simply carried along
            SELECT line.company_id, line.partner_id, line.product_id,
                   %(aggregates)s,
                   MAX(COALESCE(product_uom.factor, 1)) AS product_uom_factor,
                   MAX(ARRAY[line.date_order::numeric, %(price_unit)s])
                       FILTER (WHERE line.is_invoice) AS last_line
              FROM move_lines line
              -- the factors of each line's units, under the names the
              -- shared unit price reads (flattened: no join)
             CROSS JOIN LATERAL (SELECT line.line_uom_factor AS factor) line_uom
             CROSS JOIN LATERAL (
                   SELECT line.product_uom_factor AS factor) product_uom
             WHERE (line.company_id, line.partner_id, line.product_id) IN (
                   SELECT company_id, partner_id, product_id FROM move_keys
                    WHERE locked AND NOT leaving)
             GROUP BY line.company_id, line.partner_id, line.product_id
        ),
        merged AS (
            SELECT preference.id, delta.company_id, delta.partner_id,
                   delta.product_id,
                   preference.invoice_count + delta.invoice_count AS invoice_count,
                   preference.refund_count + delta.refund_count AS refund_count,
                   preference.quantity
                       + delta.reference_quantity * delta.product_uom_factor
                       AS quantity,
                   preference.amount + delta.amount AS amount,
                   CASE WHEN delta.purchase_count = 0
                        THEN preference.purchase_count
                        WHEN preference.purchase_count = 0
                          OR delta.first_purchase_date > preference.last_purchase_date
                          OR delta.last_purchase_date < preference.first_purchase_date
                        THEN preference.purchase_count + delta.purchase_count
                        -- one day: its first or last purchase's, or one
                        -- between (an invoice dated back), counted apart
                        -- (_count_dated_back) if that day has no purchase
                        ELSE preference.purchase_count END AS purchase_count,
                   delta.purchase_count > 0
                       AND preference.purchase_count > 0
                       AND delta.first_purchase_date
                           > preference.first_purchase_date
                       AND delta.first_purchase_date
                           < preference.last_purchase_date AS dated_back,
                   LEAST(preference.first_purchase_date, delta.first_purchase_date)
                       AS first_purchase_date,
                   GREATEST(preference.last_purchase_date, delta.last_purchase_date)
                       AS last_purchase_date,
                   LEAST(preference.first_invoice_date, delta.first_invoice_date)
                       AS first_invoice_date,
                   GREATEST(preference.last_invoice_date, delta.last_invoice_date)
                       AS last_invoice_date,
                   CASE WHEN (delta.last_invoice_date, delta.last_line_id)
                             > (preference.last_invoice_date,
                                COALESCE(preference.last_invoice_line_id, 0))
                        THEN delta.last_line_id
                        ELSE preference.last_invoice_line_id END AS last_line_id,
                   CASE WHEN (delta.last_invoice_date, delta.last_line_id)
                             > (preference.last_invoice_date,
                                COALESCE(preference.last_invoice_line_id, 0))
                        THEN delta.last_line[2]
                        ELSE preference.last_price_unit END AS last_price_unit
              FROM delta
              -- a line whose product's values changed since is recomputed
              JOIN consumer_preference preference ON %(history_line)s
             -- and so is a key whose purchases invoices of several days
             -- posted together fall among (rare)
             WHERE delta.purchase_count = 0
                OR preference.purchase_count = 0
                OR delta.first_purchase_date > preference.last_purchase_date
                OR delta.last_purchase_date < preference.first_purchase_date
                OR delta.first_purchase_date = delta.last_purchase_date
               FOR UPDATE OF preference NOWAIT
        ),
        updated AS (
            UPDATE consumer_preference preference
               SET %(assignments)s
              FROM merged
             WHERE preference.id = merged.id
        ),
        queued_segments AS (%(queue_segments)s)
        SELECT move_keys.company_id, move_keys.partner_id, move_keys.product_id,
               CASE WHEN NOT move_keys.locked THEN 'contended'
                    WHEN move_keys.leaving THEN 'leaving'
                    WHEN merged.dated_back THEN 'dated_back'
                    WHEN merged.id IS NOT NULL THEN 'incremented'
                    ELSE 'no_line' END,
               -- what the invoices add to the key; numbers as text, so that
               -- they come back to _insert_first_purchases exact
               delta.invoice_count, delta.refund_count,
               (delta.reference_quantity * delta.product_uom_factor)::text,
               delta.amount::text, delta.first_invoice_date,
               delta.last_invoice_date, delta.last_line_id,
               (delta.last_line[2])::text, delta.purchase_count,
               delta.first_purchase_date, delta.last_purchase_date
          FROM move_keys
          LEFT JOIN delta
            ON delta.company_id = move_keys.company_id
           AND delta.partner_id = move_keys.partner_id
           AND delta.product_id = move_keys.product_id
          -- one line a key at most: the key's, with its product's values
          LEFT JOIN merged
            ON merged.company_id = move_keys.company_id
           AND merged.partner_id = move_keys.partner_id
           AND merged.product_id = move_keys.product_id
            """,
            move_keys=self._move_keys_ctes(
                moves,
                leaving=SQL(
                    """
                    BOOL_OR(line.move_id = ANY(%s)
                            -- an invoice posted again after its reversal
                            -- was: one to undo, perhaps
                            OR line.is_invoice AND EXISTS (
                               SELECT 1 FROM account_move reversal
                                WHERE reversal.reversed_entry_id = line.move_id
                                  AND reversal.state = 'posted'
                                  AND reversal.move_type = 'out_refund'))
                    """,
                    recompute.ids,
                ),
            ),
            # the invoices' own lines: no credit note reverses them here
            aggregates=Statistics._aggregates_sql(
                is_purchase=SQL("line.is_own_invoice")
            ),
            price_unit=Statistics._price_unit_sql(
                "line", SQL("line.invoice_currency_rate"), "line_uom", "product_uom"
            ),
            history_line=Statistics._history_line_sql("delta"),
            assignments=Statistics._assignments_sql("merged"),
            queue_segments=self.env["consumer.preference.segment"]._enqueue_sql(moves),
        )

    def _insert_first_purchases(self, posted, figures):
        """Insert the lines of the keys of ``figures`` (locked by
        ``_increment``, with what ``posted`` adds to them) that were bought
        for the first time: no history line, and no posted line but these
        invoices' (read through the index of the posted lines by customer
        and product); their invoices' lines are their whole history. Return
        those keys. A line another transaction inserted since this one's
        snapshot is a serialization failure (``ON CONFLICT DO NOTHING`` under
        repeatable read): the caller queues the keys."""
        Statistics = self.env["consumer.preference.statistics"]
        columns = list(
            zip(*(key + tuple(row) for key, row in figures.items()), strict=True)
        )
        self.env.cr.execute(
            SQL(
                """
        WITH delta AS (
            SELECT * FROM unnest(%(columns)s) AS delta(%(names)s)
        ),
        new_keys AS MATERIALIZED (
            SELECT delta.company_id, delta.partner_id, delta.product_id
              FROM delta
             WHERE NOT EXISTS (
                   SELECT 1 FROM consumer_preference preference
                    WHERE preference.company_id = delta.company_id
                      AND preference.partner_id = delta.partner_id
                      AND preference.product_id = delta.product_id
                      AND preference.preference_type = 'history')
               AND NOT EXISTS (
                   SELECT 1 FROM account_move_line line
                    WHERE %(key_lines)s
                      AND NOT line.move_id = ANY(%(move_ids)s))
        ),
        new_lines AS (
            -- as _statistics_sql gives them; a credit note alone gives none
            SELECT delta.*, product.product_tmpl_id, template.categ_id,
                   %(value_key)s AS attribute_value_key
              FROM delta
              JOIN new_keys
                ON new_keys.company_id = delta.company_id
               AND new_keys.partner_id = delta.partner_id
               AND new_keys.product_id = delta.product_id
              JOIN product_product product ON product.id = delta.product_id
              JOIN product_template template ON template.id = product.product_tmpl_id
             WHERE delta.invoice_count > 0
        ),
        inserted AS (%(insert)s),
        linked_values AS (%(link_values)s)
        SELECT company_id, partner_id, product_id FROM new_keys
                """,
                columns=SQL(", ").join(
                    SQL(f"%s::{column_type}[]", list(values))
                    for (_name, column_type), values in zip(
                        FIRST_PURCHASE_COLUMNS, columns, strict=True
                    )
                ),
                names=SQL(", ").join(
                    SQL.identifier(name) for name, _type in FIRST_PURCHASE_COLUMNS
                ),
                key_lines=Statistics._key_lines_sql("line", "delta"),
                move_ids=posted.ids,
                value_key=Statistics._value_key_sql(SQL("delta.product_id")),
                insert=Statistics._insert_sql(
                    "new_lines", SQL("TRUE"), SQL("DO NOTHING")
                ),
                link_values=Statistics._link_values_sql("inserted"),
            ),
            log_exceptions=False,
        )
        return [tuple(row) for row in self.env.cr.fetchall()]

    def _recompute(self, keys=None, partners=None, companies=None):
        """Recompute exactly, from their posted lines, the history lines of
        ``keys`` (``(company_id, partner_id, product_id)`` tuples) or else of
        ``partners`` in ``companies`` (None: all), in one statement: update
        the lines whose figures changed, delete those no posted invoice
        supports any more, insert the new ones. Lines of customers who
        withdrew consent stay as they are. Returns the numbers of lines
        updated, deleted and inserted."""
        Statistics = self.env["consumer.preference.statistics"]
        if keys is not None and not keys:
            return (0, 0, 0)
        # Compiled (JIT), these statements cost more than they save:
        # PostgreSQL compiles a recomputation of keys past ~340,000 lines
        # (measured: 130 ms more on 780 ms at 600,000 lines), and it
        # overestimates the rebuild's hash join enough to compile it (~0.6 s
        # for a run of ~0.1 s).
        settings = {"jit": "off"}
        if keys is None:
            # The rebuild's table has no planner statistics: PostgreSQL would
            # sort both sides of the full join below (tens of thousands of
            # keys) where hashing them costs a third less.
            settings["enable_mergejoin"] = "off"
        previous_settings = self._set_settings(settings)
        if keys is not None:
            keys_cte = self._keys_sql(keys)
            statistics = Statistics._statistics_sql(
                SQL(
                    "line.partner_id = keys.partner_id "
                    "AND line.product_id = keys.product_id "
                    "AND line.company_id = keys.company_id"
                ),
                per_key=True,
            )
            existing_scope = SQL(
                "(preference.company_id, preference.partner_id, preference.product_id)"
                " IN (SELECT company_id, partner_id, product_id FROM keys)"
            )
            # Recomputing keys runs beside postings: never wait for a line
            # another transaction holds, let the caller queue the key.
            row_locks = SQL("FOR UPDATE OF preference NOWAIT")
            # the keys' lines locked in a relation of their own, before
            # anything is joined to them
            existing = SQL("MATERIALIZED")
            held_units = self._held_units_sql()
        else:
            # A rebuild may wait: it is the manager's, not the accountant's.
            row_locks = SQL()
            existing = SQL()  # joined as they are read
            keys_cte = SQL("SELECT NULL")
            held_units = SQL("SELECT NULL")
            # PostgreSQL runs no statement that writes in parallel: the
            # aggregate over every posted line goes first, in one that can.
            self.env.cr.execute(
                SQL(
                    "CREATE TEMPORARY TABLE %s ON COMMIT DROP AS %s",
                    SQL.identifier(REBUILD_TABLE),
                    Statistics._statistics_sql(
                        self._scope_filter("line", partners, companies),
                        # every customer's lines (of a company, perhaps)
                        read_all=partners is None,
                    ),
                )
            )
            statistics = SQL("SELECT * FROM %s", SQL.identifier(REBUILD_TABLE))
            existing_scope = self._scope_filter("preference", partners, companies)
        self.env.cr.execute(
            SQL(
                """
        WITH keys AS (%(keys)s),
        held_units AS MATERIALIZED (%(held_units)s),
        statistics AS MATERIALIZED (%(statistics)s),
        existing AS %(existing)s (
            SELECT preference.id, preference.company_id, preference.partner_id,
                   preference.product_id, preference.attribute_value_key,
                   (preference.invoice_count, preference.refund_count,
                    preference.quantity, preference.amount,
                    preference.first_invoice_date, preference.last_invoice_date,
                    preference.last_invoice_line_id, preference.last_price_unit,
                    preference.purchase_count, preference.first_purchase_date,
                    preference.last_purchase_date, preference.active) AS figures
              FROM consumer_preference preference
              JOIN res_partner partner ON partner.id = preference.partner_id
             WHERE preference.preference_type = 'history'
               AND partner.consumer_preference_consent IS NOT FALSE
               AND %(existing_scope)s
            %(row_locks)s
        ),
        matched AS (
            -- each line with its statistics, joined once, kept where they
            -- differ: a line without statistics is deleted, statistics
            -- without a line are inserted, a line whose figures differ is
            -- rewritten (a rebuild touches only what changed)
            SELECT existing.id AS existing_id, statistics.*
              FROM existing
              FULL JOIN statistics
                ON statistics.company_id = existing.company_id
               AND statistics.partner_id = existing.partner_id
               AND statistics.product_id = existing.product_id
               AND statistics.attribute_value_key = existing.attribute_value_key
             WHERE existing.figures IS DISTINCT FROM (
                       statistics.invoice_count::int, statistics.refund_count::int,
                       statistics.quantity, statistics.amount,
                       statistics.first_invoice_date, statistics.last_invoice_date,
                       statistics.last_line_id, statistics.last_price_unit,
                       statistics.purchase_count::int,
                       statistics.first_purchase_date,
                       statistics.last_purchase_date, TRUE)
        ),
        updated AS (
            UPDATE consumer_preference preference
               SET %(assignments)s
              FROM matched
             WHERE preference.id = matched.existing_id
               AND matched.product_id IS NOT NULL
         RETURNING preference.id
        ),
        deleted AS (
            DELETE FROM consumer_preference preference
             USING matched
             WHERE preference.id = matched.existing_id
               AND matched.product_id IS NULL
         RETURNING preference.id
        ),
        inserted AS (%(insert)s),
        linked_values AS (%(link_values)s)
        SELECT (SELECT COUNT(*) FROM updated), (SELECT COUNT(*) FROM deleted),
               (SELECT COUNT(*) FROM inserted)
         -- the units held whatever the keys' lines (a condition on nothing:
         -- always evaluated)
         WHERE (SELECT COUNT(*) FROM held_units) >= 0
                """,
                keys=keys_cte,
                held_units=held_units,
                statistics=statistics,
                existing=existing,
                existing_scope=existing_scope,
                row_locks=row_locks,
                assignments=Statistics._assignments_sql("matched"),
                insert=Statistics._insert_sql(
                    "matched",
                    SQL("matched.existing_id IS NULL"),
                    SQL(
                        "DO UPDATE SET %s",
                        SQL(", ").join(
                            SQL(
                                "%s = EXCLUDED.%s",
                                SQL.identifier(name),
                                SQL.identifier(name),
                            )
                            for name in STATISTICS_COLUMNS
                        ),
                    ),
                ),
                link_values=Statistics._link_values_sql("inserted"),
            ),
            log_exceptions=False,
        )
        counts = self.env.cr.fetchone()
        self._set_settings(previous_settings)
        if keys is None:
            self.env.cr.execute(SQL("DROP TABLE %s", SQL.identifier(REBUILD_TABLE)))
        return counts

    @staticmethod
    def _held_units_sql():
        """The units that may convert the posted lines of the ``keys``
        relation, held against a change of their ratio until this
        transaction ends, as a posting holds its own lines' units
        (``_increment_sql``): a change committed since this snapshot is a
        contention (the keys are queued, recomputed from a snapshot that sees
        it); one made later waits, then queues the keys its units convert
        (``_queue_units``). Without it, a key recomputed at a posting from
        lines in another unit than the invoice's (a credit note's, say)
        could keep the former ratio. Odoo keeps a line's unit in its
        product's unit category: the category's units are held, found
        without reading the keys' lines (reading them again cost a quarter
        more on a key of 4,000 lines)."""
        return SQL(
            """
            SELECT unit.id FROM uom_uom unit
             WHERE unit.category_id IN (
                   SELECT product_uom.category_id
                     FROM keys
                     JOIN product_product product ON product.id = keys.product_id
                     JOIN product_template template
                       ON template.id = product.product_tmpl_id
                     JOIN uom_uom product_uom ON product_uom.id = template.uom_id)
               FOR SHARE OF unit NOWAIT
            """
        )

    # ------------------------------------------------------------------
    # Around the statements
    # ------------------------------------------------------------------
    def _flush_sources(self, line_states=True):
        """The statements read the database: push the pending ORM writes of
        the columns they read, and nothing more (this runs inside _post).
        Without ``line_states``, the lines' posted state stays pending: the
        increment reads its invoices' lines by invoice, and Odoo writes that
        state with the lines' other changes at the end of _post (one update
        of the lines, not two)."""
        self.env["account.move"].flush_model(
            ["state", "move_type", "company_id", "commercial_partner_id"]
            + ["invoice_date", "invoice_currency_rate", "reversed_entry_id"]
        )
        self.env["account.move.line"].flush_model(
            (["parent_state"] if line_states else [])
            + ["move_id", "company_id", "partner_id", "display_type", "product_id"]
            + ["product_uom_id", "quantity", "price_unit", "balance"]
            + ["amount_currency"]
        )
        self.env["product.product"].flush_model(
            ["product_tmpl_id", "product_template_attribute_value_ids"]
        )
        self.env["product.template"].flush_model(["uom_id", "categ_id"])
        self.env["res.partner"].flush_model(["consumer_preference_consent"])
        self.env["consumer.preference"].flush_model()

    def _flush_earlier_lines(self, moves):
        """Push the posted state and the invoice date (both computed by Odoo
        from the invoice) of the lines of invoices other than ``moves`` that
        this transaction posted, reset or created before (a script posting
        invoices one by one): Odoo writes them at the next flush, and the
        lookups read them (a credit note posted just before a first invoice
        would not count; a purchase day would be missed). Nothing is pending
        when each posting is a request of its own."""
        Line = self.env["account.move.line"]
        earlier = []
        for name in ("parent_state", "invoice_date"):
            field = Line._fields[name]
            pending = self.env.records_to_compute(field) | (
                self.env.cache.get_dirty_records(Line, field)
            )
            if pending - moves.line_ids:
                earlier.append(name)
        if earlier:
            Line.flush_model(earlier)

    def _invalidate_caches(self):
        """The statements wrote below the ORM: forget what it cached of the
        history lines, and of the partners' lists of them."""
        self.env["consumer.preference"].invalidate_model()
        self.env["res.partner"].invalidate_model(
            [
                "consumer_preference_ids",
                "consumer_history_ids",
                "commercial_history_ids",
                "consumer_preference_count",
                "consumer_preference_history_pending",
            ]
        )
