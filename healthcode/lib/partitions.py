"""Monthly range partitions, on PostgreSQL, of the tables that grow with time (DESIGN: check-ins,
scans and attendance; about 3 billion check-in rows a year at 9 million residents).

Each table is partitioned by RANGE on its date (`day`) or time (`at`) with one partition per
month, named `<table>_y2026m11`, and a DEFAULT partition (`<table>_default`) that catches rows
outside the months created (old test dates, clock errors). Months are Asia/Shanghai months
(`settings.TIME_ZONE`): a `timestamptz` key is bounded at local midnight of the 1st.

- `convert_to_partitioned` / `convert_to_plain`: the migrations' work (PostgreSQL only; a no-op
  elsewhere). The database primary key becomes (id, key), since PostgreSQL wants the partition
  key in every unique constraint; Django keeps `id` as its pk, still drawn from the identity
  sequence, so ids stay unique in practice. Foreign keys can't reference a partitioned table
  by `id` alone: the relations pointing at one are declared `db_constraint=False` and Django
  applies their `on_delete` itself.
- `ensure_partitions`: create the missing months around today (idempotent; the
  `ensure_partitions` command, run daily by a timer). A month whose rows already sit in the
  DEFAULT partition gets them moved into its new partition.
- `drop_partitions_before`: retention by whole months, which costs the same for a thousand
  rows as for a hundred million (a row-wise DELETE does not).

SQLite has no partitions: every function here is a no-op there.

The migrations call `convert_to_partitioned` / `convert_to_plain`: keep their signatures.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone


@dataclass(frozen=True)
class PartitionedTable:
    """A table partitioned by month: the model, its table and the partition key's column."""

    model: str
    table: str
    column: str


TABLES: tuple[PartitionedTable, ...] = (
    PartitionedTable("checkins.CheckIn", "checkins_checkin", "day"),
    PartitionedTable("codes.Scan", "codes_scan", "at"),
    PartitionedTable("enterprises.Attendance", "enterprises_attendance", "day"),
)

# pg_advisory_xact_lock(namespace, table) serialises concurrent runs on one table.
_LOCK_NAMESPACE = 0x50415254  # "PART"
_MONTHLY = re.compile(r"_y(\d{4})m(\d{2})$")


class PartitionError(RuntimeError):
    """A table can't be (re)partitioned as asked; the message says why."""


# --- Months ---------------------------------------------------------------------------------


def month_of(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_y{month.year:04d}m{month.month:02d}"


def default_partition_name(table: str) -> str:
    return f"{table}_default"


def _bound(month: date, timestamp: bool) -> str:
    """A partition bound as an SQL literal: the date, or local midnight of it with its UTC
    offset. Written into the statement (DDL takes no parameters); it is made of digits,
    dashes, colons and a plus sign only."""
    if not timestamp:
        return f"'{month.isoformat()}'::date"
    local = datetime(month.year, month.month, 1, tzinfo=ZoneInfo(settings.TIME_ZONE))
    return f"'{local.isoformat(sep=' ')}'::timestamptz"


# --- Catalog ----------------------------------------------------------------------------------


def _qn(connection: BaseDatabaseWrapper, name: str) -> str:
    return connection.ops.quote_name(name)


def _is_partitioned(cursor, table: str) -> bool:
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
        " WHERE c.relname = %s AND pg_table_is_visible(c.oid))",
        [table],
    )
    return cursor.fetchone()[0]


def _table_exists(cursor, table: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
    return cursor.fetchone()[0]


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped ORDER BY attnum",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def _is_timestamp(cursor, table: str, column: str) -> bool:
    cursor.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attname = %s",
        [table, column],
    )
    row = cursor.fetchone()
    if row is None:
        raise PartitionError(f"{table} has no column {column}")
    return row[0].startswith("timestamp")


def _partition_key(cursor, table: str) -> str:
    cursor.execute(
        "SELECT a.attname FROM pg_partitioned_table p JOIN pg_attribute a"
        " ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]"
        " WHERE p.partrelid = %s::regclass",
        [table],
    )
    return cursor.fetchone()[0]


