"""0006: orders keyed by (merchant, order_id); the reported amount, currency and rate kept;
the ledger's per-user covering index carries the currency.

Revision ID: 0006
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merchant', sa.String(length=64), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('original_amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))
        batch_op.add_column(sa.Column('original_currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('rate', sa.Numeric(18, 8), nullable=True))
    # Existing orders: the merchant behind their product; what was booked is what was reported.
    op.execute(
        "UPDATE orders SET merchant = COALESCE((SELECT merchants.name FROM products "
        "JOIN merchants ON merchants.id = products.merchant_id "
        "WHERE products.id = orders.product_id), '')"
    )
    op.execute("UPDATE orders SET original_amount = amount, original_currency = currency, rate = 1")
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint('uq_orders_order_id', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_orders_merchant_order_id'),
                                          ['merchant', 'order_id'])
        batch_op.create_index('ix_orders_status_settled_confirmed',
                              ['status', 'settled_at', 'confirmed_at'], unique=False)
    # Balances are per currency: /commission's covering index carries the currency too, so
    # filtering on it needs no visit to the table.
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_user_cover')
        batch_op.create_index('ix_ledger_user_cover',
                              ['user_id', 'bucket', 'order_id', 'amount', 'currency'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_user_cover')
        batch_op.create_index('ix_ledger_user_cover', ['user_id', 'bucket', 'order_id', 'amount'],
                              unique=False)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_status_settled_confirmed')
        batch_op.drop_constraint('uq_orders_merchant_order_id', type_='unique')
        batch_op.create_unique_constraint('uq_orders_order_id', ['order_id'])
        batch_op.drop_column('rate')
        batch_op.drop_column('original_currency')
        batch_op.drop_column('original_amount')
        batch_op.drop_column('merchant')
