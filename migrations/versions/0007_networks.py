"""0007: affiliate networks: network products, promotion links, order-row clicks, poll cursors.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'network_products',
        sa.Column('id', BIGINT, nullable=False),
        sa.Column('network', sa.String(length=16), nullable=False),
        sa.Column('sku', sa.String(length=64), nullable=False),
        sa.Column('material_url', sa.String(length=2048), nullable=False),
        sa.Column('coupon_url', sa.String(length=2048), nullable=False),
        sa.Column('shop_name', sa.String(length=128), nullable=False),
        sa.Column('shop_id', sa.String(length=32), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_network_products')),
        sa.UniqueConstraint('network', 'sku', name=op.f('uq_network_products_network_sku')),
    )
    op.create_table(
        'network_links',
        sa.Column('id', BIGINT, nullable=False),
        sa.Column('network', sa.String(length=16), nullable=False),
        sa.Column('link_id', BIGINT, nullable=False),
        sa.Column('sub_id', sa.String(length=80), nullable=False),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['link_id'], ['links.id'], name=op.f('fk_network_links_link_id_links')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_network_links')),
        sa.UniqueConstraint('network', 'link_id', name=op.f('uq_network_links_network_link_id')),
    )
    op.create_table(
        'network_orders',
        sa.Column('id', BIGINT, nullable=False),
        sa.Column('network', sa.String(length=16), nullable=False),
        sa.Column('row_key', sa.String(length=64), nullable=False),
        sa.Column('click_id', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_network_orders')),
        sa.UniqueConstraint('network', 'row_key', name=op.f('uq_network_orders_network_row_key')),
    )
    op.create_table(
        'network_cursors',
        sa.Column('network', sa.String(length=16), nullable=False),
        sa.Column('cursor_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('lease_owner', sa.String(length=128), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('network', name=op.f('pk_network_cursors')),
    )


def downgrade() -> None:
    op.drop_table('network_cursors')
    op.drop_table('network_orders')
    op.drop_table('network_links')
    op.drop_table('network_products')