def _partitions(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = %s::regclass ORDER BY c.relname",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def monthly_partitions(table: str, *, using: str = DEFAULT_DB_ALIAS) -> dict[date, str]:
    """The monthly partitions of `table`, by month (empty when it isn't partitioned)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        if not _is_partitioned(cursor, table):
            return {}
        found = {}
        for name in _partitions(cursor, table):
            match = _MONTHLY.search(name)
            if match and name == partition_name(table, date(int(match[1]), int(match[2]), 1)):
                found[date(int(match[1]), int(match[2]), 1)] = name
        return found


def is_partitioned(table: str, *, using: str = DEFAULT_DB_ALIAS) -> bool:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        return _is_partitioned(cursor, table)


# --- Converting a table (the migrations) ----------------------------------------------------


def convert_to_partitioned(
    connection: BaseDatabaseWrapper,
    table: str,
    column: str,
    *,
    months_back: int = 1,
    months_ahead: int = 3,
) -> None:
    """Rebuild `table` as a table partitioned by month on `column`, with its rows, indexes,
    constraints and identity sequence, a DEFAULT partition, and monthly partitions for the
    months that have rows and those around today. A no-op unless on PostgreSQL, and when the
    table is partitioned already. Refuses while foreign keys still reference the table."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if _is_partitioned(cursor, table):
            return
        cursor.execute(
            "SELECT conname, conrelid::regclass::text FROM pg_constraint"
            " WHERE confrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [table],
        )
        incoming = [f"{name} on {source}" for name, source in cursor.fetchall()]
        if incoming:
            raise PartitionError(
                f"{table} is referenced by foreign keys ({', '.join(incoming)}): a partitioned "
                "table can't be referenced by its id alone; declare them db_constraint=False first"
            )
        timestamp = _is_timestamp(cursor, table, column)
        tz = settings.TIME_ZONE
        key = _qn(connection, column)
        month_sql = (
            f"date_trunc('month', {key} AT TIME ZONE %s)::date"
            if timestamp
            else f"date_trunc('month', {key})::date"
        )
        cursor.execute(
            f"SELECT DISTINCT {month_sql} FROM {_qn(connection, table)}",
            [tz] if timestamp else [],
        )
        months = {row[0] for row in cursor.fetchall()}
        this_month = month_of(timezone.localdate())
        months.update(add_months(this_month, n) for n in range(-months_back, months_ahead + 1))
        _rebuild(connection, cursor, table, column, partition_months=sorted(months))


def convert_to_plain(connection: BaseDatabaseWrapper, table: str, column: str) -> None:
    """The reverse of `convert_to_partitioned`: one plain table again, primary key `id`."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if not _is_partitioned(cursor, table):
            return
        _rebuild(connection, cursor, table, column, partition_months=None)


def _rebuild(
    connection: BaseDatabaseWrapper,
    cursor,
    table: str,
    column: str,
    *,
    partition_months: list[date] | None,
) -> None:
    """Rename `table` away, create it anew (partitioned when `partition_months` is a list),
    copy the rows, drop the old one, then put back its primary key (with or without the
    partition key), constraints, indexes and the identity sequence's position."""
    q = connection.ops.quote_name
    partitioned = partition_months is not None
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid), ARRAY(SELECT attname FROM"
        " pg_attribute WHERE attrelid = conrelid AND attnum = ANY(conkey)) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f', 'x') ORDER BY conname",
        [table],
    )
    constraints = cursor.fetchall()
    primary = [(name, definition) for name, kind, definition, _ in constraints if kind == "p"]
    others = [(name, definition) for name, kind, definition, _ in constraints if kind != "p"]
    if len(primary) != 1:
        raise PartitionError(f"{table} has no primary key")
    pk_name = primary[0][0]
    cursor.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
        " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary"
        " ORDER BY array_position(i.indkey, a.attnum)",
        [table],
    )
    pk_columns = [row[0] for row in cursor.fetchall() if row[0] != column]
    if partitioned:
        pk_columns.append(column)
        for name, kind, definition, keys in constraints:
            if kind in ("u", "x") and column not in keys:
                raise PartitionError(
                    f"the unique constraint {name} on {table} ({definition}) lacks the "
                    f"partition key {column}: PostgreSQL can't enforce it on a partitioned table"
                )
    # Indexes that don't back a constraint, as their CREATE INDEX statements (which name the
    # table, not its temporary name: they are read before the rename).
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = %s::regclass AND NOT EXISTS"
        " (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid"
        "  AND k.conrelid = i.indrelid) ORDER BY c.relname",
        [table],
    )
    indexes = [row[0] for row in cursor.fetchall()]
    columns = _columns(cursor, table)
    column_list = ", ".join(q(c) for c in columns)
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cursor.fetchone()[0]
    state = None
    old = f"{table}__old"
    if sequence:
        cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
        state = cursor.fetchone()
    cursor.execute(f"ALTER TABLE {q(table)} RENAME TO {q(old)}")
    if sequence:
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {q(old + '_id_seq')}")
    like = (
        f"CREATE TABLE {q(table)} (LIKE {q(old)} INCLUDING DEFAULTS INCLUDING IDENTITY"
        " INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)"
    )
    if partitioned:
        cursor.execute(f"{like} PARTITION BY RANGE ({q(column)})")
        cursor.execute(
            f"CREATE TABLE {q(default_partition_name(table))} PARTITION OF {q(table)} DEFAULT"
        )
        timestamp = _is_timestamp(cursor, table, column)
        for month in partition_months:
            low, high = _bound(month, timestamp), _bound(add_months(month, 1), timestamp)
            cursor.execute(
                f"CREATE TABLE {q(partition_name(table, month))} PARTITION OF {q(table)}"
                f" FOR VALUES FROM ({low}) TO ({high})"
            )
    else:
        cursor.execute(like)
    cursor.execute(f"INSERT INTO {q(table)} ({column_list}) SELECT {column_list} FROM {q(old)}")
    # Drops the partitions of a partitioned old table, and its identity sequence.
    cursor.execute(f"DROP TABLE {q(old)}")
    cursor.execute(
        f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(pk_name)}"
        f" PRIMARY KEY ({', '.join(q(c) for c in pk_columns)})"
    )
    for name, definition in others:
        cursor.execute(f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(name)} {definition}")
    for definition in indexes:
        cursor.execute(definition)
    if state is not None:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, %s)", [table, state[0], state[1]]
        )


