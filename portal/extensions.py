"""Extension objects, created unbound so that create_app() can configure them in order."""

from typing import TYPE_CHECKING

from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names, so that Alembic can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class PortalSession(Session):
    """Flask-SQLAlchemy's session (its documented ``class_`` option), which also honours a
    connection it was created with.

    Flask-SQLAlchemy picks an engine by bind key and ignores ``bind=``; a no-transaction GET
    creates its session as ``db.session(bind=connection)`` (scoped_session's public API).
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and isinstance(self.bind, Connection):
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base, session_options={"class_": PortalSession})

# Every model subclasses Model: Flask-SQLAlchemy's db.Model at run time (table names, the
# session); for type checkers, which cannot follow an attribute used as a base class, the
# declarative base it is built on.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# gzip/brotli from the app itself, so a phone on a slow network gets small pages even without
# a compressing proxy in front.
compress = Compress()
# Limits are declared per view; storage comes from RATELIMIT_STORAGE_URI (Redis in production).
limiter = Limiter(key_func=get_remote_address)
