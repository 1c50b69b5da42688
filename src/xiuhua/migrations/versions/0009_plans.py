"""the work programme (plans, tasks, progress, pauses, unit aliases) and supervision orders

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 01:12:56.192083
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xiuhua.store.tables

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plans',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans'))
    )
    op.create_table('plan_tasks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('lead_unit', sa.String(length=32), nullable=True),
    sa.Column('responsible', sa.String(length=100), nullable=True),
    sa.Column('responsible_post', sa.String(length=100), nullable=True),
    sa.Column('responsible_login', sa.String(length=64), nullable=True),
    sa.Column('target_text', sa.Text(), nullable=True),
    sa.Column('target_value', sa.String(length=32), nullable=True),
    sa.Column('target_unit', sa.String(length=16), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('deadline_date', sa.Date(), nullable=True),
    sa.Column('deadline_limit', sa.String(length=32), nullable=True),
    sa.Column('due_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['lead_unit'], ['units.code'], name=op.f('fk_plan_tasks_lead_unit_units')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_tasks_plan_id_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_tasks')),
    sa.UniqueConstraint('plan_id', 'code', name='uq_plan_tasks_plan_id_code')
    )
    with op.batch_alter_table('plan_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_plan_tasks_lead_unit', ['lead_unit'], unique=False)

    op.create_table('unit_aliases',
    sa.Column('alias', sa.String(length=200), nullable=False),
    sa.Column('unit_code', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_unit_aliases_unit_code_units')),
    sa.PrimaryKeyConstraint('alias', name=op.f('pk_unit_aliases'))
    )
    op.create_table('plan_milestones',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['plan_tasks.id'], name=op.f('fk_plan_milestones_task_id_plan_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_milestones'))
    )
    with op.batch_alter_table('plan_milestones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_milestones_task_id'), ['task_id'], unique=False)

    op.create_table('plan_pauses',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('started_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('paused_by', sa.String(length=64), nullable=True),
    sa.Column('resumed_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['plan_tasks.id'], name=op.f('fk_plan_pauses_task_id_plan_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_pauses'))
    )
    with op.batch_alter_table('plan_pauses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_pauses_task_id'), ['task_id'], unique=False)

    op.create_table('plan_progress',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('unit_code', sa.String(length=32), nullable=True),
    sa.Column('percent', sa.String(length=32), nullable=True),
    sa.Column('value', sa.String(length=32), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('milestones', sa.JSON(), nullable=False),
    sa.Column('sent_by', sa.String(length=64), nullable=True),
    sa.Column('sent_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('reviewed_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['plan_tasks.id'], name=op.f('fk_plan_progress_task_id_plan_tasks')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_plan_progress_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_progress'))
    )
    with op.batch_alter_table('plan_progress', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_progress_task_id'), ['task_id'], unique=False)

    op.create_table('plan_task_units',
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['plan_tasks.id'], name=op.f('fk_plan_task_units_task_id_plan_tasks')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_plan_task_units_unit_code_units')),
    sa.PrimaryKeyConstraint('task_id', 'unit_code', name=op.f('pk_plan_task_units'))
    )
    with op.batch_alter_table('plan_task_units', schema=None) as batch_op:
        batch_op.create_index('ix_plan_task_units_unit_code', ['unit_code'], unique=False)

    op.create_table('supervision_orders',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('unit_code', sa.String(length=32), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('case_no', sa.String(length=20), nullable=True),
    sa.Column('origin_ref', sa.String(length=64), nullable=True),
    sa.Column('time_limit', sa.String(length=32), nullable=False),
    sa.Column('issued_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=True),
    sa.Column('due_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('raised_level', sa.String(length=8), nullable=False),
    sa.Column('signed_off_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_off_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['case_no'], ['cases.case_no'], name=op.f('fk_supervision_orders_case_no_cases')),
    sa.ForeignKeyConstraint(['task_id'], ['plan_tasks.id'], name=op.f('fk_supervision_orders_task_id_plan_tasks')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_supervision_orders_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_orders')),
    sa.UniqueConstraint('year', 'serial', name='uq_supervision_orders_year_serial')
    )
    with op.batch_alter_table('supervision_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_orders_unit_code'), ['unit_code'], unique=False)

    op.create_table('plan_progress_photos',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('photo_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name=op.f('fk_plan_progress_photos_photo_id_photos')),
    sa.ForeignKeyConstraint(['report_id'], ['plan_progress.id'], name=op.f('fk_plan_progress_photos_report_id_plan_progress')),
    sa.PrimaryKeyConstraint('report_id', 'photo_id', name=op.f('pk_plan_progress_photos'))
    )
    with op.batch_alter_table('plan_progress_photos', schema=None) as batch_op:
        batch_op.create_index('ix_plan_progress_photos_photo_id', ['photo_id'], unique=False)

    op.create_table('supervision_replies',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sent_by', sa.String(length=64), nullable=True),
    sa.Column('sent_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('reviewed_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['supervision_orders.id'], name=op.f('fk_supervision_replies_order_id_supervision_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_replies'))
    )
    with op.batch_alter_table('supervision_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_replies_order_id'), ['order_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('supervision_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_replies_order_id'))

    op.drop_table('supervision_replies')
    with op.batch_alter_table('plan_progress_photos', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_progress_photos_photo_id')

    op.drop_table('plan_progress_photos')
    with op.batch_alter_table('supervision_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_orders_unit_code'))

    op.drop_table('supervision_orders')
    with op.batch_alter_table('plan_task_units', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_task_units_unit_code')

    op.drop_table('plan_task_units')
    with op.batch_alter_table('plan_progress', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_progress_task_id'))

    op.drop_table('plan_progress')
    with op.batch_alter_table('plan_pauses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_pauses_task_id'))

    op.drop_table('plan_pauses')
    with op.batch_alter_table('plan_milestones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_milestones_task_id'))

    op.drop_table('plan_milestones')
    op.drop_table('unit_aliases')
    with op.batch_alter_table('plan_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_tasks_lead_unit')

    op.drop_table('plan_tasks')
    op.drop_table('plans')
