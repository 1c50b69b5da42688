"""calendar years: an imported notice is official (exact) or partial, with its own days

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 23:00:00

Years imported before this revision were added as overrides on top of the package's
guesses; they are kept as partial imports (provisional) until their notice is imported again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calendar_years', schema=None) as batch_op:
        batch_op.add_column(sa.Column('official', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('file_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('imported_by', sa.String(length=64), nullable=True))
    op.create_table('calendar_schedule_days',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('workday', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=True),
    sa.ForeignKeyConstraint(['year'], ['calendar_years.year'],
                            name=op.f('fk_calendar_schedule_days_year_calendar_years')),
    sa.PrimaryKeyConstraint('year', 'day', name=op.f('pk_calendar_schedule_days'))
    )


def downgrade() -> None:
    op.drop_table('calendar_schedule_days')
    with op.batch_alter_table('calendar_years', schema=None) as batch_op:
        batch_op.drop_column('imported_by')
        batch_op.drop_column('file_name')
        batch_op.drop_column('official')
