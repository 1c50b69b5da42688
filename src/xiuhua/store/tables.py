"""SQLAlchemy Core tables: the whole schema in one place (Alembic migrations derive from it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as UTC on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime cannot be stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _code(length: int = 32) -> String:
    return String(length)


regions = Table(
    "regions", metadata,
    Column("code", _code(15), primary_key=True),
    Column("level", String(16), nullable=False),
    Column("kind", String(16), nullable=True),  # "zone" for a development zone
    Column("name", String(200), nullable=False),
    Column("parent_code", _code(15), ForeignKey("regions.code"), nullable=True, index=True),
    Column("region_class", Integer, nullable=True),  # 1 一类 / 2 二类 (grids)
    Column("area_m2", Float, nullable=False),
    Column("geometry", LargeBinary, nullable=False),  # WKB, WGS84 lon/lat
)

units = Table(
    "units", metadata,
    Column("code", _code(), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("parent_code", _code(), ForeignKey("units.code"), nullable=True),
    Column("region_code", _code(15), ForeignKey("regions.code"), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
)

users = Table(
    "users", metadata,
    Column("login", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("role", String(32), nullable=False),
    Column("unit_code", _code(), ForeignKey("units.code"), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("password_hash", String(256), nullable=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime, nullable=True),
    # a second role besides ``role``: only "evaluator" (domain.access.COMBINABLE_ROLES)
    Column("extra_role", String(32), nullable=True),
    # a center role's district (区级指挥中心): sees and acts on that district's cases only
    Column("district_code", _code(15), ForeignKey("regions.code"), nullable=True),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("login", String(64), ForeignKey("users.login"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),  # None: until revoked
)

user_sessions = Table(
    # browser sessions: the signed cookie carries a random id, this table its SHA-256; signing
    # out deletes the row, a password change or disabling the account deletes all of the user's
    "user_sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("login", String(64), ForeignKey("users.login"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("client", String(64), nullable=True),
)

login_failures = Table(
    # failed logins of the last hour (unknown logins too), by account and source address
    "login_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("login", String(64), nullable=False),
    Column("address", String(64), nullable=False),
    Index("ix_login_failures_login_at", "login", "at"),
    Index("ix_login_failures_address_at", "address", "at"),
)

login_addresses = Table(
    # where each account last signed in successfully from (spared the slow-down under attack)
    "login_addresses", metadata,
    Column("login", String(64), ForeignKey("users.login"), primary_key=True),
    Column("address", String(64), primary_key=True),
    Column("last_login_at", UTCDateTime, nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor", String(64), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("subject", String(64), nullable=True),
    Column("detail", JSON, nullable=False),
    Column("client", String(64), nullable=True),
)

user_grids = Table(
    "user_grids", metadata,
    Column("login", String(64), ForeignKey("users.login"), primary_key=True),
    Column("grid_code", _code(15), ForeignKey("regions.code"), primary_key=True),
    Index("ix_user_grids_grid_code", "grid_code"),
)

categories = Table(
    "categories", metadata,
    Column("kind", String(16), primary_key=True),
    Column("code", String(5), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("major_code", String(2), nullable=False),
    Column("major_name", String(100), nullable=False),
    Column("source", String(64), nullable=False, default=""),
    Column("public_reportable", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("filing_condition", Text, nullable=False, default=""),
    Column("closing_condition", Text, nullable=False, default=""),
    Column("limits", JSON, nullable=False),
    Column("calendar", String(64), nullable=False, default="default"),
)

components = Table(
    "components", metadata,
    Column("code", String(17), primary_key=True),
    Column("class_code", String(5), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("grid_code", _code(15), ForeignKey("regions.code"), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("owner_unit", _code(), ForeignKey("units.code"), nullable=True),
    Column("maintainer_unit", _code(), ForeignKey("units.code"), nullable=True),
    Column("name", String(200), nullable=True),
)

responsibility_rules = Table(
    "responsibility_rules", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(16), nullable=False),
    Column("category", String(5), nullable=True),
    Column("region_code", _code(15), ForeignKey("regions.code"), nullable=False),
    Column("unit_code", _code(), ForeignKey("units.code"), nullable=False),
    UniqueConstraint("scope", "category", "region_code", "unit_code",
                     name="uq_responsibility_rules_rule"),
)

calendars = Table(
    "calendars", metadata,
    Column("name", String(64), primary_key=True),
    Column("label", String(100), nullable=False),
    Column("seven_day", Boolean, nullable=False, default=False),
    Column("periods", JSON, nullable=False),  # [["08:30","12:00"], ...]
    Column("seasonal", JSON, nullable=False),  # [{"start": "05-01", "end": "09-30", "periods": [...]}]
    Column("standard_day_seconds", Integer, nullable=False, default=27000),
)

calendar_days = Table(
    "calendar_days", metadata,
    Column("day", Date, primary_key=True),
    Column("workday", Boolean, nullable=False),
    Column("note", String(100), nullable=True),
)

# One imported State Council notice per year: official when complete (it then defines the
# year exactly), partial otherwise (its days are overrides and the year stays provisional).
calendar_years = Table(
    "calendar_years", metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("imported_at", UTCDateTime, nullable=False),
    Column("official", Boolean, nullable=False, server_default=false()),
    Column("file_name", String(255), nullable=True),
    Column("imported_by", String(64), nullable=True),
)

# The imported notice's days (ranges expanded): workday true = 班, false = 休.
calendar_schedule_days = Table(
    "calendar_schedule_days", metadata,
    Column("year", Integer, ForeignKey("calendar_years.year"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("workday", Boolean, nullable=False),
    Column("name", String(50), nullable=True),
)

settings = Table(
    "settings", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
)

cases = Table(
    "cases", metadata,
    Column("case_no", String(20), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("source", String(16), nullable=False),
    Column("category_code", String(5), nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("grid_code", _code(15), nullable=True),
    Column("community_code", _code(15), nullable=True),
    Column("street_code", _code(15), nullable=True),
    Column("address", Text, nullable=True),
    Column("description", Text, nullable=True),
    Column("component_code", String(17), nullable=True),
    Column("reporter_name", String(100), nullable=True),
    Column("reporter_phone", String(32), nullable=True),
    Column("photos", JSON, nullable=False),
    Column("reported_at", UTCDateTime, nullable=False),
    Column("filed_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("cancelled_at", UTCDateTime, nullable=True),
    Column("cancel_reason", String(16), nullable=True),
    Column("duplicate_of", String(20), nullable=True),
    Column("rating", String(32), nullable=True),
    Column("updated_at", UTCDateTime, nullable=True),
    # denormalised for queues: the unit holding the case and its open deadline
    Column("holder_unit", _code(), nullable=True),
    Column("due_at", UTCDateTime, nullable=True),
    Column("tracking_code", String(16), nullable=True, unique=True),
    Index("ix_cases_status_reported_at", "status", "reported_at"),
    Index("ix_cases_reported_at", "reported_at"),
    Index("ix_cases_closed_at", "closed_at"),
    Index("ix_cases_grid_code", "grid_code"),
    Index("ix_cases_holder_unit_status", "holder_unit", "status"),
    Index("ix_cases_due_at", "due_at"),
)

case_events = Table(
    "case_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_no", String(20), ForeignKey("cases.case_no"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=True),
    Column("note", Text, nullable=True),
    Column("photos", JSON, nullable=False),
    Column("data", JSON, nullable=False),
    UniqueConstraint("case_no", "seq", name="uq_case_events_case_no_seq"),
    Index("ix_case_events_action_at", "action", "at"),
)

assignments = Table(
    "assignments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_no", String(20), ForeignKey("cases.case_no"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("unit_code", _code(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("limit_text", String(16), nullable=False),
    Column("calendar", String(64), nullable=False),
    Column("deadline", UTCDateTime, nullable=False),
    Column("ended", String(16), nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("suspended_at", UTCDateTime, nullable=True),
    Column("remaining_seconds", Integer, nullable=True),
    Column("extension_requested", String(16), nullable=True),
    Column("suspension_requested", Text, nullable=True),
    Column("deadline_log", JSON, nullable=False),
    UniqueConstraint("case_no", "seq", name="uq_assignments_case_no_seq"),
    Index("ix_assignments_unit_code_ended", "unit_code", "ended"),
    Index("ix_assignments_started_at", "started_at"),
    Index("ix_assignments_ended_at", "ended_at"),
)

inspector_tasks = Table(
    "inspector_tasks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_no", String(20), ForeignKey("cases.case_no"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("inspector", String(64), nullable=True),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("deadline", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime, nullable=True),
    Column("result", String(16), nullable=True),
    UniqueConstraint("case_no", "seq", name="uq_inspector_tasks_case_no_seq"),
    Index("ix_inspector_tasks_inspector_done_at", "inspector", "done_at"),
)

case_serials = Table(
    "case_serials", metadata,
    Column("day", String(8), primary_key=True),
    Column("last", Integer, nullable=False),
)

photos = Table(
    "photos", metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the original content
    Column("content_type", String(32), nullable=False),
    Column("size", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("taken_at", UTCDateTime, nullable=True),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("uploaded_by", String(64), nullable=True),  # the first uploader (see photo_uploads)
    Column("uploaded_at", UTCDateTime, nullable=False),
    # the public copy's address (random, unrelated to the content): public answers name it;
    # always set (nullable only because SQLite cannot add a NOT NULL column in place)
    Column("public_id", String(32), nullable=True),
    Index("ix_photos_public_id", "public_id", unique=True),
)

photo_uploads = Table(
    # every upload of a photo (identical bytes are one photo): whoever uploaded it may see it
    "photo_uploads", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("photo_id", String(64), ForeignKey("photos.id"), nullable=False),
    Column("uploaded_by", String(64), nullable=True),  # a login; NULL: anonymous (public report)
    Column("uploaded_at", UTCDateTime, nullable=False),
    Index("ix_photo_uploads_photo_id_uploaded_by", "photo_id", "uploaded_by"),
)

case_photos = Table(
    "case_photos", metadata,
    Column("case_no", String(20), ForeignKey("cases.case_no"), primary_key=True),
    Column("photo_id", String(64), ForeignKey("photos.id"), primary_key=True),
    Index("ix_case_photos_photo_id", "photo_id"),
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("scope", String(64), primary_key=True),  # who: a login, an api key, a client address
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

rate_limits = Table(
    "rate_limits", metadata,
    Column("bucket", String(100), primary_key=True),
    Column("window_start", UTCDateTime, primary_key=True),
    Column("count", Integer, nullable=False),
)

notifications = Table(
    # one notification about a target (kind, id) for its recipients (``domain.notices``)
    "notifications", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False),  # warning / overdue / supervise / login_alert
    Column("target_kind", String(24), nullable=False),  # case / account
    Column("target_id", String(64), nullable=False),  # the case number, the login …
    Column("assignment_seq", Integer, nullable=False),  # a case's assignment; 0: none
    Column("unit_code", _code(), nullable=True),  # the unit concerned (a case's handling unit)
    Column("audience", String(16), nullable=False),  # unit / center / user / role
    Column("recipient", String(64), nullable=False),  # unit code / '' / login / role
    Column("message", Text, nullable=False),
    Column("read_at", UTCDateTime, nullable=True),
    UniqueConstraint("target_kind", "target_id", "assignment_seq", "kind", "audience",
                     "recipient", name="uq_notifications_once"),
    Index("ix_notifications_unit_code_at", "unit_code", "at"),
    Index("ix_notifications_audience_recipient", "audience", "recipient"),
)

leases = Table(
    "leases", metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(100), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# --- assessment (绩效评价) -------------------------------------------------------------------

assessment_entries = Table(
    # manual entries: spot-check deductions (考核检查扣分) and bonus points
    "assessment_entries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # deduction / bonus
    Column("unit_code", _code(), ForeignKey("units.code"), nullable=False),
    Column("day", Date, nullable=False),
    Column("item", Text, nullable=False),
    Column("points", Float, nullable=False),
    Column("photo_id", String(64), ForeignKey("photos.id"), nullable=True),  # evidence
    Column("period", String(8), nullable=False),  # the month of `day`, e.g. 2026-10
    Column("booked_period", String(8), nullable=False),  # the month whose assessment counts it
    Column("adjusts", String(8), nullable=True),  # the published period it corrects (adjustment)
    Column("entered_by", String(64), nullable=True),
    Column("entered_at", UTCDateTime, nullable=False),
    Index("ix_assessment_entries_booked_period", "booked_period"),
)

assessment_reward_bands = Table(
    # 以奖代补: the amount (yuan; negative for a penalty) for a band of ranks in a period
    "assessment_reward_bands", metadata,
    Column("period", String(8), primary_key=True),
    Column("rank_from", Integer, primary_key=True, autoincrement=False),
    Column("rank_to", Integer, nullable=False),
    Column("amount", Float, nullable=False),
    Column("note", String(200), nullable=True),
)

assessment_publications = Table(
    # a published (frozen) period: its figures never change afterwards
    "assessment_publications", metadata,
    Column("period", String(8), primary_key=True),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
    Column("published_by", String(64), nullable=True),
    Column("figures", JSON, nullable=False),
)

assessment_corrections = Table(
    # a change of a published period's count, found after the data changed (e.g. an import of
    # case history): booked into the next open month and listed there; the published figures stay
    "assessment_corrections", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("period", String(8), nullable=False),  # the published period corrected
    Column("booked_period", String(8), nullable=False),  # the open month that lists it
    Column("subject", String(16), nullable=False),  # units / regions / inspectors / staff
    Column("code", String(64), nullable=False),  # unit or region code, login
    Column("name", String(200), nullable=True),  # as the live figures named it
    Column("measure", String(32), nullable=False),
    Column("published_value", Integer, nullable=False),  # in the frozen figures
    Column("previous_value", Integer, nullable=False),  # published, or the last correction's value
    Column("live_value", Integer, nullable=False),  # as the data stand now
    Column("reason", Text, nullable=False),  # e.g. 导入案件 cases.jsonl
    Column("booked_by", String(64), nullable=True),
    Column("booked_at", UTCDateTime, nullable=False),
    Index("ix_assessment_corrections_booked_period", "booked_period"),
    Index("ix_assessment_corrections_period", "period"),
)

# --- key projects (重点项目) and legacy issues (遗留问题) ----------------------------------------

projects = Table(
    "projects", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(24), nullable=False),  # domain.choices.ProjectKind
    Column("phase", String(16), nullable=False),  # domain.choices.ProjectPhase
    Column("lead_unit", _code(), ForeignKey("units.code"), nullable=False, index=True),
    Column("planned_start", Date, nullable=False),
    Column("planned_finish", Date, nullable=False),
    Column("actual_start", Date, nullable=True),
    Column("actual_finish", Date, nullable=True),
    Column("planned_investment", BigInteger, nullable=False),  # yuan
    Column("completed_investment", BigInteger, nullable=False),  # yuan, as last accepted
    Column("progress", Integer, nullable=False),  # accepted progress, percent
    Column("address", String(200), nullable=True),
    Column("description", Text, nullable=True),
    Column("lon", Float, nullable=True),  # the point (WGS-84)
    Column("lat", Float, nullable=True),
    Column("area", JSON, nullable=True),  # a GeoJSON polygon (WGS-84), if drawn
    Column("linked_tasks", JSON, nullable=False),  # [{"plan_id": 1, "code": "1.2"}]
    Column("created_by", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

project_progress = Table(
    # a lead unit's progress report; only those the office accepted count
    "project_progress", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False, index=True),
    Column("percent", Integer, nullable=False),
    Column("phase", String(16), nullable=True),  # the phase reached, if any
    Column("completed_investment", BigInteger, nullable=True),  # yuan
    Column("on_day", Date, nullable=True),  # the day the phase was reached
    Column("note", Text, nullable=True),
    Column("state", String(12), nullable=False),  # domain.choices.ReviewState
    Column("reported_by", String(64), nullable=True),
    Column("reported_at", UTCDateTime, nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("reason", Text, nullable=True),  # why returned
)

project_progress_photos = Table(
    "project_progress_photos", metadata,
    Column("progress_id", Integer, ForeignKey("project_progress.id"), primary_key=True),
    Column("photo_id", String(64), ForeignKey("photos.id"), primary_key=True),
    Index("ix_project_progress_photos_photo_id", "photo_id"),
)

legacy_issues = Table(
    "legacy_issues", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(200), nullable=False),
    Column("category", String(24), nullable=False),  # domain.choices.LegacyCategory
    Column("description", Text, nullable=True),
    Column("address", String(200), nullable=True),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("parties", JSON, nullable=False),  # [{"name", "phone", "note"}]: personal data
    Column("lead_official", String(100), nullable=True),  # 包案领导 (name and post)
    Column("lead_unit", _code(), ForeignKey("units.code"), nullable=False, index=True),
    Column("target", String(16), nullable=False),  # resolved / clear_progress
    Column("target_date", Date, nullable=False),
    Column("status", String(16), nullable=False),  # domain.choices.LegacyStatus
    Column("created_by", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("closed_by", String(64), nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
)

legacy_steps = Table(
    # the plan (一案一策): its steps and their due dates
    "legacy_steps", metadata,
    Column("issue_id", Integer, ForeignKey("legacy_issues.id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("content", Text, nullable=False),
    Column("due", Date, nullable=False),
    Column("done_on", Date, nullable=True),
)

legacy_progress = Table(
    # the progress log, the sign-off (销号) included
    "legacy_progress", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("issue_id", Integer, ForeignKey("legacy_issues.id"), nullable=False, index=True),
    Column("kind", String(12), nullable=False),  # progress / signoff
    Column("note", Text, nullable=False),
    Column("status", String(16), nullable=False),  # the status after the entry
    Column("step_done", Integer, nullable=True),
    Column("author", String(64), nullable=True),
    Column("at", UTCDateTime, nullable=False),
)

legacy_progress_photos = Table(
    "legacy_progress_photos", metadata,
    Column("progress_id", Integer, ForeignKey("legacy_progress.id"), primary_key=True),
    Column("photo_id", String(64), ForeignKey("photos.id"), primary_key=True),
    Index("ix_legacy_progress_photos_photo_id", "photo_id"),
)


# --- surveys (问卷调查) ----------------------------------------------------------------------

surveys = Table(
    # a satisfaction questionnaire of one street; its questions (domain.surveys) as JSON
    "surveys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(200), nullable=False),
    Column("region_code", _code(15), ForeignKey("regions.code"), nullable=False),  # the street
    Column("questions", JSON, nullable=False),
    Column("active", Boolean, nullable=False),  # open for answers
    Column("created_by", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_surveys_region_code", "region_code"),
)

survey_answers = Table(
    # one answer: from the public page (a device, never a person) or an evaluator's interview
    "survey_answers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("survey_id", Integer, ForeignKey("surveys.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("channel", String(16), nullable=False),  # public / interview
    Column("device", String(64), nullable=True),  # SHA-256 of the device cookie (public answers)
    Column("entered_by", String(64), nullable=True),  # the evaluator's login (interviews)
    Column("answer_values", JSON, nullable=False),  # by question number: option, 1–5 or text
    UniqueConstraint("survey_id", "device", name="uq_survey_answers_device"),
    Index("ix_survey_answers_at", "at"),
)


# --- the work programme (专项行动) and supervision orders (督查督办) --------------------------

unit_aliases = Table(
    # names a plan may use for a unit (城管局 = 城市管理局), editable
    "unit_aliases", metadata,
    Column("alias", String(200), primary_key=True),
    Column("unit_code", _code(), ForeignKey("units.code"), nullable=False),
)

plans = Table(
    "plans", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("start_date", Date, nullable=False),  # a task's start unless it names its own
    Column("created_by", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

plan_tasks = Table(
    # a section, task or sub-task (code 1 / 1.1 / 1.1.1); a node without a lead unit groups others
    "plan_tasks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", Integer, ForeignKey("plans.id"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("title", Text, nullable=False),
    Column("content", Text, nullable=False, default=""),
    Column("lead_unit", _code(), ForeignKey("units.code"), nullable=True),
    Column("responsible", String(100), nullable=True),  # 责任人: name
    Column("responsible_post", String(100), nullable=True),
    Column("responsible_login", String(64), nullable=True),
    Column("target_text", Text, nullable=True),
    Column("target_value", String(32), nullable=True),  # a decimal number, as text
    Column("target_unit", String(16), nullable=True),
    Column("start_date", Date, nullable=True),
    Column("deadline_date", Date, nullable=True),
    Column("deadline_limit", String(32), nullable=True),  # a working-time limit from the start
    Column("due_at", UTCDateTime, nullable=True),  # the deadline as an instant
    Column("closed_at", UTCDateTime, nullable=True),
    Column("closed_by", String(64), nullable=True),
    UniqueConstraint("plan_id", "code", name="uq_plan_tasks_plan_id_code"),
    Index("ix_plan_tasks_lead_unit", "lead_unit"),
)

plan_task_units = Table(
    # cooperating units (配合单位)
    "plan_task_units", metadata,
    Column("task_id", Integer, ForeignKey("plan_tasks.id"), primary_key=True),
    Column("unit_code", _code(), ForeignKey("units.code"), primary_key=True),
    Index("ix_plan_task_units_unit_code", "unit_code"),
)

plan_milestones = Table(
    "plan_milestones", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", Integer, ForeignKey("plan_tasks.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("due", Date, nullable=False),
)

plan_progress = Table(
    # a progress report by the lead unit (kind report) or a cooperating unit's note (kind note)
    "plan_progress", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", Integer, ForeignKey("plan_tasks.id"), nullable=False, index=True),
    Column("kind", String(8), nullable=False),
    Column("unit_code", _code(), ForeignKey("units.code"), nullable=True),
    Column("percent", String(32), nullable=True),  # a decimal, as text
    Column("value", String(32), nullable=True),
    Column("text", Text, nullable=False),
    Column("milestones", JSON, nullable=False),  # names reached
    Column("sent_by", String(64), nullable=True),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),  # sent / accepted / returned
    Column("reviewed_by", String(64), nullable=True),
    Column("reviewed_at", UTCDateTime, nullable=True),
    Column("review_reason", Text, nullable=True),
)

plan_progress_photos = Table(
    "plan_progress_photos", metadata,
    Column("report_id", Integer, ForeignKey("plan_progress.id"), primary_key=True),
    Column("photo_id", String(64), ForeignKey("photos.id"), primary_key=True),
    Index("ix_plan_progress_photos_photo_id", "photo_id"),
)

plan_pauses = Table(
    "plan_pauses", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", Integer, ForeignKey("plan_tasks.id"), nullable=False, index=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("reason", Text, nullable=False),
    Column("paused_by", String(64), nullable=True),
    Column("resumed_by", String(64), nullable=True),
)

supervision_orders = Table(
    "supervision_orders", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("year", Integer, nullable=False),
    Column("serial", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("content", Text, nullable=False),
    Column("unit_code", _code(), ForeignKey("units.code"), nullable=False, index=True),
    Column("origin", String(16), nullable=False),  # task / case / project / legacy / free
    Column("task_id", Integer, ForeignKey("plan_tasks.id"), nullable=True),
    Column("case_no", String(20), ForeignKey("cases.case_no"), nullable=True),
    Column("origin_ref", String(64), nullable=True),  # a project's or legacy issue's id
    Column("time_limit", String(32), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("issued_by", String(64), nullable=True),
    Column("due_at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("raised_level", String(8), nullable=False),  # by hand; blue: never raised
    Column("signed_off_at", UTCDateTime, nullable=True),
    Column("signed_off_by", String(64), nullable=True),
    UniqueConstraint("year", "serial", name="uq_supervision_orders_year_serial"),
)

supervision_replies = Table(
    "supervision_replies", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("supervision_orders.id"), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("sent_by", String(64), nullable=True),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),  # sent / accepted / returned
    Column("reviewed_by", String(64), nullable=True),
    Column("reviewed_at", UTCDateTime, nullable=True),
    Column("review_reason", Text, nullable=True),
)


# --- field evaluation (考评) ----------------------------------------------------------------

standards = Table(
    # a field-evaluation standard (考评标准) of a year; its items below
    "standards", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("year", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=True),
    UniqueConstraint("name", "year", name="uq_standards_name_year"),
)

standard_items = Table(
    "standard_items", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("standard_id", Integer, ForeignKey("standards.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),  # the sheet's order
    Column("headings", JSON, nullable=False),  # the levels above the item, top first
    Column("description", Text, nullable=False),
    Column("points", Float, nullable=False),
    Column("rule", String(16), nullable=False),  # per_occurrence / pass_fail
    Column("each", Float, nullable=False),
    Column("kinds", JSON, nullable=False),  # point kinds it applies to; []: every kind
    Column("matter_code", String(5), nullable=False),
)

evaluation_points = Table(
    # places evaluated in the field (测评点位): a ledger of places other features may reuse
    "evaluation_points", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("geometry", LargeBinary, nullable=False),  # WKB, WGS84 lon/lat: point, line or polygon
    Column("lon", Float, nullable=False),  # a representative point inside the geometry
    Column("lat", Float, nullable=False),
    Column("street_code", _code(15), ForeignKey("regions.code"), nullable=True, index=True),
    Column("community_code", _code(15), ForeignKey("regions.code"), nullable=True),
    Column("grids", JSON, nullable=False),  # the grid codes the geometry touches
    Column("unit_code", _code(), ForeignKey("units.code"), nullable=True),  # the evaluated unit
    Column("active", Boolean, nullable=False, default=True),
)

rounds = Table(
    # an inspection round (考评检查) of a month against a standard
    "rounds", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("standard_id", Integer, ForeignKey("standards.id"), nullable=False),
    Column("period", String(8), nullable=False, index=True),  # the month, e.g. 2026-11
    Column("seed", BigInteger, nullable=False),
    Column("per_kind", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # open / closed / published
    Column("planned_at", UTCDateTime, nullable=False),
    Column("planned_by", String(64), nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("closed_by", String(64), nullable=True),
    Column("published_at", UTCDateTime, nullable=True),
    Column("published_by", String(64), nullable=True),
    Column("booked_period", String(8), nullable=True, index=True),  # the month it counts in
)

round_points = Table(
    # the sample of a round, each point as it was when sampled, and its score once closed
    "round_points", metadata,
    Column("round_id", Integer, ForeignKey("rounds.id"), primary_key=True),
    Column("point_id", Integer, ForeignKey("evaluation_points.id"), primary_key=True),
    Column("fixed", Boolean, nullable=False, default=False),  # added by hand, not drawn
    Column("kind", String(32), nullable=False),
    Column("street_code", _code(15), nullable=True),
    Column("community_code", _code(15), nullable=True),
    Column("unit_code", _code(), nullable=True),
    Column("done_at", UTCDateTime, nullable=True),
    Column("done_by", String(64), nullable=True),
    Column("score", Float, nullable=True),  # set when the round closes
)

round_deductions = Table(
    "round_deductions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("round_id", Integer, ForeignKey("rounds.id"), nullable=False),
    Column("point_id", Integer, ForeignKey("evaluation_points.id"), nullable=False),
    Column("item_id", Integer, ForeignKey("standard_items.id"), nullable=False),
    Column("count", Integer, nullable=False),
    Column("note", Text, nullable=True),
    Column("recorded_by", String(64), nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("case_no", String(20), ForeignKey("cases.case_no"), nullable=True),  # on close
    Index("ix_round_deductions_round_id_point_id", "round_id", "point_id"),
)

round_deduction_photos = Table(
    # a deduction's photos with the browser's position at capture and the distance to the point
    "round_deduction_photos", metadata,
    Column("deduction_id", Integer, ForeignKey("round_deductions.id"), primary_key=True),
    Column("photo_id", String(64), ForeignKey("photos.id"), primary_key=True),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("distance_m", Float, nullable=True),
    Index("ix_round_deduction_photos_photo_id", "photo_id"),
)
