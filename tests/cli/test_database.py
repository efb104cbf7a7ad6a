"""The CLI with a database that is missing, mistyped or not a database: a plain message and a
non-zero exit, never a crash and never a new empty database in its place."""
import os
import subprocess

from pathlib import Path

HERALD = os.path.abspath(os.environ.get("HERALD_BIN") or Path(__file__).resolve().parents[2] / ".build" / "debug" / "herald")


def herald(*arguments, cwd):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    return subprocess.run([HERALD, *arguments], capture_output=True, text=True, timeout=120, cwd=cwd, env=environment)


def test_a_mistyped_database_is_not_made_by_a_command_that_reads(tmp_path):
    for command in (["user", "list"], ["user", "token", "--email", "a@example.com", "--name", "x"], ["export", "--module", "contacts"]):
        run = herald(*command, "--database", "typo.sqlite", cwd=tmp_path)
        assert run.returncode != 0, command
        assert "no database at typo.sqlite" in run.stderr, (command, run.stderr)
        assert not (tmp_path / "typo.sqlite").exists(), command


def test_a_file_that_is_no_database_is_a_message_not_a_crash(tmp_path):
    (tmp_path / "notes.sqlite").write_text("hello, not a database\n")
    run = herald("migrate", "--database", "notes.sqlite", cwd=tmp_path)
    assert run.returncode == 1, run.stderr[-2000:]
    assert "file is not a database" in run.stderr
    assert "Program crashed" not in run.stderr and "Backtrace" not in run.stderr


def test_another_applications_database_is_refused_and_left_as_it_was(tmp_path):
    import sqlite3
    path = tmp_path / "shop.sqlite"
    with sqlite3.connect(path) as shop:
        shop.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    before = path.read_bytes()
    for command in (["migrate"], ["user", "list"]):
        run = herald(*command, "--database", "shop.sqlite", cwd=tmp_path)
        assert run.returncode == 1, command
        assert "tables of another application (invoices)" in run.stderr, run.stderr[-2000:]
    with sqlite3.connect(path) as shop:
        assert [r[0] for r in shop.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["invoices"]
    assert path.read_bytes() == before, "not a byte changed (WAL mode is written into the file)"


def test_an_import_file_that_is_a_folder_or_missing_is_named(tmp_path):
    (tmp_path / "exports").mkdir()
    folder = herald("import", "--database", "h.sqlite", "--module", "contacts", "--file", "exports", cwd=tmp_path)
    assert folder.returncode == 1 and "--file: exports is a folder" in folder.stderr, folder.stderr
    assert "NSCocoaErrorDomain" not in folder.stderr
    missing = herald("import", "--database", "h.sqlite", "--module", "contacts", "--file", "people.csv", cwd=tmp_path)
    assert missing.returncode == 1 and "--file: no file at people.csv" in missing.stderr
    assert not (tmp_path / "h.sqlite").exists(), "nothing is made for a file that is not there"
