"""surveys (问卷调查) and their answers

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xiuhua.store.tables

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'surveys',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('region_code', sa.String(length=15), nullable=False),
        sa.Column('questions', sa.JSON(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=True),
        sa.Column('created_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_surveys_region_code_regions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
    )
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.create_index('ix_surveys_region_code', ['region_code'], unique=False)
    op.create_table(
        'survey_answers',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('device', sa.String(length=64), nullable=True),
        sa.Column('entered_by', sa.String(length=64), nullable=True),
        sa.Column('answer_values', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_survey_answers_survey_id_surveys')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_answers')),
        sa.UniqueConstraint('survey_id', 'device', name='uq_survey_answers_device'),
    )
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.create_index('ix_survey_answers_at', ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_answers_at')
    op.drop_table('survey_answers')
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_index('ix_surveys_region_code')
    op.drop_table('surveys')
