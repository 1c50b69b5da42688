"""key projects (重点项目) with progress reports, legacy issues (遗留问题) with plan steps and a
progress log; photos of progress entries

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 01:13:31.116777
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xiuhua.store.tables

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('legacy_issues',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('parties', sa.JSON(), nullable=False),
    sa.Column('lead_official', sa.String(length=100), nullable=True),
    sa.Column('lead_unit', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('target_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.Column('closed_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['lead_unit'], ['units.code'], name=op.f('fk_legacy_issues_lead_unit_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legacy_issues'))
    )
    with op.batch_alter_table('legacy_issues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legacy_issues_lead_unit'), ['lead_unit'], unique=False)

    op.create_table('projects',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('lead_unit', sa.String(length=32), nullable=False),
    sa.Column('planned_start', sa.Date(), nullable=False),
    sa.Column('planned_finish', sa.Date(), nullable=False),
    sa.Column('actual_start', sa.Date(), nullable=True),
    sa.Column('actual_finish', sa.Date(), nullable=True),
    sa.Column('planned_investment', sa.BigInteger(), nullable=False),
    sa.Column('completed_investment', sa.BigInteger(), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('area', sa.JSON(), nullable=True),
    sa.Column('linked_tasks', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lead_unit'], ['units.code'], name=op.f('fk_projects_lead_unit_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects'))
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_lead_unit'), ['lead_unit'], unique=False)

    op.create_table('legacy_progress',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('step_done', sa.Integer(), nullable=True),
    sa.Column('author', sa.String(length=64), nullable=True),
    sa.Column('at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['issue_id'], ['legacy_issues.id'], name=op.f('fk_legacy_progress_issue_id_legacy_issues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legacy_progress'))
    )
    with op.batch_alter_table('legacy_progress', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legacy_progress_issue_id'), ['issue_id'], unique=False)

    op.create_table('legacy_steps',
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['issue_id'], ['legacy_issues.id'], name=op.f('fk_legacy_steps_issue_id_legacy_issues')),
    sa.PrimaryKeyConstraint('issue_id', 'seq', name=op.f('pk_legacy_steps'))
    )
    op.create_table('project_progress',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=True),
    sa.Column('completed_investment', sa.BigInteger(), nullable=True),
    sa.Column('on_day', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('reported_by', sa.String(length=64), nullable=True),
    sa.Column('reported_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_progress_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_progress'))
    )
    with op.batch_alter_table('project_progress', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_progress_project_id'), ['project_id'], unique=False)

    op.create_table('legacy_progress_photos',
    sa.Column('progress_id', sa.Integer(), nullable=False),
    sa.Column('photo_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name=op.f('fk_legacy_progress_photos_photo_id_photos')),
    sa.ForeignKeyConstraint(['progress_id'], ['legacy_progress.id'], name=op.f('fk_legacy_progress_photos_progress_id_legacy_progress')),
    sa.PrimaryKeyConstraint('progress_id', 'photo_id', name=op.f('pk_legacy_progress_photos'))
    )
    with op.batch_alter_table('legacy_progress_photos', schema=None) as batch_op:
        batch_op.create_index('ix_legacy_progress_photos_photo_id', ['photo_id'], unique=False)

    op.create_table('project_progress_photos',
    sa.Column('progress_id', sa.Integer(), nullable=False),
    sa.Column('photo_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name=op.f('fk_project_progress_photos_photo_id_photos')),
    sa.ForeignKeyConstraint(['progress_id'], ['project_progress.id'], name=op.f('fk_project_progress_photos_progress_id_project_progress')),
    sa.PrimaryKeyConstraint('progress_id', 'photo_id', name=op.f('pk_project_progress_photos'))
    )
    with op.batch_alter_table('project_progress_photos', schema=None) as batch_op:
        batch_op.create_index('ix_project_progress_photos_photo_id', ['photo_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('project_progress_photos', schema=None) as batch_op:
        batch_op.drop_index('ix_project_progress_photos_photo_id')

    op.drop_table('project_progress_photos')
    with op.batch_alter_table('legacy_progress_photos', schema=None) as batch_op:
        batch_op.drop_index('ix_legacy_progress_photos_photo_id')

    op.drop_table('legacy_progress_photos')
    with op.batch_alter_table('project_progress', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_progress_project_id'))

    op.drop_table('project_progress')
    op.drop_table('legacy_steps')
    with op.batch_alter_table('legacy_progress', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legacy_progress_issue_id'))

    op.drop_table('legacy_progress')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_lead_unit'))

    op.drop_table('projects')
    with op.batch_alter_table('legacy_issues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legacy_issues_lead_unit'))

    op.drop_table('legacy_issues')
