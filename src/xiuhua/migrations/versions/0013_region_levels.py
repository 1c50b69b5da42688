"""explicit region levels (district) and a center user's district

Revision ID: 0013
Revises: 0012
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
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE regions SET level = CASE length(code) WHEN 6 THEN 'city' "
               "WHEN 9 THEN 'street' WHEN 12 THEN 'community' WHEN 15 THEN 'grid' "
               "ELSE level END")
    op.execute("UPDATE regions SET parent_code = substr(code, 1, length(code) - 3) "
               "WHERE length(code) > 6 AND parent_code IS NULL")
    if op.get_bind().dialect.name == 'sqlite':
        # not a batch (copy and move) of users: the tables referring to users would break it;
        # SQLite adds a nullable column with its reference in place
        op.execute("ALTER TABLE users ADD COLUMN district_code VARCHAR(15) REFERENCES regions (code)")
        return
    op.add_column('users', sa.Column('district_code', sa.String(length=15), nullable=True))
    op.create_foreign_key(op.f('fk_users_district_code_regions'), 'users', 'regions',
                          ['district_code'], ['code'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE users DROP COLUMN district_code")
        return
    op.drop_constraint(op.f('fk_users_district_code_regions'), 'users', type_='foreignkey')
    op.drop_column('users', 'district_code')
