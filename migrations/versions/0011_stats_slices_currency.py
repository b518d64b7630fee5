"""0011: /stats rollups per 10-minute slice of the UTC day too, and money per currency.

Revision ID: 0011
Revises: 0010

Slices: a window starts at any moment of any day. With daily rows only, /stats scanned up to
half a day of clicks, orders and ledger entries at the window's start (75–145 ms on
PostgreSQL at 5 M clicks / 1 M orders). ``stats_slices`` keeps the same rollups per (day,
minute) where ``minute`` is the first minute of the day's 10-minute slice (0, 10, … 1430).
/stats reads the whole days from ``stats_days``, that first day's whole slices from
``stats_slices``, and scans at most five minutes of rows.

Currency: orders and ledger entries are booked in [commission].currency, but rows booked
before an operator changed it (or by versions before conversion at booking) keep their own.
Summing them as one figure would add yuan to dollars, so money metrics carry the row's
currency: 'gmv:CNY', 'earn:promoter:CNY'.

The triggers of 0008 are replaced (same names), and both tables are rebuilt from the rows in
this transaction; on PostgreSQL writers to the five tables wait until it commits.
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
EARNING = "('pending', 'confirmed', 'payable', 'paid')"
COUNTED = "('pending', 'confirmed')"
COLUMNS = {
    'clicks': ('created_at', 'is_bot'),
    'taps': ('created_at',),
    'posts': ('created_at', 'status'),
    'orders': ('id', 'ordered_at', 'status', 'amount', 'currency'),
    'ledger_entries': ('order_id', 'party', 'bucket', 'amount', 'currency'),
}
LEDGER_JOIN = '{src} JOIN ledger_entries l ON l.order_id = r.id'


def parts(table: str, new: bool) -> list[tuple[str, str, str, str, str]]:
    """What a set of a table's rows ``r`` adds: (metric, n, time, from, where) per part."""
    gmv = "'gmv:' || r.currency" if new else "'gmv'"
    order_earn = "'earn:' || l.party || ':' || l.currency" if new else "'earn:' || l.party"
    entry_earn = "'earn:' || r.party || ':' || r.currency" if new else "'earn:' || r.party"
    return {
        'clicks': [("CASE WHEN r.is_bot THEN 'bot_hits' ELSE 'clicks' END", 'count(*)', 'r.created_at',
                    '{src}', 'true')],
        'taps': [("'taps'", 'count(*)', 'r.created_at', '{src}', 'true')],
        'posts': [("'posts'", 'count(*)', 'r.created_at', '{src}', "r.status = 'sent'")],
        'orders': [
            ("'orders'", 'count(*)', 'r.ordered_at', '{src}', f'r.status IN {COUNTED}'),
            (gmv, 'sum(r.amount)', 'r.ordered_at', '{src}', f'r.status IN {COUNTED}'),
            # An order whose ordered_at moves carries its earnings to the new day.
            (order_earn, 'sum(l.amount)', 'r.ordered_at', LEDGER_JOIN, f'l.bucket IN {EARNING}'),
        ],
        'ledger_entries': [(entry_earn, 'sum(r.amount)', 'o.ordered_at',
                            '{src} JOIN orders o ON o.id = r.order_id', f'r.bucket IN {EARNING}')],
    }[table]


def contributions(table: str, src: str, new: bool, pg: bool, sign: str = '', backfill: bool = False) -> str:
    """The union of (day[, hour], metric, n) the rows in ``src`` add, signed. A backfill leaves
    out what an order carries of its ledger entries: the ledger's own part counts them."""
    selects = []
    for metric, n, at, source, where in parts(table, new):
        if backfill and source == LEDGER_JOIN:
            continue
        day = f'stats_day({at})' if pg else f'date({at})'
        minute = (f'stats_slice({at})' if pg else
                  f"(CAST(strftime('%H', {at}) AS INTEGER) * 60 + CAST(strftime('%M', {at}) AS INTEGER) / 10 * 10)")
        keys = f'{day} AS day, {minute} AS minute' if new else f'{day} AS day'
        group = '1, 2, 3' if new else '1, 2'
        selects.append(f'SELECT {keys}, {metric} AS metric, {n} AS n FROM {source.format(src=src)}'
                       f' WHERE {where} GROUP BY {group}')
    cols = 'day, minute, metric' if new else 'day, metric'
    return ' UNION ALL '.join(f'SELECT {cols}, {sign}n AS n FROM ({s}) AS part' for s in selects)


