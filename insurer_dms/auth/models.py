import datetime as dt
import enum
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import Boolean, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..types import Money, UTCDateTime, utcnow


class Role(str, enum.Enum):
    OPS = "ops"
    CONTRACTOR = "contractor"
    REVIEWER = "reviewer"


class ContractorCompany(db.Model):
    """An installation/maintenance company hired by the insurer."""

    __tablename__ = "contractor_company"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # What the insurer pays this company per installation (written to the cost ledger when an order closes).
    installation_fee: Mapped[Decimal | None] = mapped_column(Money())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("contractor_company.id"))
    locale: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    company: Mapped[ContractorCompany | None] = relationship()

    @property
    def is_active(self):
        return self.active


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """One login from a browser; the session cookie carries its secret, only the secret's SHA-256 is stored.

    Logging out deletes the row, a password change deletes all of the user's: a copy of the cookie kept from
    before no longer authenticates (Flask's session cookie is signed, not stored, so it cannot be revoked alone).
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()
