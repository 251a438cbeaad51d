"""Ordered schema migrations of the bot's store, recorded in the database itself.

Each migration is a function registered with `@migration`; it runs once, in registration order,
inside one transaction together with the row in `_migrations` that records it, so a process
killed mid-migration leaves the schema at the previous version, never half-migrated.
Append new migrations at the end; never edit or reorder one that has shipped.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Callable

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


def applied(db: sqlite_utils.Database) -> list[str]:
    if "_migrations" not in db.table_names():
        return []
    return [r["name"] for r in db.query("select name from _migrations order by rowid")]


def migrate(db: sqlite_utils.Database, migrations: list[Migration] | None = None) -> list[str]:
    """Apply the migrations not yet recorded; return the names applied now.

    The connection must be in autocommit mode (isolation_level=None) so that the explicit
    transaction below also covers DDL statements.
    """
    db.execute("create table if not exists _migrations (name text primary key, applied_at text not null)")
    done, ran = set(applied(db)), []
    for fn in MIGRATIONS if migrations is None else migrations:
        if fn.__name__ in done:
            continue
        db.execute("begin immediate")
        try:
            fn(db)
            db.execute("insert into _migrations (name, applied_at) values (?, ?)",
                       [fn.__name__, datetime.now().astimezone().isoformat(timespec="seconds")])
        except BaseException:
            db.execute("rollback")
            raise
        db.execute("commit")
        ran.append(fn.__name__)
    return ran


@migration
def m001_initial(db: sqlite_utils.Database) -> None:
    db.execute("""
        create table answers (
            id integer primary key,
            platform text not null,
            chat text not null,
            user_hash text not null,      -- SHA-256 of platform:user id, never the raw id
            question text not null,
            answer text not null,
            refused integer not null,
            reason text not null,
            passages text not null,       -- JSON list of cited passage ids
            timings text not null,        -- JSON object of stage timings in ms
            model text,
            index_version text,
            created_at text not null      -- local ISO time with offset
        )""")
    db.execute("""
        create table feedback (
            answer_id integer not null references answers(id),
            user_hash text not null,
            value integer not null check (value in (-1, 1)),
            created_at text not null,
            primary key (answer_id, user_hash)  -- one vote per user per answer
        )""")
    db.execute("""
        create table audit (
            id integer primary key,
            platform text not null,
            user_hash text not null,
            action text not null,
            allowed integer not null,
            detail text not null,
            created_at text not null
        )""")


@migration
def m002_lang_and_day_indexes(db: sqlite_utils.Database) -> None:
    """Record the answer's language; index the columns `stats` and `status` filter by."""
    db.execute("alter table answers add column lang text")
    db.execute("create index answers_created_at on answers (created_at)")
    db.execute("create index audit_created_at on audit (created_at)")


@migration
def m003_user_hash_key(db: sqlite_utils.Database) -> None:
    """A random key of this store for hashing user ids (HMAC-SHA-256): chat platforms' user ids are
    small integers, so their plain SHA-256 could be reversed by trying them all. Rows written
    before keep their unkeyed hashes (the raw ids are not there to rehash)."""
    db.execute("create table store_keys (name text primary key, value text not null)")
    db.execute("insert into store_keys (name, value) values ('user_hash', ?)", [secrets.token_hex(32)])
