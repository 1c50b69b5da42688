"""photo links: every uploader of a photo (photo_uploads) and a public id per photo

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 22:40:00
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

import xiuhua.store.tables

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('photo_uploads',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('photo_id', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=True),
    sa.Column('uploaded_at', xiuhua.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name=op.f('fk_photo_uploads_photo_id_photos')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photo_uploads'))
    )
    with op.batch_alter_table('photo_uploads', schema=None) as batch_op:
        batch_op.create_index('ix_photo_uploads_photo_id_uploaded_by', ['photo_id', 'uploaded_by'],
                              unique=False)
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_id', sa.String(length=32), nullable=True))
    # the photos stored so far: their first uploader recorded, a random public id each
    conn = op.get_bind()
    photos = sa.table('photos', sa.column('id', sa.String), sa.column('public_id', sa.String),
                      sa.column('uploaded_by', sa.String),
                      sa.column('uploaded_at', xiuhua.store.tables.UTCDateTime(timezone=True)))
    uploads = sa.table('photo_uploads', sa.column('photo_id', sa.String),
                       sa.column('uploaded_by', sa.String),
                       sa.column('uploaded_at', xiuhua.store.tables.UTCDateTime(timezone=True)))
    rows = conn.execute(sa.select(photos.c.id, photos.c.uploaded_by, photos.c.uploaded_at)).all()
    for row in rows:
        conn.execute(sa.update(photos).where(photos.c.id == row.id)
                     .values(public_id=secrets.token_urlsafe(16)))
    if rows:
        conn.execute(sa.insert(uploads), [{'photo_id': r.id, 'uploaded_by': r.uploaded_by,
                                           'uploaded_at': r.uploaded_at} for r in rows])
    with op.batch_alter_table('photos', schema=None) as batch_op:
        # a unique index, the column left nullable: SQLite would copy the table to change
        # either, and rows of other tables refer to it (every new photo gets one)
        batch_op.create_index('ix_photos_public_id', ['public_id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_index('ix_photos_public_id')
        batch_op.drop_column('public_id')
    with op.batch_alter_table('photo_uploads', schema=None) as batch_op:
        batch_op.drop_index('ix_photo_uploads_photo_id_uploaded_by')
    op.drop_table('photo_uploads')
