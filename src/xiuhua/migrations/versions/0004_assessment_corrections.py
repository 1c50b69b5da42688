"""assessment corrections: changes of a published period's counts, booked into the next open month

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xiuhua.store.tables

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assessment_corrections',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('booked_period', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('measure', sa.String(length=32), nullable=False),
    sa.Column('published_value', sa.Integer(), nullable=False),
    sa.Column('previous_value', sa.Integer(), nullable=False),
    sa.Column('live_value', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('booked_by', sa.String(length=64), nullable=True),
    sa.Column('booked_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_corrections'))
    )
    with op.batch_alter_table('assessment_corrections', schema=None) as batch_op:
        batch_op.create_index('ix_assessment_corrections_booked_period', ['booked_period'], unique=False)
        batch_op.create_index('ix_assessment_corrections_period', ['period'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('assessment_corrections', schema=None) as batch_op:
        batch_op.drop_index('ix_assessment_corrections_period')
        batch_op.drop_index('ix_assessment_corrections_booked_period')

    op.drop_table('assessment_corrections')
