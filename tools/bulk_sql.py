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


def fields_sql_would_miss(model, columns, counts=None):
    """The stored fields of ``model`` that rows written with SQL into ``columns`` (plus ``id`` and the log columns)
    would get wrong, where ``create`` would not: a field left out that has a default, a computation, a relation or
    is required, or a stored field elsewhere that depends on a filled one. ``counts(field)`` (all when None) says
    which fields to look at: a caller may know the rest.

    ``model`` is an Odoo recordset; only its field metadata is read (no query).
    """
    handled = {"id", "create_uid", "create_date", "write_uid", "write_date", *columns}
    registry = model.env.registry
    missed = []
    for field in model._fields.values():
        if field.name in handled:
            missed += [dep for dep in registry.get_dependent_fields(field)
                       if dep.store and (dep.model_name != model._name or dep.name not in handled)
                       and (counts is None or counts(dep))]
        elif field.store and field.column_type and (field.compute or field.related or field.required
                                                    or field.default is not None) and (counts is None or counts(field)):
            missed.append(field)
    return missed


def create_overrides(model, counts):
    """The classes of ``model`` that override ``create`` and that ``counts(module name)`` says to look at."""
    return [cls for cls in type(model).__mro__
            if "create" in vars(cls) and getattr(cls, "_module", None) and counts(cls._module)]


def constraint_modules(model):
    """The modules (names) whose Python constraints ``model`` checks on create."""
    return {method.__module__.split(".")[2] for method in model._constraint_methods
            if method.__module__.startswith("odoo.addons.")}
