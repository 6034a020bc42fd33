"""The shared service's tables: one schema for SQLite (the default) and PostgreSQL.

Why these tables and not more: the service has to answer, for an information-governance
reviewer, *who* did *what* to *which* figures and *when*, and for a planner, *which* returns,
decisions and run a published plan rests on. So everything a person submits is a new row
(``returns``, ``return_files``, ``decisions``, ``publications``): nothing is overwritten, a
later version simply has a higher number, and a run records the versions it used. The audit
log is append-only in the database itself (triggers created by the migration), so the app
cannot edit it even by mistake.

The schema is changed only by an Alembic migration (``store/migrations/versions``); a test
checks the migrations build exactly these tables.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

#: Constraint names fixed by convention, so migrations on both engines name them the same.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

#: The roles a person can hold (docs/service.md says what each may see and do).
ROLES = ("admin", "analyst", "office_lead", "reviewer", "viewer")
#: What a local office returns: capacity and cohort returns, and TIS post records.
RETURN_KINDS = ("capacity", "cohorts", "post_records")
RETURN_STATUSES = ("draft", "submitted")
DECISIONS = ("accept", "reject", "propose")
JOB_KINDS = ("run", "uncertainty", "calibrate")
JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled")

TZ = DateTime(timezone=True)
ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER only

accounts = Table(
    "accounts", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("username", String(120), nullable=False, unique=True),  # stored lower-case
    Column("display_name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    # office_lead: their local office; reviewer: optional (None = national group)
    Column("office", String(120)),
    Column("specialty", String(120)),  # reviewer: the specialty they review
    Column("password_hash", Text),  # argon2id; None for accounts that sign in by OIDC only
    Column("oidc_subject", String(255), unique=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", TZ),
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
)

sessions = Table(
    "sessions", metadata,
    # SHA-256 of the session token: a copy of the database cannot be used to sign in.
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("last_seen", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
    Index("ix_sessions_account", "account_id"),
)

login_attempts = Table(
    "login_attempts", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("username", String(120), nullable=False),
    Column("client", String(64), nullable=False),  # the client address, for throttling
    Column("at", TZ, nullable=False),
    Column("success", Boolean, nullable=False),
    Index("ix_login_attempts_username_at", "username", "at"),
    Index("ix_login_attempts_client_at", "client", "at"),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("at", TZ, nullable=False),
    Column("actor", String(120), nullable=False),  # username, or "system" / "cli"
    Column("action", String(60), nullable=False),  # e.g. sign_in, return_submitted, published
    Column("target", String(255)),  # what it acted on: "return 12", "account bob", "run <id>"
    Column("detail", JSON),  # never a password, token or file content (audit.record checks)
    Column("client", String(64)),
    Index("ix_audit_log_at", "at"),
)

runs = Table(
    "runs", metadata,
    Column("seq", ID, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created", String(40), nullable=False),
    Column("saved", String(40), nullable=False),
    Column("scenario_name", String(200)),
    Column("scenario_digest", String(64)),
    Column("inputs_digest", String(64)),
    Column("vintages_digest", String(64)),
    Column("demonstration", Boolean),
    Column("version", String(40)),
    Column("tables", JSON, nullable=False),  # {table name: sha256}
    Column("metadata", JSON, nullable=False),  # the run.json content
    Index("ix_runs_name", "name"),
)

run_tables = Table(
    "run_tables", metadata,
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),  # Parquet bytes, fixed options (store.runs)
)

returns = Table(
    "returns", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("office", String(120), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("version", Integer, nullable=False),  # 1, 2, ... per office and kind
    Column("status", String(20), nullable=False),
    Column("note", Text),
    Column("rows", Integer, nullable=False),
    Column("digest", String(64), nullable=False),  # SHA-256 over its files' digests
    Column("submitted_by", ID, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", TZ, nullable=False),
    UniqueConstraint("office", "kind", "version", name="uq_returns_office_kind_version"),
)

return_files = Table(
    "return_files", metadata,
    Column("return_id", ID, ForeignKey("returns.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(20), primary_key=True),  # capacity | cohorts | posts | placements
    Column("filename", String(255), nullable=False),  # as uploaded, for display only
    Column("sha256", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),  # the bytes as uploaded
)

publications = Table(
    "publications", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("version", Integer, nullable=False, unique=True),  # 1, 2, ...: the current is max
    Column("run_id", String(64), ForeignKey("runs.id"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("note", Text, nullable=False),
    Column("published_by", ID, ForeignKey("accounts.id"), nullable=False),
    Column("published_at", TZ, nullable=False),
)

decisions = Table(
    "decisions", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.id"), nullable=False),
    # The recommendation decided on: "<area>|<specialty>|<year>|<org_code or post number>"
    Column("recommendation", String(400), nullable=False),
    Column("specialty", String(120), nullable=False),
    Column("area", String(120), nullable=False),
    Column("decision", String(20), nullable=False),
    Column("reason", Text),
    Column("proposed", String(120)),  # another post number or trust code, for "propose"
    Column("decided_by", ID, ForeignKey("accounts.id"), nullable=False),
    Column("decided_at", TZ, nullable=False),
    Index("ix_decisions_run_specialty", "run_id", "specialty"),
)

jobs = Table(
    "jobs", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("params", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("progress", Float, nullable=False, default=0.0),  # 0..1
    Column("message", Text),
    Column("result", JSON),  # e.g. {"run_id": ...}
    Column("error", Text),
    Column("created_by", ID, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("started_at", TZ),
    Column("finished_at", TZ),
    Column("worker", String(120)),
    Column("heartbeat_at", TZ),
    # how many times a worker has taken it; a job whose workers keep dying is failed, not
    # retried for ever (store/jobs.py MAX_ATTEMPTS)
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Index("ix_jobs_status", "status", "id"),
)
