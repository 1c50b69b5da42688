"""Idempotency keys: a client that retries a request with the same ``Idempotency-Key`` gets the
first response again and nothing is done twice.

The key is claimed (its row inserted) in the same transaction as the work it guards, before
the work starts. A concurrent retry's insert then waits for the first transaction (the primary
key's lock on PostgreSQL, the write lock on SQLite) and finds the finished response; if the
first request failed, its claim rolled back with it and the retry simply runs. Keys are scoped
(per user), and a key reused for a different request is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from xiuhua.domain.errors import InvalidInput
from xiuhua.store.cases import dialect_name
from xiuhua.store.tables import idempotency_keys

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"  # visible ASCII


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]


def fingerprint(method: str, path: str, payload: Any, blobs: Iterable[bytes] = ()) -> str:
    """A digest of what the request asks for: its JSON-able payload and any uploaded files
    (so the same body re-encoded, e.g. another multipart boundary, is the same request)."""
    digest = hashlib.sha256()
    digest.update(f"{method.upper()} {path}\n".encode())
    digest.update(json.dumps(payload, sort_keys=True, ensure_ascii=False,
                             separators=(",", ":")).encode())
    for blob in blobs:
        digest.update(b"\n" + hashlib.sha256(blob).hexdigest().encode())
    return digest.hexdigest()


def claim(session: Session, scope: str, key: str, request_hash: str,
          at: datetime) -> StoredResponse | None:
    """Reserve ``key`` for this request, or return the response of the request that used it.

    ``None``: go ahead, then :func:`remember` the response in the same transaction."""
    dialect_insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    inserted = session.execute(
        dialect_insert(idempotency_keys)
        .values(scope=scope, key=key, request_hash=request_hash, status_code=0, response={},
                created_at=at)
        .on_conflict_do_nothing(index_elements=["scope", "key"])
        .returning(idempotency_keys.c.key)).first()
    if inserted is not None:
        return None
    row = session.execute(select(idempotency_keys).where(
        idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)).one()
    if row.request_hash != request_hash:
        raise InvalidInput(f"幂等键“{key}”已用于另一个不同的请求，请换用新的幂等键",
                           code="idempotency_key_reused")
    return StoredResponse(row.status_code, dict(row.response))


def remember(session: Session, scope: str, key: str, status_code: int,
             body: dict[str, Any]) -> None:
    """Record the response of the request that claimed ``key``."""
    session.execute(update(idempotency_keys).where(
        idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
        .values(status_code=status_code, response=body))
