"""0005: groups.bot_id (several bot tokens) and posts.claimed_at (sender leases).

Revision ID: 0005
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_groups_bot_id'), ['bot_id'], unique=False)
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_groups_bot_id'))
        batch_op.drop_column('bot_id')
