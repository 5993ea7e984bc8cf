"""The SQLite connection: WAL, busy timeout, foreign keys, migrations and the one write path.

A `Store` wraps one `sqlite3` connection and is bound to the thread that opened it (Python's
`check_same_thread`). Give each thread its own `Store` on the same file; WAL lets readers run
while one writer commits, and the busy timeout makes concurrent writers queue instead of failing.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import sqlite_utils

from mmla_core.store.schema import MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_S = 30.0


class StoreError(RuntimeError):
    """The database file could not be opened or is not an MMLA Studio database."""


def missing_folder_message(path: Path) -> str:
    """Why a project in a folder that does not exist is not opened (only creators make one)."""
    what = "is not a folder" if path.parent.exists() else "does not exist"
    return f"{path.parent} {what}; `mmla new {path}` creates a project there"


class Store:
    """One connection to a project database (a single `.sqlite` file)."""

    def __init__(self, path: str | Path, *, migrate: bool = True, read_only: bool = False):
        # Absolute, so paths derived from it (the variants folder) mean the same from any cwd.
        self.path = Path(path).absolute()
        self.thread_id = threading.get_ident()
        self.read_only: str | None = None  # why the project can only be read, or None
        if not self.path.parent.is_dir():   # a typo must not become new folders + a project
            raise StoreError(missing_folder_message(self.path))
        try:
            if read_only:   # a rank writing shards (eval.shards): never touch the shared file
                raise sqlite3.OperationalError("opened read-only: this rank writes shards")
            conn = self._connect_writable()
        except sqlite3.OperationalError as exc:
            if is_lock_contention(exc):  # busy is not read-only: never fall back on it
                raise StoreError(f"{self.path}: another connection held the project's lock "
                                 f"for over {BUSY_TIMEOUT_S:.0f} s ({exc}); try again") from exc
            conn = self._connect_read_only(exc)
            if read_only:
                self.read_only = ("opened read-only on purpose (a rank writing shards, "
                                  "--db-mode shards)")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable SQLite database ({exc})") from exc
        conn.execute("PRAGMA foreign_keys = ON")
        if not self.read_only:
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL survives app crashes
        # Bulk logging (predictions, training events) wants a warm page cache and fewer, larger
        # WAL checkpoints; both cost only memory / WAL size on a desktop.
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("PRAGMA wal_autocheckpoint = 8000")
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        if migrate and self.schema_version() < SCHEMA_VERSION:
            if self.read_only:
                raise StoreError(f"{self.path}: {self.read_only}, and its schema needs an "
                                 "upgrade this app cannot write; copy it somewhere writable")
            self._migrate()

    def _connect_writable(self) -> sqlite3.Connection:
        """Retries while the file is locked: switching a fresh file to WAL needs its exclusive
        lock, and SQLite reports "database is locked" there without waiting on the busy
        timeout when several connections open a new project at once (a window's threads)."""
        if self.path.exists() and not _writable_place(self.path):
            raise sqlite3.OperationalError("attempt to write a readonly database")
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                return self._connect_writable_once()
            except sqlite3.OperationalError as exc:
                if not is_lock_contention(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(LOCK_RETRY_S)

    def _connect_writable_once(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            # Bulk prediction logging is ~15% faster on 16 KiB pages (docs/benchmarks.md); it
            # only takes effect on a new file, before WAL is switched on.
            conn.execute("PRAGMA page_size = 16384")
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    def _connect_read_only(self, why: sqlite3.OperationalError) -> sqlite3.Connection:
        """A project on a read-only mount (or a file we may not write) can still be looked at.

        `mode=ro` first (it still sees other processes' commits); where SQLite cannot even
        keep its WAL index there, `immutable=1`: nobody can write that file anyway.
        """
        if not self.path.is_file():
            raise StoreError(f"{self.path}: cannot create the project database "
                             f"({describe_sqlite_error(why)})") from why
        try:
            conn = read_only_connection(self.path, timeout=BUSY_TIMEOUT_S)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot be opened, even read-only ({why}; "
                             f"{exc})") from why
        self.read_only = "the project is on a read-only file system or not writable"
        return conn

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
        if self.read_only:
            raise StoreError(f"{self.path}: {self.read_only}; opened read-only, so nothing "
                             "can be saved (copy the project somewhere writable)")
        if self.conn.in_transaction:
            with self.db.atomic():
                yield self.conn
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.rollback()
                raise
            self.conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self.conn.in_transaction:
                self.conn.rollback()
            if is_storage_error(exc):
                raise StoreError(f"{self.path}: {describe_sqlite_error(exc)}; this change "
                                 "was not saved, everything saved before is intact") from exc
            raise

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


STORAGE_ERRORS = {
    "database or disk is full": "the disk is full",
    "attempt to write a readonly database": "the project file is read-only",
    "disk i/o error": "the disk reported an I/O error",
    "unable to open database file": "the file or its folder cannot be opened for writing",
}


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The row id of the row that `cursor`'s INSERT just added."""
    if cursor.lastrowid is None:  # sqlite3 sets it after every INSERT; None: no INSERT ran
        raise StoreError("no row id: the statement inserted no row")
    return cursor.lastrowid


LOCK_RETRY_S = 0.02


def is_lock_contention(exc: sqlite3.Error) -> bool:
    """Another connection holds a lock: wait and retry, the file itself is fine."""
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


def is_storage_error(exc: sqlite3.Error) -> bool:
    return any(key in str(exc).lower() for key in STORAGE_ERRORS)


def describe_sqlite_error(exc: sqlite3.Error) -> str:
    """SQLite's message in words a user can act on ("the disk is full"), else as it is."""
    text = str(exc)
    return next((f"{words} ({text})" for key, words in STORAGE_ERRORS.items()
                 if key in text.lower()), text)


def peek_schema_version(path: str | Path, *, timeout: float = BUSY_TIMEOUT_S) -> int:
    """A project file's schema version, read on a read-only connection (nothing migrated)."""
    conn = read_only_connection(path, timeout=timeout)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def read_only_connection(path: str | Path, *, timeout: float = BUSY_TIMEOUT_S
                         ) -> sqlite3.Connection:
    """A connection that never writes: `mode=ro`, else (a WAL file on a read-only mount, where
    SQLite cannot keep its shared-memory index) `immutable=1`. Raises sqlite3.DatabaseError."""
    uri = f"file:{quote(str(Path(path).absolute()))}?mode=ro"
    error: sqlite3.DatabaseError | None = None
    for options in ("", "&immutable=1"):
        conn = None
        try:
            conn = sqlite3.connect(uri + options, uri=True, timeout=timeout)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.DatabaseError as exc:
            error = exc
            if conn is not None:
                conn.close()  # an open handle would keep the mount busy
            if is_lock_contention(exc):  # immutable=1 would read past the WAL: stale data
                raise
    assert error is not None  # each of the two tries returned or set it
    raise error


def _writable_place(path: Path) -> bool:
    """False on a read-only mount (even for root, who passes every permission check)."""
    try:
        if os.statvfs(path.parent).f_flag & os.ST_RDONLY:
            return False
    except (OSError, AttributeError):  # no statvfs (Windows): let SQLite find out
        pass
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


READ_ONLY_ENV = "MMLA_DB_READ_ONLY"   # set by a rank in --db-mode shards, for its children too


def open_store(path: str | Path, *, read_only: bool | None = None) -> Store:
    """Open (creating and migrating if needed) the project database at `path`; `read_only`
    (default: the MMLA_DB_READ_ONLY environment variable) opens it without ever writing."""
    if read_only is None:
        read_only = os.environ.get(READ_ONLY_ENV, "") not in ("", "0")
    store = Store(path, read_only=read_only)
    if store.schema_version() > SCHEMA_VERSION:
        store.close()
        raise StoreError(
            f"{path}: schema version is newer than this MMLA Studio understands "
            f"({SCHEMA_VERSION}); upgrade the app"
        )
    return store
