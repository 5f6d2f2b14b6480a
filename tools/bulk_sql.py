"""Bulk writes for mailings and imports of any size: ids drawn in advance, rows streamed with COPY.

Plain psycopg2 (no ORM): callers pass a cursor, flush the ORM before and invalidate its cache after.
"""

import csv
import io

from psycopg2 import sql


def next_ids(cr, sequence, count):
    """``count`` ids of ``sequence``, drawn now so that rows can refer to each other before they are written."""
    if not count:
        return []
    cr.execute("SELECT nextval(%s) FROM generate_series(1, %s)", (sequence, count))
    return [row[0] for row in cr.fetchall()]


def copy_rows(cr, table, columns, rows):
    """Write ``rows`` (tuples in ``columns`` order; None is NULL) into ``table`` with one COPY."""
    if not rows:
        return
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    buffer.seek(0)
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(column) for column in columns))
    cr.copy_expert(statement, buffer)  # psycopg2 composes the identifiers
