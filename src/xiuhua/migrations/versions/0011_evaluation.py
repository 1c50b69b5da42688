"""field evaluation: standards and their items, evaluation points (places), inspection rounds
with their sample, deductions and photos; a user's second role (evaluator)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 01:13:01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xiuhua.store.tables

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('standards',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('created_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_standards')),
    sa.UniqueConstraint('name', 'year', name='uq_standards_name_year')
    )
    op.create_table('rounds',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('per_kind', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('planned_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('planned_by', sa.String(length=64), nullable=True),
    sa.Column('closed_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.Column('published_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_by', sa.String(length=64), nullable=True),
    sa.Column('booked_period', sa.String(length=8), nullable=True),
    sa.ForeignKeyConstraint(['standard_id'], ['standards.id'], name=op.f('fk_rounds_standard_id_standards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rounds'))
    )
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rounds_booked_period'), ['booked_period'], unique=False)
        batch_op.create_index(batch_op.f('ix_rounds_period'), ['period'], unique=False)

    op.create_table('standard_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('headings', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('rule', sa.String(length=16), nullable=False),
    sa.Column('each', sa.Float(), nullable=False),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.Column('matter_code', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['standard_id'], ['standards.id'], name=op.f('fk_standard_items_standard_id_standards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_standard_items'))
    )
    with op.batch_alter_table('standard_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_standard_items_standard_id'), ['standard_id'], unique=False)

    op.create_table('evaluation_points',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('geometry', sa.LargeBinary(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('street_code', sa.String(length=15), nullable=True),
    sa.Column('community_code', sa.String(length=15), nullable=True),
    sa.Column('grids', sa.JSON(), nullable=False),
    sa.Column('unit_code', sa.String(length=32), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['community_code'], ['regions.code'], name=op.f('fk_evaluation_points_community_code_regions')),
    sa.ForeignKeyConstraint(['street_code'], ['regions.code'], name=op.f('fk_evaluation_points_street_code_regions')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_evaluation_points_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_points')),
    sa.UniqueConstraint('code', name=op.f('uq_evaluation_points_code'))
    )
    with op.batch_alter_table('evaluation_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_points_street_code'), ['street_code'], unique=False)

    op.create_table('round_deductions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=True),
    sa.Column('recorded_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('case_no', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['case_no'], ['cases.case_no'], name=op.f('fk_round_deductions_case_no_cases')),
    sa.ForeignKeyConstraint(['item_id'], ['standard_items.id'], name=op.f('fk_round_deductions_item_id_standard_items')),
    sa.ForeignKeyConstraint(['point_id'], ['evaluation_points.id'], name=op.f('fk_round_deductions_point_id_evaluation_points')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_round_deductions_round_id_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_deductions'))
    )
    with op.batch_alter_table('round_deductions', schema=None) as batch_op:
        batch_op.create_index('ix_round_deductions_round_id_point_id', ['round_id', 'point_id'], unique=False)

    op.create_table('round_points',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=False),
    sa.Column('fixed', sa.Boolean(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('street_code', sa.String(length=15), nullable=True),
    sa.Column('community_code', sa.String(length=15), nullable=True),
    sa.Column('unit_code', sa.String(length=32), nullable=True),
    sa.Column('done_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_by', sa.String(length=64), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['point_id'], ['evaluation_points.id'], name=op.f('fk_round_points_point_id_evaluation_points')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_round_points_round_id_rounds')),
    sa.PrimaryKeyConstraint('round_id', 'point_id', name=op.f('pk_round_points'))
    )
    op.create_table('round_deduction_photos',
    sa.Column('deduction_id', sa.Integer(), nullable=False),
    sa.Column('photo_id', sa.String(length=64), nullable=False),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['deduction_id'], ['round_deductions.id'], name=op.f('fk_round_deduction_photos_deduction_id_round_deductions')),
    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name=op.f('fk_round_deduction_photos_photo_id_photos')),
    sa.PrimaryKeyConstraint('deduction_id', 'photo_id', name=op.f('pk_round_deduction_photos'))
    )
    with op.batch_alter_table('round_deduction_photos', schema=None) as batch_op:
        batch_op.create_index('ix_round_deduction_photos_photo_id', ['photo_id'], unique=False)

    # in place, not a batch (copy and move) of users: the tables referring to users would break it
    op.add_column('users', sa.Column('extra_role', sa.String(length=32), nullable=True))



def downgrade() -> None:
    op.execute("ALTER TABLE users DROP COLUMN extra_role")

    with op.batch_alter_table('round_deduction_photos', schema=None) as batch_op:
        batch_op.drop_index('ix_round_deduction_photos_photo_id')

    op.drop_table('round_deduction_photos')
    op.drop_table('round_points')
    with op.batch_alter_table('round_deductions', schema=None) as batch_op:
        batch_op.drop_index('ix_round_deductions_round_id_point_id')

    op.drop_table('round_deductions')
    with op.batch_alter_table('evaluation_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_points_street_code'))

    op.drop_table('evaluation_points')
    with op.batch_alter_table('standard_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_standard_items_standard_id'))

    op.drop_table('standard_items')
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rounds_period'))
        batch_op.drop_index(batch_op.f('ix_rounds_booked_period'))

    op.drop_table('rounds')
    op.drop_table('standards')
