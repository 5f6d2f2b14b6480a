"""Bulk writes for mailings and imports of any size: ids drawn in advance, rows streamed with COPY.

Plain psycopg2 (no ORM): callers pass a cursor, flush the ORM before and invalidate its cache after.
"""

import csv
import io
import queue
import threading

from psycopg2 import sql
from psycopg2.extensions import ISQLQuote


class IntArray:
    """A list of integers (or None) passed as one ``int[]`` literal.

    psycopg2 adapts a Python list element by element, about a microsecond each: for the id and count columns of a
    dispatch batch (thousands of SMS, a dozen arrays) that was a tenth of the write-back. Usable wherever a list of
    integers is (``id = ANY(%s)``, ``unnest(%s::int[])``); every element goes through ``int()``, so nothing but
    digits reaches the statement.
    """

    __slots__ = ("values",)

    def __init__(self, values):
        self.values = values

    def __conform__(self, protocol):
        return self if protocol is ISQLQuote else None

    def getquoted(self):
        try:  # the usual case, no None: twice as fast as an expression per element
            items = ",".join(map(str, map(int, self.values)))
        except TypeError:  # None (NULL), or something that is no integer (raised again below)
            items = ",".join("NULL" if value is None else str(int(value)) for value in self.values)
        return ("'{%s}'::int[]" % items).encode()


def next_ids(cr, sequence, count):
    """``count`` ids of ``sequence``, drawn now so that rows can refer to each other before they are written."""
    if not count:
        return []
    cr.execute("SELECT nextval(%s) FROM generate_series(1, %s)", (sequence, count))
    return [row[0] for row in cr.fetchall()]


def copy_rows(cr, table, columns, rows):
    """Write ``rows`` (tuples in ``columns`` order; None is NULL) into ``table`` with one COPY."""
    if rows:
        _copy_csv(cr, table, columns, _csv_text(rows))


def _csv_text(rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def _copy_csv(cr, table, columns, text):
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(column) for column in columns))
    # psycopg2 composes the identifiers. The whole text in one read: the call then waits for the server without
    # the GIL, and a CopyPipe's caller thread keeps working meanwhile.
    cr.copy_expert(statement, io.StringIO(text), size=len(text) + 1)


class CopyPipe:
    """COPY statements (and others: ``put_query``) run on ``cr`` by a second thread, in the order given, while the
    caller builds the next rows.

    Most of a bulk write's time is the database's: inserting, updating the indexes and checking every foreign key
    of every row. Meanwhile psycopg2 waits without the GIL, so the caller formats the next batch in parallel (the
    server and Python on two cores). The statements run one after another in one transaction, as ``copy_rows``
    would run them, so a row may refer to a row of an earlier ``put``. The caller must not use ``cr`` (nor the
    ORM, which may query) inside the ``with`` block; the first error of a COPY is raised at its end::

        with CopyPipe(cr) as pipe:
            for batch in batches:
                pipe.put(table, columns, rows_of(batch))
    """

    QUEUED = 2  # texts formatted ahead: memory stays a few batches

    def __init__(self, cr):
        self.cr = cr
        self.error = None
        self._queue = queue.Queue(maxsize=self.QUEUED)
        self._thread = threading.Thread(target=self._run, name="copy-pipe", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def put(self, table, columns, rows):
        """Queue ``rows`` (as ``copy_rows``) for ``table``; raise the error of an earlier statement, if any."""
        if self.error is not None:
            raise self.error
        if rows:
            self._queue.put((_copy_csv, (self.cr, table, columns, _csv_text(rows))))

    def put_query(self, query, params=None):
        """Queue a statement (what ``cr.execute`` takes), run in its turn after the COPYs queued before it."""
        if self.error is not None:
            raise self.error
        self._queue.put((self.cr.execute, (query, params) if params is not None else (query,)))

    def _run(self):
        while (item := self._queue.get()) is not None:
            if self.error is None:  # after an error the transaction is aborted: the rest is dropped
                function, args = item
                try:
                    function(*args)
                except Exception as error:  # raised in the caller's thread, by put() or __exit__
                    self.error = error

    def __exit__(self, exc_type, exc, traceback):
        self._queue.put(None)
        self._thread.join()
        if self.error is not None and exc_type is None:
            raise self.error


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


# What a module may say of a field defined elsewhere without changing the value a new row gets
SELECTION_EXTENSION = frozenset({"selection_add", "ondelete"})


def field_redefined_by(model, field, counts):
    """Whether a module that ``counts(module name)`` says to look at defines or redefines ``field`` (of any model;
    ``model``: a recordset, for its environment) beyond adding values to its selection (as snailmail or sms add
    theirs to ``mail.message.message_type``): only then may rows written with SQL miss what that module wants."""
    from odoo.models import is_definition_class  # noqa: PLC0415  (this module is plain psycopg2 otherwise)

    for cls in type(model.env[field.model_name]).__mro__:
        definition = vars(cls).get(field.name)
        if (definition is not None and is_definition_class(cls) and hasattr(definition, "args")
                and getattr(cls, "_module", None) and counts(cls._module)
                and not set(definition.args) <= SELECTION_EXTENSION):
            return True
    return False
