"""explicit region levels (district) and a center user's district

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-07 01:30:00

Regions already store a level and a parent; until now both followed from the code's length
(6 city, 9 street, 12 community, 15 grid; parent = code without its last three digits). The
upgrade writes exactly that for every existing row (a county-level city keeps its tree), so the
level ``district`` can be given explicitly from now on. Users get an optional district: the
center roles of a district command center see and act on that district's cases only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE regions SET level = CASE length(code) WHEN 6 THEN 'city' "
               "WHEN 9 THEN 'street' WHEN 12 THEN 'community' WHEN 15 THEN 'grid' "
               "ELSE level END")
    op.execute("UPDATE regions SET parent_code = substr(code, 1, length(code) - 3) "
               "WHERE length(code) > 6 AND parent_code IS NULL")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('district_code', sa.String(length=15), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_users_district_code_regions'), 'regions',
                                    ['district_code'], ['code'])


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_district_code_regions'), type_='foreignkey')
        batch_op.drop_column('district_code')
