"""psycopg2 decodes column names and status lines with the C UTF-8 decoder (kernel/db.py): text still reads back
whole, and bad bytes are still refused."""
import psycopg2
import pytest

from flightbook.kernel import db  # noqa: F401  (registers the codec)
from tests.conftest import PG_BASE


@pytest.fixture
def conn():
    try:
        connection = psycopg2.connect(f"{PG_BASE}/postgres")
    except psycopg2.OperationalError:
        pytest.skip("no PostgreSQL")
    yield connection
    connection.close()


def test_non_ascii_names_values_and_messages_read_back_whole(conn):
    cur = conn.cursor()
    cur.execute('SELECT \'é\' AS "naïve", %s AS "€"', ("ü€ 漢",))
    assert cur.fetchall() == [("é", "ü€ 漢")]
    assert [d.name for d in cur.description] == ["naïve", "€"] and cur.statusmessage == "SELECT 1"
    with pytest.raises(psycopg2.errors.UndefinedTable, match="tablé"):
        cur.execute("SELECT 1 FROM nonexistent_tablé")


def test_bytes_that_are_not_utf_8_are_refused_as_before(conn):
    with pytest.raises(psycopg2.DataError):
        conn.cursor().execute("SELECT convert_from('\\xc3'::bytea, 'UTF8')")