# --- Keeping the months ahead ---------------------------------------------------------------


def _lock(cursor, table: str) -> None:
    cursor.execute(
        "SELECT pg_advisory_xact_lock(%s, %s)",
        [_LOCK_NAMESPACE, zlib.crc32(table.encode()) & 0x7FFFFFFF],
    )


def create_partition(
    table: str, month: date, *, using: str = DEFAULT_DB_ALIAS
) -> tuple[str, int] | None:
    """Create `table`'s partition for `month` unless it exists: (its name, the rows moved into
    it from the DEFAULT partition), or None when there was nothing to do.

    PostgreSQL refuses a new partition whose range has rows in the DEFAULT partition, so those
    rows move first: the new month is built as a plain table, the rows are moved into it
    (DELETE … RETURNING, one statement), and it is attached — all in one transaction. ATTACH
    also takes a lighter lock on the parent than CREATE TABLE … PARTITION OF (SHARE UPDATE
    EXCLUSIVE rather than ACCESS EXCLUSIVE): reads and writes of other months go on; it scans
    the DEFAULT partition under an exclusive lock, which is why that one should stay small."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    q = connection.ops.quote_name
    name = partition_name(table, month)
    default = default_partition_name(table)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if not _is_partitioned(cursor, table):
            return None
        _lock(cursor, table)
        if _table_exists(cursor, name):
            return None
        column = _partition_key(cursor, table)
        timestamp = _is_timestamp(cursor, table, column)
        low, high = _bound(month, timestamp), _bound(add_months(month, 1), timestamp)
        cursor.execute(
            f"CREATE TABLE {q(name)} (LIKE {q(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
            " INCLUDING STORAGE INCLUDING COMMENTS)"
        )
        moved = 0
        if _table_exists(cursor, default):
            columns = ", ".join(q(c) for c in _columns(cursor, table))
            cursor.execute(
                f"WITH moved AS (DELETE FROM {q(default)} WHERE {q(column)} >= {low}"
                f" AND {q(column)} < {high} RETURNING {columns})"
                f" INSERT INTO {q(name)} ({columns}) SELECT {columns} FROM moved"
            )
            moved = max(cursor.rowcount, 0)
        connection.check_constraints()  # as in drop_partitions_before
        cursor.execute(
            f"ALTER TABLE {q(table)} ATTACH PARTITION {q(name)} FOR VALUES FROM ({low}) TO ({high})"
        )
    return name, moved


@dataclass(frozen=True)
class Created:
    """A partition `ensure_partitions` created, with the rows it took over from DEFAULT."""

    table: str
    name: str
    month: date
    moved: int


def ensure_partitions(
    months_ahead: int = 3,
    months_back: int = 1,
    *,
    today: date | None = None,
    tables: Iterable[str] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> list[Created]:
    """Create the missing monthly partitions from `months_back` months before today's month
    to `months_ahead` months after it, for every partitioned table (or those named): what it
    created, in order. Idempotent; a no-op (an empty list) on SQLite and for tables the
    migrations have not partitioned."""
    if connections[using].vendor != "postgresql":
        return []
    this_month = month_of(today or timezone.localdate())
    months = [add_months(this_month, n) for n in range(-months_back, months_ahead + 1)]
    wanted = set(tables) if tables is not None else None
    created: list[Created] = []
    for entry in TABLES:
        if wanted is not None and entry.table not in wanted:
            continue
        if not is_partitioned(entry.table, using=using):
            continue
        for month in months:
            result = create_partition(entry.table, month, using=using)
            if result is not None:
                created.append(Created(entry.table, result[0], month, result[1]))
    return created


# --- Retention --------------------------------------------------------------------------------


def drop_partitions_before(
    month: date, *, tables: Iterable[str] | None = None, using: str = DEFAULT_DB_ALIAS
) -> list[str]:
    """Drop the monthly partitions that end on or before the 1st of `month` (retention by
    whole months): their names, in order. The rows of other models that point at the dropped
    rows without a database constraint get their `on_delete` applied first (CASCADE deletes
    them through the ORM, SET_NULL clears the reference); PROTECT or RESTRICT refuse.
    Rows of those months still in the DEFAULT partition are left to the row-wise purge."""
    from django.apps import apps
    from django.db import models
    from django.db.models.expressions import RawSQL

    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    q = connection.ops.quote_name
    cutoff = month_of(month)
    wanted = set(tables) if tables is not None else None
    dropped: list[str] = []
    for entry in TABLES:
        if wanted is not None and entry.table not in wanted:
            continue
        old = sorted(
            (m, name)
            for m, name in monthly_partitions(entry.table, using=using).items()
            if add_months(m, 1) <= cutoff
        )
        if not old:
            continue
        model = apps.get_model(entry.model)
        pk = model._meta.pk.column
        for _month, name in old:
            with transaction.atomic(using=using):
                with connection.cursor() as cursor:
                    _lock(cursor, entry.table)
                ids = RawSQL(f"SELECT {q(pk)} FROM {q(name)}", [])  # noqa: S611
                # As Django's deletion collector finds them (hidden `related_name="+"` too).
                for relation in model._meta.get_fields(include_hidden=True):
                    if not (
                        relation.auto_created
                        and not relation.concrete
                        and (relation.one_to_one or relation.one_to_many)
                    ):
                        continue
                    related = relation.related_model._base_manager.using(using).filter(
                        **{f"{relation.field.attname}__in": ids}
                    )
                    if relation.on_delete is models.CASCADE:
                        related.delete()
                    elif relation.on_delete is models.SET_NULL:
                        related.update(**{relation.field.attname: None})
                    elif relation.on_delete is not models.DO_NOTHING and related.exists():
                        raise PartitionError(
                            f"{relation.related_model._meta.label} protects rows of {name}"
                        )
                # DDL refuses a table with deferred foreign-key checks pending in this
                # transaction (when called inside a larger one): run them now.
                connection.check_constraints()
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP TABLE {q(name)}")
            dropped.append(name)
    return dropped
