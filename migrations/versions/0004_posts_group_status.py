"""Index posts by (group_id, status): a group's learning stats counted its sent posts by
scanning every group's sent posts (ix_posts_status_due), O(all posts) per choice.

Revision ID: 0004
Revises: 0005
"""
from alembic import op

revision = '0004'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_posts_group_status', 'posts', ['group_id', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_posts_group_status', table_name='posts')
