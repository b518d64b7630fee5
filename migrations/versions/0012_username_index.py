"""0012: an index on lower(username), so finding a user by @name does not scan every user.

Revision ID: 0012
Revises: 0011

``/payout @name``, the mini app's payout form and the CLI look a user up by name, case-insensitively
(``lower(username) = lower(:name)``). Without an index on the expression that is a scan of
the users table, which holds every member the bot has seen: millions at the planned scale.
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_users_username_lower', 'users', [sa.text('lower(username)')])


def downgrade() -> None:
    op.drop_index('ix_users_username_lower', table_name='users')