def upsert(table: str, keys: str, select_sql: str, slot: str) -> str:
    """Add the summed rows of ``select_sql`` (keys..., n) into ``table``."""
    return (
        f'INSERT INTO {table} ({keys}, slot, n) SELECT {keys}, {slot}, sum(n)'
        f' FROM ({select_sql}) AS c GROUP BY {keys} HAVING sum(n) <> 0'
        f' ON CONFLICT ({keys}, slot) DO UPDATE SET n = {table}.n + excluded.n'
    )


def statements(select_sql: str, new: bool, slot: str) -> list[str]:
    """The upserts a trigger runs for its contributions: slices and days, or days only."""
    if not new:
        return [upsert('stats_days', 'day, metric', select_sql, slot)]
    return [upsert('stats_slices', 'day, minute, metric', select_sql, slot),
            upsert('stats_days', 'day, metric', f'SELECT day, metric, n FROM ({select_sql}) AS m', slot)]


def pg_statement(select_sql: str, new: bool, slot: str) -> str:
    """One statement for PostgreSQL: the transition tables are read once for both tables."""
    if not new:
        return upsert('stats_days', 'day, metric', select_sql, slot)
    slices = upsert('stats_slices', 'day, minute, metric', 'SELECT * FROM c', slot)
    days = upsert('stats_days', 'day, metric', 'SELECT day, metric, n FROM c', slot)
    return f'WITH c AS ({select_sql}), m AS ({slices}) {days}'


def rebuild(new: bool) -> None:
    pg = op.get_bind().dialect.name == 'postgresql'
    if pg:
        op.execute('LOCK TABLE clicks, taps, posts, orders, ledger_entries IN SHARE ROW EXCLUSIVE MODE')
    for table, columns in COLUMNS.items():
        if pg:
            plus = contributions(table, 'new_rows AS r', new, pg)
            minus = contributions(table, 'old_rows AS r', new, pg, '-')
            slot = 'txid_current()'
            # The statement-level triggers of 0008 call this function by name and stay.
            op.execute(
                f'CREATE OR REPLACE FUNCTION stats_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN'
                f" IF TG_OP = 'INSERT' THEN {pg_statement(plus, new, slot)};"
                f" ELSIF TG_OP = 'DELETE' THEN {pg_statement(minus, new, slot)};"
                f' ELSE {pg_statement(plus + " UNION ALL " + minus, new, slot)}; END IF;'
                ' RETURN NULL; END $$'
            )
            continue

        def row(ref: str) -> str:
            return '(SELECT ' + ', '.join(f'{ref}.{c} AS {c}' for c in columns) + ') AS r'

        plus = contributions(table, row('NEW'), new, pg)
        minus = contributions(table, row('OLD'), new, pg, '-')
        for event, body in (('INSERT', plus), ('DELETE', minus), ('UPDATE', plus + ' UNION ALL ' + minus)):
            op.execute(f'DROP TRIGGER IF EXISTS stats_{table}_{event.lower()}')
            op.execute(
                f'CREATE TRIGGER stats_{table}_{event.lower()} AFTER {event} ON {table} FOR EACH ROW BEGIN '
                + '; '.join(statements(body, new, '0')) + '; END'
            )
    op.execute('DELETE FROM stats_days')
    if not new:
        for table in COLUMNS:
            op.execute(upsert('stats_days', 'day, metric',
                              contributions(table, f'{table} AS r', new, pg, backfill=True), '0'))
        return
    for table in COLUMNS:
        op.execute(upsert('stats_slices', 'day, minute, metric',
                          contributions(table, f'{table} AS r', new, pg, backfill=True), '0'))
    op.execute(upsert('stats_days', 'day, metric', 'SELECT day, metric, n FROM stats_slices', '0'))


def upgrade() -> None:
    op.create_table(
        'stats_slices',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('minute', sa.SmallInteger(), nullable=False),
        sa.Column('metric', sa.String(length=32), nullable=False),
        sa.Column('slot', BIGINT, nullable=False),
        sa.Column('n', BIGINT, nullable=False),
        sa.PrimaryKeyConstraint('day', 'minute', 'metric', 'slot', name=op.f('pk_stats_slices')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE FUNCTION stats_slice(ts timestamptz) RETURNS smallint LANGUAGE sql IMMUTABLE"
            " AS $$ SELECT (extract(hour FROM ts AT TIME ZONE 'UTC') * 60"
            " + floor(extract(minute FROM ts AT TIME ZONE 'UTC') / 10) * 10)::smallint $$"
        )
    rebuild(new=True)


def downgrade() -> None:
    rebuild(new=False)
    op.drop_table('stats_slices')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION stats_slice(timestamptz)')
