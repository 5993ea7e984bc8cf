"""The SQLite connection: WAL, busy timeout, foreign keys, migrations and the one write path.

A `Store` wraps one `sqlite3` connection and is bound to the thread that opened it (Python's
`check_same_thread`). Give each thread its own `Store` on the same file; WAL lets readers run
while one writer commits, and the busy timeout makes concurrent writers queue instead of failing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from mmla_core.store.schema import MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_S = 30.0


class StoreError(RuntimeError):
    """The database file could not be opened or is not an MMLA Studio database."""


class Store:
    """One connection to a project database (a single `.sqlite` file)."""

    def __init__(self, path: str | Path, *, migrate: bool = True):
        self.path = Path(path)
        self.thread_id = threading.get_ident()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S)
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            # Bulk prediction logging is ~15% faster on 16 KiB pages (docs/benchmarks.md); it
            # only takes effect on a new file, before WAL is switched on.
            conn.execute("PRAGMA page_size = 16384")
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable SQLite database ({exc})") from exc
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL is durable across app crashes
        # Bulk logging (predictions, training events) wants a warm page cache and fewer, larger
        # WAL checkpoints; both cost only memory / WAL size on a desktop.
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("PRAGMA wal_autocheckpoint = 8000")
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        if migrate and self.schema_version() < SCHEMA_VERSION:
            self._migrate()

    def _migrate(self) -> None:
        """Under the write lock: threads or processes opening a fresh file at once queue here,
        and whoever comes second finds nothing pending (no 'duplicate column')."""
        with self.write():
            MIGRATIONS.apply(self.db)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """The one write path: a `BEGIN IMMEDIATE` transaction, committed on exit.

        IMMEDIATE takes the write lock up front, so two writers wait on the busy timeout instead of
        deadlocking on a read->write upgrade. Nested calls become savepoints of the outer one.
        """
        if self.conn.in_transaction:
            with self.db.atomic():
                yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict]:
        """Rows of a read query as dicts."""
        cursor = self.conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def scalar(self, sql: str, params: tuple | dict = ()):
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def schema_version(self) -> int:
        return int(self.scalar("PRAGMA user_version"))

    def integrity_ok(self) -> bool:
        return self.scalar("PRAGMA integrity_check") == "ok"

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_store(path: str | Path) -> Store:
    """Open (creating and migrating if needed) the project database at `path`."""
    store = Store(path)
    if store.schema_version() > SCHEMA_VERSION:
        store.close()
        raise StoreError(
            f"{path}: schema version is newer than this MMLA Studio understands "
            f"({SCHEMA_VERSION}); upgrade the app"
        )
    return store
