"""0008: stats_days, the daily rollups behind /stats, kept by triggers and backfilled.

Revision ID: 0008
Revises: 0007

Triggers keep the rollups in the same transaction as every write to clicks, taps, posts,
orders and ledger_entries, whatever code path makes it, so the rollups cannot drift from the
rows. On SQLite (one writer) each write adds into the day's single row (slot 0). On
PostgreSQL each transaction adds into rows of its own (slot = its transaction id): writers
never wait on each other's hot "today" row and cannot deadlock on it; a compaction folds
committed slots into slot 0 (ReportService.compact_rollups).
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
EARNING = "('pending', 'confirmed', 'payable', 'paid')"
COUNTED = "('pending', 'confirmed')"

# Per table: the columns a trigger passes on, and what a set of its rows `r` adds to the
# rollups as (day, metric, n). {day} turns a timestamp into its UTC day.
TABLES = {
    'clicks': (('created_at', 'is_bot'), [
        "SELECT {day}(r.created_at) AS day, CASE WHEN r.is_bot THEN 'bot_hits' ELSE 'clicks' END"
        " AS metric, count(*) AS n FROM {src} GROUP BY 1, 2",
    ]),
    'taps': (('created_at',), [
        "SELECT {day}(r.created_at) AS day, 'taps' AS metric, count(*) AS n FROM {src} GROUP BY 1",
    ]),
    'posts': (('created_at', 'status'), [
        "SELECT {day}(r.created_at) AS day, 'posts' AS metric, count(*) AS n FROM {src}"
        " WHERE r.status = 'sent' GROUP BY 1",
    ]),
    'orders': (('id', 'ordered_at', 'status', 'amount'), [
        "SELECT {day}(r.ordered_at) AS day, 'orders' AS metric, count(*) AS n FROM {src}"
        f" WHERE r.status IN {COUNTED} GROUP BY 1",
        "SELECT {day}(r.ordered_at) AS day, 'gmv' AS metric, sum(r.amount) AS n FROM {src}"
        f" WHERE r.status IN {COUNTED} GROUP BY 1",
        # An order whose ordered_at moves carries its earnings to the new day.
        "SELECT {day}(r.ordered_at) AS day, 'earn:' || l.party AS metric, sum(l.amount) AS n"
        " FROM {src} JOIN ledger_entries l ON l.order_id = r.id"
        f" WHERE l.bucket IN {EARNING} GROUP BY 1, 2",
    ]),
    'ledger_entries': (('order_id', 'party', 'bucket', 'amount'), [
        "SELECT {day}(o.ordered_at) AS day, 'earn:' || r.party AS metric, sum(r.amount) AS n"
        " FROM {src} JOIN orders o ON o.id = r.order_id"
        f" WHERE r.bucket IN {EARNING} GROUP BY 1, 2",
    ]),
}

SQLITE_DAY = 'date'
PG_DAY = 'stats_day'


def contributions(table: str, src: str, day: str, sign: str = '', backfill: bool = False) -> str:
    """The union of a table's contributions from the rows in ``src``, signed.

    A backfill leaves out what an order carries of its ledger entries: the ledger's own part
    counts those once already."""
    parts = [p.format(day=day, src=src) for p in TABLES[table][1]
             if not (backfill and 'JOIN ledger_entries' in p)]
    body = ' UNION ALL '.join(f'SELECT day, metric, {sign}n AS n FROM ({p}) AS part' for p in parts)
    return body


def upsert(select_sql: str, slot: str) -> str:
    """Add the summed (day, metric, n) rows of ``select_sql`` into stats_days."""
    return (
        f'INSERT INTO stats_days (day, metric, slot, n) SELECT day, metric, {slot}, sum(n)'
        f' FROM ({select_sql}) AS c GROUP BY day, metric HAVING sum(n) <> 0'
        ' ON CONFLICT (day, metric, slot) DO UPDATE SET n = stats_days.n + excluded.n'
    )


def sqlite_row(table: str, ref: str) -> str:
    cols = ', '.join(f'{ref}.{c} AS {c}' for c in TABLES[table][0])
    return f'(SELECT {cols}) AS r'


def upgrade() -> None:
    op.create_table(
        'stats_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('metric', sa.String(length=32), nullable=False),
        sa.Column('slot', BIGINT, nullable=False),
        sa.Column('n', BIGINT, nullable=False),
        sa.PrimaryKeyConstraint('day', 'metric', 'slot', name=op.f('pk_stats_days')),
    )
    # /stats scans only the window's first, partial day: these make that a range, not a scan.
    op.create_index('ix_clicks_created_bot', 'clicks', ['created_at', 'is_bot'])
    op.create_index('ix_orders_ordered_status', 'orders', ['ordered_at', 'status', 'amount'])
    op.create_index('ix_posts_created_status', 'posts', ['created_at', 'status'])
    op.create_index('ix_taps_created_at', 'taps', ['created_at'])
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute(
            "CREATE FUNCTION stats_day(ts timestamptz) RETURNS date LANGUAGE sql IMMUTABLE"
            " AS $$ SELECT (ts AT TIME ZONE 'UTC')::date $$"
        )
    day = PG_DAY if dialect == 'postgresql' else SQLITE_DAY
    for table in TABLES:
        if dialect == 'postgresql':
            plus = contributions(table, 'new_rows AS r', day)
            minus = contributions(table, 'old_rows AS r', day, '-')
            slot = 'txid_current()'
            op.execute(
                f'CREATE FUNCTION stats_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN'
                f" IF TG_OP = 'INSERT' THEN {upsert(plus, slot)};"
                f" ELSIF TG_OP = 'DELETE' THEN {upsert(minus, slot)};"
                f' ELSE {upsert(plus + " UNION ALL " + minus, slot)}; END IF;'
                ' RETURN NULL; END $$'
            )
            # Statement-level with transition tables: one grouped upsert per batch insert.
            for event, refs in (('INSERT', 'NEW TABLE AS new_rows'),
                                ('UPDATE', 'OLD TABLE AS old_rows NEW TABLE AS new_rows'),
                                ('DELETE', 'OLD TABLE AS old_rows')):
                op.execute(
                    f'CREATE TRIGGER stats_{table}_{event.lower()} AFTER {event} ON {table}'
                    f' REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION stats_{table}()'
                )
        else:
            plus = contributions(table, sqlite_row(table, 'NEW'), day)
            minus = contributions(table, sqlite_row(table, 'OLD'), day, '-')
            for event, body in (('INSERT', plus), ('DELETE', minus),
                                ('UPDATE', plus + ' UNION ALL ' + minus)):
                op.execute(
                    f'CREATE TRIGGER stats_{table}_{event.lower()} AFTER {event} ON {table}'
                    f' FOR EACH ROW BEGIN {upsert(body, "0")}; END'
                )
    # Backfill from the rows already there, in this same transaction.
    for table in TABLES:
        op.execute(upsert(contributions(table, f'{table} AS r', day, backfill=True), '0'))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for event in ('insert', 'update', 'delete'):
            op.execute(f'DROP TRIGGER IF EXISTS stats_{table}_{event}'
                       + (f' ON {table}' if dialect == 'postgresql' else ''))
        if dialect == 'postgresql':
            op.execute(f'DROP FUNCTION IF EXISTS stats_{table}()')
    if dialect == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS stats_day(timestamptz)')
    op.drop_table('stats_days')
    for table, index in (('clicks', 'ix_clicks_created_bot'), ('orders', 'ix_orders_ordered_status'),
                         ('posts', 'ix_posts_created_status'), ('taps', 'ix_taps_created_at')):
        op.drop_index(index, table_name=table)
