"""`stocklean db upgrade`: apply the Alembic migrations to the configured database."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="database maintenance")
    db_commands = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade_parser = db_commands.add_parser("upgrade", help="apply migrations up to head")
    upgrade_parser.add_argument("--revision", default="head")
    upgrade_parser.set_defaults(handler=upgrade)


def upgrade(args: argparse.Namespace) -> int:
    from app.config import get_settings
    from app.db import make_engine
    from app.migrate import upgrade as apply_migrations

    settings = get_settings()
    engine = make_engine(settings.database_url)
    apply_migrations(engine, args.revision)
    engine.dispose()
    print(
        f"database at revision {args.revision}: {engine.url.render_as_string(hide_password=True)}"
    )
    return 0
