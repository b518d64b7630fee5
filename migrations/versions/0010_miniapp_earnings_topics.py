"""0010: earning_days, each person's ledger summed per currency, bucket, group and order day;
activity_counts, each promoter's human clicks and live orders; group_topics, the forum topics
the bot has seen in each group (the mini app's topic choice).

Revision ID: 0010
Revises: 0009

The mini app's dashboard reads a promoter's balances, per-group earnings, last 7/30 days and
the daily chart from these sums instead of every ledger entry. Like stats_days (0008),
triggers keep them in the same transaction as every write to ledger_entries, and to the
ordered_at or group_id of an order (which carries its entries to the new day or group),
whatever code path makes it. On SQLite (one writer) a write adds into slot 0. On PostgreSQL
each transaction adds into rows of its own (slot = its transaction id), so two bookings for
one person never wait on or deadlock over a shared row; DashboardService.compact_earnings
folds committed slots into slot 0. Entries without an order (none are booked so) are kept
under group 0 and day 1970-01-01, outside every window, as the full recomputation sees them.
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
KEY = 'user_id, currency, bucket, group_id, day'
NO_DAY = {'postgresql': "DATE '1970-01-01'", 'sqlite': "'1970-01-01'"}
DAY = {'postgresql': 'stats_day', 'sqlite': 'date'}  # stats_day: migration 0008, UTC day

# What a set of ledger rows `r` adds (joined to their orders `o`)...
LEDGER = ("SELECT r.user_id AS user_id, r.currency AS currency, r.bucket AS bucket,"
          " coalesce(o.group_id, 0) AS group_id, coalesce({day}(o.ordered_at), {no_day}) AS day,"
          " {sign}r.amount AS amount FROM {src} LEFT JOIN orders o ON o.id = r.order_id"
          " WHERE r.user_id IS NOT NULL")
# ...and what a set of order rows `o` carries of its entries (the ledger rows `r`).
ORDERS = ("SELECT r.user_id AS user_id, r.currency AS currency, r.bucket AS bucket,"
          " coalesce(o.group_id, 0) AS group_id, coalesce({day}(o.ordered_at), {no_day}) AS day,"
          " {sign}r.amount AS amount FROM {src} JOIN ledger_entries r ON r.order_id = o.id"
          " WHERE r.user_id IS NOT NULL")


# Per table, what a set of its rows `r` adds to activity_counts as (user_id, metric, n).
ACTIVITY = {
    'clicks': ("SELECT l.promoter_id AS user_id, 'clicks' AS metric, {sign}count(*) AS n FROM {src}"
               " JOIN links l ON l.id = r.link_id WHERE NOT r.is_bot AND l.promoter_id IS NOT NULL"
               " GROUP BY l.promoter_id"),
    'orders': ("SELECT r.promoter_id AS user_id, 'orders' AS metric, {sign}count(*) AS n FROM {src}"
               " WHERE r.status IN ('pending', 'confirmed') AND r.promoter_id IS NOT NULL"
               " GROUP BY r.promoter_id"),
    # A link whose promoter changes (none does) carries its clicks along.
    'links': ("SELECT r.promoter_id AS user_id, 'clicks' AS metric, {sign}count(*) AS n FROM {src}"
              " JOIN clicks c ON c.link_id = r.id WHERE NOT c.is_bot AND r.promoter_id IS NOT NULL"
              " GROUP BY r.promoter_id"),
}
ACTIVITY_COLUMNS = {'clicks': ('link_id', 'is_bot'), 'orders': ('promoter_id', 'status'),
                    'links': ('id', 'promoter_id')}


def count_upsert(select_sql: str, slot: str) -> str:
    """Add the summed (user_id, metric, n) rows of ``select_sql`` into activity_counts."""
    return ('INSERT INTO activity_counts (user_id, metric, slot, n) SELECT user_id, metric,'
            f' {slot}, sum(n) FROM ({select_sql}) AS c GROUP BY user_id, metric HAVING sum(n) <> 0'
            ' ON CONFLICT (user_id, metric, slot) DO UPDATE SET n = activity_counts.n + excluded.n')


def activity(table: str, src: str, sign: str = '') -> str:
    return ACTIVITY[table].format(src=src, sign=sign)


def upsert(select_sql: str, slot: str) -> str:
    """Add the summed rows of ``select_sql`` into earning_days."""
    return (f'INSERT INTO earning_days ({KEY}, slot, amount) SELECT {KEY}, {slot}, sum(amount)'
            f' FROM ({select_sql}) AS c GROUP BY {KEY} HAVING sum(amount) <> 0'
            f' ON CONFLICT ({KEY}, slot) DO UPDATE SET amount = earning_days.amount + excluded.amount')


def part(template: str, dialect: str, src: str, sign: str = '') -> str:
    return template.format(day=DAY[dialect], no_day=NO_DAY[dialect], src=src, sign=sign)


def upgrade() -> None:
    op.create_table(
        'earning_days',
        sa.Column('user_id', BIGINT, nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('bucket', sa.String(length=16), nullable=False),
        sa.Column('group_id', BIGINT, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('slot', BIGINT, nullable=False),
        sa.Column('amount', BIGINT, nullable=False),
        sa.PrimaryKeyConstraint('user_id', 'currency', 'bucket', 'group_id', 'day', 'slot',
                                name=op.f('pk_earning_days')),
    )
    op.create_table(
        'group_topics',
        sa.Column('group_id', BIGINT, nullable=False),
        sa.Column('thread_id', BIGINT, nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_group_topics_group_id_groups')),
        sa.PrimaryKeyConstraint('group_id', 'thread_id', name=op.f('pk_group_topics')),
    )
    op.create_table(
        'activity_counts',
        sa.Column('user_id', BIGINT, nullable=False),
        sa.Column('metric', sa.String(length=16), nullable=False),
        sa.Column('slot', BIGINT, nullable=False),
        sa.Column('n', BIGINT, nullable=False),
        sa.PrimaryKeyConstraint('user_id', 'metric', 'slot', name=op.f('pk_activity_counts')),
    )
    # A topic chosen before the bot kept topics stays one the owner can choose.
    op.execute("INSERT INTO group_topics (group_id, thread_id, name, seen_at)"
               " SELECT id, topic_id, '#' || topic_id, CURRENT_TIMESTAMP FROM groups"
               " WHERE topic_id IS NOT NULL")
    # The dashboard's order count reads this index alone, not the order rows.
    op.create_index('ix_orders_promoter_status', 'orders', ['promoter_id', 'status'])
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        slot = 'txid_current()'
        plus = part(LEDGER, dialect, 'new_rows AS r')
        minus = part(LEDGER, dialect, 'old_rows AS r', '-')
        op.execute(
            'CREATE FUNCTION earning_days_ledger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN'
            f" IF TG_OP = 'INSERT' THEN {upsert(plus, slot)};"
            f" ELSIF TG_OP = 'DELETE' THEN {upsert(minus, slot)};"
            f' ELSE {upsert(plus + " UNION ALL " + minus, slot)}; END IF;'
            ' RETURN NULL; END $$')
        for event, refs in (('INSERT', 'NEW TABLE AS new_rows'),
                            ('UPDATE', 'OLD TABLE AS old_rows NEW TABLE AS new_rows'),
                            ('DELETE', 'OLD TABLE AS old_rows')):
            op.execute(f'CREATE TRIGGER earning_days_ledger_{event.lower()} AFTER {event}'
                       f' ON ledger_entries REFERENCING {refs} FOR EACH STATEMENT'
                       ' EXECUTE FUNCTION earning_days_ledger()')
        # Orders: only those whose day or group changed carry their entries over.
        moved = ('(SELECT n.* FROM new_rows n JOIN old_rows p ON p.id = n.id WHERE'
                 ' n.ordered_at IS DISTINCT FROM p.ordered_at OR n.group_id IS DISTINCT FROM p.group_id)')
        was = ('(SELECT p.* FROM old_rows p JOIN new_rows n ON n.id = p.id WHERE'
               ' n.ordered_at IS DISTINCT FROM p.ordered_at OR n.group_id IS DISTINCT FROM p.group_id)')
        op.execute(
            'CREATE FUNCTION earning_days_orders() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN '
            + upsert(part(ORDERS, dialect, f'{moved} AS o') + ' UNION ALL '
                     + part(ORDERS, dialect, f'{was} AS o', '-'), slot)
            + '; RETURN NULL; END $$')
        op.execute('CREATE TRIGGER earning_days_orders_update AFTER UPDATE ON orders'
                   ' REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT'
                   ' EXECUTE FUNCTION earning_days_orders()')
    else:
        def row(ref: str) -> str:
            cols = ', '.join(f'{ref}.{c} AS {c}' for c in
                             ('user_id', 'currency', 'bucket', 'amount', 'order_id'))
            return f'(SELECT {cols}) AS r'

        plus = part(LEDGER, dialect, row('NEW'))
        minus = part(LEDGER, dialect, row('OLD'), '-')
        for event, body in (('INSERT', plus), ('DELETE', minus),
                            ('UPDATE', plus + ' UNION ALL ' + minus)):
            op.execute(f'CREATE TRIGGER earning_days_ledger_{event.lower()} AFTER {event}'
                       f' ON ledger_entries FOR EACH ROW BEGIN {upsert(body, "0")}; END')

        def order(ref: str) -> str:
            return f'(SELECT {ref}.id AS id, {ref}.group_id AS group_id, {ref}.ordered_at AS ordered_at) AS o'

        op.execute(
            'CREATE TRIGGER earning_days_orders_update AFTER UPDATE OF ordered_at, group_id ON orders'
            ' FOR EACH ROW WHEN NEW.ordered_at IS NOT OLD.ordered_at OR NEW.group_id IS NOT OLD.group_id'
            f' BEGIN {upsert(part(ORDERS, dialect, order("NEW")) + " UNION ALL " + part(ORDERS, dialect, order("OLD"), "-"), "0")}; END')
    for table in ACTIVITY:
        if dialect == 'postgresql':
            plus, minus = activity(table, 'new_rows AS r'), activity(table, 'old_rows AS r', '-')
            op.execute(
                f'CREATE FUNCTION activity_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN'
                f" IF TG_OP = 'INSERT' THEN {count_upsert(plus, 'txid_current()')};"
                f" ELSIF TG_OP = 'DELETE' THEN {count_upsert(minus, 'txid_current()')};"
                f' ELSE {count_upsert(plus + " UNION ALL " + minus, "txid_current()")}; END IF;'
                ' RETURN NULL; END $$')
            events = (('INSERT', 'NEW TABLE AS new_rows'),
                      ('UPDATE', 'OLD TABLE AS old_rows NEW TABLE AS new_rows'),
                      ('DELETE', 'OLD TABLE AS old_rows'))
            for event, refs in events:
                if table == 'links' and event != 'UPDATE':
                    continue  # a new link has no clicks yet; links are never deleted with clicks
                op.execute(f'CREATE TRIGGER activity_{table}_{event.lower()} AFTER {event} ON {table}'
                           f' REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION activity_{table}()')
        else:
            def row(ref: str, table: str = table) -> str:
                cols = ', '.join(f'{ref}.{c} AS {c}' for c in ACTIVITY_COLUMNS[table])
                return f'(SELECT {cols}) AS r'

            plus, minus = activity(table, row('NEW')), activity(table, row('OLD'), '-')
            bodies = {'INSERT': plus, 'DELETE': minus, 'UPDATE': plus + ' UNION ALL ' + minus}
            for event, body in bodies.items():
                if table == 'links' and event != 'UPDATE':
                    continue
                op.execute(f'CREATE TRIGGER activity_{table}_{event.lower()} AFTER {event} ON {table}'
                           f' FOR EACH ROW BEGIN {count_upsert(body, "0")}; END')
    # Backfill from the rows already there, in this same transaction.
    op.execute(upsert(part(LEDGER, dialect, 'ledger_entries AS r'), '0'))
    for table in ('clicks', 'orders'):
        op.execute(count_upsert(activity(table, f'{table} AS r'), '0'))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    on = dialect == 'postgresql'
    for table, name in (('ledger_entries', 'earning_days_ledger_insert'),
                        ('ledger_entries', 'earning_days_ledger_update'),
                        ('ledger_entries', 'earning_days_ledger_delete'),
                        ('orders', 'earning_days_orders_update')):
        op.execute(f'DROP TRIGGER IF EXISTS {name}' + (f' ON {table}' if on else ''))
    for table in ACTIVITY:
        for event in ('insert', 'update', 'delete'):
            op.execute(f'DROP TRIGGER IF EXISTS activity_{table}_{event}' + (f' ON {table}' if on else ''))
        if on:
            op.execute(f'DROP FUNCTION IF EXISTS activity_{table}()')
    op.drop_table('activity_counts')
    if on:
        op.execute('DROP FUNCTION IF EXISTS earning_days_ledger()')
        op.execute('DROP FUNCTION IF EXISTS earning_days_orders()')
    op.drop_index('ix_orders_promoter_status', table_name='orders')
    op.drop_table('earning_days')
    op.drop_table('group_topics')
