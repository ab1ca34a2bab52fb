"""The benchmarks' data, grown in SQL without the ORM: customers, and posted
copies of an invoice, hundreds of thousands of lines in minutes.

Used by bench_history.py and bench_segments.py; each says who a copy goes to
and how old it is, as SQL of the copy's number.
"""

# Copies per statement. The first batch is small: see copy_posted_invoice.
FIRST_BATCH = 1_000
BATCH = 20_000


def insert_customers(env, count, name):
    """Insert ``count`` consenting companies named ``name`` and a number, their
    own commercial partners; returns their ids, consecutive (one statement)."""
    env.cr.execute(
        """
        INSERT INTO res_partner (name, active, is_company, type, autopost_bills,
                                 consumer_preference_consent, create_date)
        SELECT %s || ' ' || number, TRUE, TRUE, 'contact', 'ask', TRUE, NOW()
          FROM generate_series(1, %s) number
     RETURNING id
        """,
        [name, count],
    )
    customer_ids = [row[0] for row in env.cr.fetchall()]
    # Statistics first, so that the foreign key checks on res_partner (of
    # this update, of the copied moves and lines) are planned, or planned
    # again, for its new size (see copy_posted_invoice).
    env.cr.execute("ANALYZE res_partner")
    env.cr.execute(
        "UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)",
        [customer_ids],
    )
    return customer_ids


def copy_posted_invoice(
    env,
    template,
    copies,
    *,
    partner,
    days_before,
    products,
    product_step=0,
    first_number=1,
    parameters=None,
):
    """Insert ``copies`` posted copies of the posted invoice ``template``
    (its move and all its lines), batch by batch.

    ``partner`` and ``days_before`` are SQL expressions of ``copy.number``
    (``first_number`` on; ``%`` written ``%%``, other values named in
    ``parameters``): the copy's commercial partner, and how many days before
    the template's it is dated. With ``product_step``, copy n's products are
    shifted n × ``product_step`` places along ``products`` (the template's
    products must be among them), so that customers buy different products.
    Copy n is named after the template and n: to copy the same template
    again, start at the next ``first_number`` (posted names are unique per
    journal).
    """
    env.flush_all()
    move_columns = _columns(env, "account_move", exclude=("id",))
    line_columns = _columns(env, "account_move_line", exclude=("id",))
    move_values = {
        # By number, not by id: Odoo numbers the invoices posted next after
        # the last name, and after copies named by id (C2020288) it
        # restarted at C0000001, postings at 1,000,000 lines taking 0.55 s
        # instead of 25 ms.
        "name": "move.name || '/C' || copy.number",
        "partner_id": partner,
        "commercial_partner_id": partner,
        "invoice_date": f"move.invoice_date - ({days_before})",
        "date": f"move.date - ({days_before})",
        # carries the copy's number to the lines (RETURNING)
        "sequence_number": "move.sequence_number + 1000000 + copy.number",
    }
    line_values = {
        "move_id": "copied.id",
        "partner_id": "copied.commercial_partner_id",
        "date": "copied.date",
    }
    if product_step:
        line_values["product_id"] = (
            "(%(products)s::int[])[1 + (array_position(%(products)s::int[], "
            "line.product_id) - 1 + copied.number * %(product_step)s) "
            "%% %(product_count)s]"
        )
    select_moves = ", ".join(
        move_values.get(column, f"move.{column}") for column in move_columns
    )
    select_lines = ", ".join(
        line_values.get(column, f"line.{column}") for column in line_columns
    )
    query = f"""
        WITH copied AS (
            INSERT INTO account_move ({", ".join(move_columns)}, id)
            SELECT {select_moves}, nextval('account_move_id_seq')
              FROM account_move move,
                   generate_series(%(start)s, %(stop)s) copy(number)
             WHERE move.id = %(template)s
         RETURNING id, commercial_partner_id, date,
                   sequence_number - 1000000 AS number
        )
        INSERT INTO account_move_line ({", ".join(line_columns)})
        SELECT {select_lines}
          FROM copied
          JOIN account_move_line line ON line.move_id = %(template)s
    """  # noqa: S608 (column names from the catalogue)
    start, end, batch = first_number - 1, first_number - 1 + copies, FIRST_BATCH
    while start < end:
        stop = min(start + batch, end)
        env.cr.execute(
            query,
            {
                **(parameters or {}),
                "template": template.id,
                "start": start + 1,
                "stop": stop,
                "products": products.ids,
                "product_count": len(products),
                "product_step": product_step,
            },
        )
        # Each line's foreign key check on its move runs a plan that the
        # session keeps from its first checks, when account_move may have
        # been a few pages (a fresh database): a sequential scan, which then
        # reads every move copied so far, for every line. Fresh statistics
        # make PostgreSQL plan it again, as an index scan; hence also the
        # small first batch, checked under the old plan.
        env.cr.execute("ANALYZE account_move")
        start, batch = stop, BATCH
    env.invalidate_all()


def _columns(env, table, exclude):
    env.cr.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = %s ORDER BY ordinal_position",
        [table],
    )
    return [name for (name,) in env.cr.fetchall() if name not in exclude]
