"""Sunshine Portal: borrower self-service for lawful, transparent, respectful collection."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import config as config_module


def create_app(config: dict | None = None) -> Flask:
    """Build the app in a fixed order: config, extensions, i18n, security, blueprints, CLI.

    ``config`` overrides what the environment says (tests use it); nothing here does I/O
    beyond reading configuration.
    """
    app = Flask(
        __name__,
        template_folder=str(config_module.ROOT / "templates"),
        static_folder=str(config_module.ROOT / "static"),
        instance_path=str(config_module.ROOT / "instance"),
    )
    app.config.from_mapping(config_module.load())
    if config:
        app.config.from_mapping(config)

    from portal.templating import LocalizedEnvironment, use_precompiled_translations

    if use_precompiled_translations(app):
        app.jinja_environment = LocalizedEnvironment  # before anything creates app.jinja_env

    if app.config["PROXY_HOPS"]:
        hops = app.config["PROXY_HOPS"]
        # Flask's documented way to wrap the WSGI app (its type stubs call the attribute a method).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from portal import database, i18n, security, templating
    from portal.access import sessions
    from portal.extensions import babel, compress, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    database.init_app(app)  # before the session loader: its query runs without a transaction on GET pages
    migrate.init_app(app, db, directory=str(config_module.ROOT / "migrations"))
    csrf.init_app(app)
    compress.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_babel_locale, timezone_selector=i18n.select_timezone)
    sessions.init_app(app, login_manager)
    security.init_app(app)
    templating.init_app(app)

    from portal.access.views import bp as access_bp
    from portal.accounts.views import bp as accounts_bp
    from portal.api.views import bp as api_bp
    from portal.collection.views import bp as collection_bp
    from portal.complaints.views import bp as complaints_bp
    from portal.errors import init_app as init_errors
    from portal.payments.views import bp as payments_bp
    from portal.plans.views import bp as plans_bp
    from portal.rights.views import bp as rights_bp
    from portal.staff.views import bp as staff_bp

    app.register_blueprint(access_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(rights_bp)
    app.register_blueprint(plans_bp)
    app.register_blueprint(complaints_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(collection_bp)
    app.register_blueprint(staff_bp)
    init_errors(app)
    # Last, so that it runs before every other after-request hook (portal/database.py).
    database.init_commit(app)

    from portal.cli import register

    register(app)
    return app
