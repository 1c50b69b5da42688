"""notifications about any target (kind, id) for units, the center, users or roles

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 23:59:00

Existing notifications are about cases: their case number becomes the target (kind 'case'),
a unit notice's recipient is its unit, a center notice's recipient is ''.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_kind', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('target_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('recipient', sa.String(length=64), nullable=True))
    op.execute("UPDATE notifications SET target_kind = 'case', target_id = case_no, "
               "recipient = CASE WHEN audience = 'unit' THEN COALESCE(unit_code, '') "
               "ELSE '' END")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('target_kind', existing_type=sa.String(length=24), nullable=False)
        batch_op.alter_column('target_id', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('recipient', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint('uq_notifications_once', type_='unique')
        batch_op.drop_constraint('fk_notifications_case_no_cases', type_='foreignkey')
        batch_op.drop_column('case_no')
        batch_op.create_unique_constraint(
            'uq_notifications_once',
            ['target_kind', 'target_id', 'assignment_seq', 'kind', 'audience', 'recipient'])
        batch_op.create_index('ix_notifications_audience_recipient', ['audience', 'recipient'],
                              unique=False)


def downgrade() -> None:
    # Only case notifications existed before: the others are dropped.
    op.execute("DELETE FROM notifications WHERE target_kind <> 'case' "
               "OR audience NOT IN ('unit', 'center')")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_no', sa.String(length=20), nullable=True))
    op.execute("UPDATE notifications SET case_no = target_id")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('case_no', existing_type=sa.String(length=20), nullable=False)
        batch_op.drop_index('ix_notifications_audience_recipient')
        batch_op.drop_constraint('uq_notifications_once', type_='unique')
        batch_op.drop_column('recipient')
        batch_op.drop_column('target_id')
        batch_op.drop_column('target_kind')
        batch_op.create_foreign_key('fk_notifications_case_no_cases', 'cases',
                                    ['case_no'], ['case_no'])
        batch_op.create_unique_constraint(
            'uq_notifications_once', ['case_no', 'assignment_seq', 'kind', 'audience'])
