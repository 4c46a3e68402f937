"""The `techmap` console script, tested through its real entry point as subprocesses.

Every subprocess gets its own data directory and its own SQLite database named
explicitly in TECHMAP_DATABASE_URL, so a suite run against PostgreSQL never lets these
tests touch the shared PostgreSQL test database. Other TECHMAP_* variables of the
calling shell are removed so the tests see the documented defaults.

Also here: unit tests of the pieces the CLI is a thin layer over (settings, gazetteer,
statistic sentences) and the tests that settings and commands are documented.
"""

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command

from techmap import conf
from techmap.catalog import gazetteer
from techmap.catalog.stats import stats_sentences

REPO = Path(__file__).resolve().parent.parent
TECHMAP = Path(sys.executable).parent / "techmap"
# Every management command that techmap's own apps add.
TECHMAP_COMMANDS = sorted(
    p.stem
    for p in (REPO / "techmap").glob("*/management/commands/*.py")
    if not p.stem.startswith("_")
)


# --- helpers --------------------------------------------------------------------------------


def techmap_env(data_dir: Path, database_url: str | None = "default", **extra) -> dict:
    """The environment of a `techmap` subprocess: no inherited TECHMAP_* settings, its own data.

    database_url "default" means an explicit SQLite file in data_dir; None leaves
    TECHMAP_DATABASE_URL unset so the built-in default applies.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("TECHMAP_")}
    env["TECHMAP_DATA_DIR"] = str(data_dir)
    if database_url == "default":
        database_url = f"sqlite:///{data_dir / 'techmap.sqlite3'}"
    if database_url is not None:
        env["TECHMAP_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def run_techmap(*args, env: dict, check: bool = True, timeout: float = 180):
    """Run `techmap ARGS` and return the CompletedProcess; fail with its output when it fails."""
    result = subprocess.run(
        [str(TECHMAP), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"techmap {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def query(db_path: Path, sql: str, *params):
    """Rows of a query run straight on a SQLite file, bypassing Django."""
    con = sqlite3.connect(db_path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def scalar(db_path: Path, sql: str, *params):
    return query(db_path, sql, *params)[0][0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 10):
    """(status, headers, body text) of a GET, for error statuses too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def initialised(tmp_path_factory):
    """A data directory whose database `techmap init` has filled, shared read-only by a module."""
    data_dir = tmp_path_factory.mktemp("initialised")
    env = techmap_env(data_dir)
    run_techmap("init", env=env)
    return data_dir, env, data_dir / "techmap.sqlite3"


# --- techmap init ---------------------------------------------------------------------------


def test_init_on_an_empty_directory_creates_the_database_and_loads_entries(tmp_path):
    env = techmap_env(tmp_path)
    result = run_techmap("init", env=env)
    db = tmp_path / "techmap.sqlite3"
    assert db.exists()
    assert "Database ready" in result.stdout
    assert scalar(db, "select count(*) from catalog_entry") > 0
    assert scalar(db, "select count(*) from catalog_company") > 0
    assert scalar(db, "select count(*) from catalog_country") == len(gazetteer.all_countries())
    # Every published entry has at least one source.
    unsourced = query(
        db,
        """
        select e.public_id from catalog_entry e
        where e.status = 'published'
          and not exists (select 1 from catalog_entrysource s where s.entry_id = e.id)""",
    )
    assert unsourced == []


def test_init_twice_reports_nothing_changed_and_leaves_the_database_identical(tmp_path):
    env = techmap_env(tmp_path)
    run_techmap("init", env=env)
    dump_args = ("dumpdata", "catalog", "--indent", "0")
    before = run_techmap(*dump_args, env=env).stdout
    second = run_techmap("init", env=env)
    after = run_techmap(*dump_args, env=env).stdout
    assert "nothing" in second.stdout.lower(), second.stdout
    assert json.loads(before), "the dump should hold the loaded rows"
    # The dump holds every catalog row with its `updated` timestamp, so any write shows up.
    assert after == before


def test_init_empty_loads_companies_categories_and_topics_but_no_entries(tmp_path):
    env = techmap_env(tmp_path)
    run_techmap("init", "--empty", env=env)
    db = tmp_path / "techmap.sqlite3"
    assert scalar(db, "select count(*) from catalog_company") > 0
    assert scalar(db, "select count(*) from catalog_category") > 0
    assert scalar(db, "select count(*) from catalog_topic") > 0
    assert scalar(db, "select count(*) from catalog_entry") == 0


def test_database_url_puts_the_sqlite_database_at_that_path(tmp_path):
    data_dir = tmp_path / "data"
    elsewhere = tmp_path / "elsewhere" / "chosen.sqlite3"
    elsewhere.parent.mkdir()
    env = techmap_env(data_dir, database_url=f"sqlite:///{elsewhere}")
    run_techmap("init", env=env)
    assert elsewhere.exists()
    assert scalar(elsewhere, "select count(*) from catalog_entry") > 0
    assert not (data_dir / "techmap.sqlite3").exists()


def test_without_database_url_the_database_is_a_sqlite_file_in_the_data_dir(tmp_path):
    env = techmap_env(tmp_path, database_url=None)
    assert "TECHMAP_DATABASE_URL" not in env
    run_techmap("init", "--empty", env=env)
    assert scalar(tmp_path / "techmap.sqlite3", "select count(*) from catalog_category") > 0


def test_every_command_creates_the_schema_first(tmp_path):
    env = techmap_env(tmp_path)
    result = run_techmap("stats", "--json", env=env)
    assert json.loads(result.stdout)["entries"] == 0
    assert scalar(tmp_path / "techmap.sqlite3", "select count(*) from catalog_entry") == 0


def test_a_command_brings_a_database_behind_on_migrations_up_to_date(tmp_path):
    """Commands skip the migrate step only when nothing is left to apply."""
    env = techmap_env(tmp_path)
    run_techmap("stats", "--json", env=env)
    db = tmp_path / "techmap.sqlite3"
    latest = "select max(name) from django_migrations where app = 'catalog'"
    newest = scalar(db, latest)
    run_techmap("migrate", "catalog", "0006", env=env)  # one step back, as before an upgrade
    assert scalar(db, latest) < newest
    run_techmap("stats", "--json", env=env)
    assert scalar(db, latest) == newest


# --- techmap stats --------------------------------------------------------------------------


def _direct_counts(db: Path) -> dict:
    """The statistics counted with plain SQL, independently of techmap.catalog.stats."""
    published = "select id, category_id, country_id from catalog_entry where status = 'published'"
    per_category = {
        slug: (n, c)
        for slug, n, c in query(
            db,
            f"""
            select cat.slug, count(e.id), count(distinct e.country_id)
            from ({published}) e join catalog_category cat on cat.id = e.category_id
            group by cat.slug""",
        )
    }
    per_company = {
        slug: (n, c)
        for slug, n, c in query(
            db,
            f"""
            select co.slug, count(distinct e.id), count(distinct e.country_id)
            from ({published}) e
            join catalog_entry_companies ec on ec.entry_id = e.id
            join catalog_company co on co.id = ec.company_id
            group by co.slug""",
        )
    }
    return {
        "entries": scalar(db, f"select count(*) from ({published})"),
        "companies": scalar(
            db,
            f"""
            select count(distinct ec.company_id) from catalog_entry_companies ec
            join ({published}) e on e.id = ec.entry_id""",
        ),
        "countries": scalar(db, f"select count(distinct country_id) from ({published})"),
        "by_category": per_category,
        "by_company": per_company,
    }


def test_stats_json_has_the_documented_shape(initialised):
    _, env, _ = initialised
    stats = json.loads(run_techmap("stats", "--json", env=env).stdout)
    assert list(stats) == ["entries", "companies", "countries", "by_category", "by_company",
                           "by_country", "by_region", "data_points"]
    for key in ("entries", "companies", "countries"):
        assert isinstance(stats[key], int)
    assert stats["by_category"] and stats["by_company"]
    for row in stats["by_category"] + stats["by_company"]:
        assert list(row) == ["slug", "name", "name_zh", "entries", "countries"]
        assert isinstance(row["slug"], str) and isinstance(row["name"], str)
        assert isinstance(row["name_zh"], str)
        assert isinstance(row["entries"], int) and row["entries"] > 0
        assert isinstance(row["countries"], int)


def test_stats_json_numbers_match_a_direct_count_of_published_entries(initialised):
    _, env, db = initialised
    stats = json.loads(run_techmap("stats", "--json", env=env).stdout)
    direct = _direct_counts(db)
    assert stats["entries"] == direct["entries"]
    assert stats["companies"] == direct["companies"]
    assert stats["countries"] == direct["countries"]
    assert {r["slug"]: (r["entries"], r["countries"]) for r in stats["by_category"]} == (
        direct["by_category"]
    )
    assert {r["slug"]: (r["entries"], r["countries"]) for r in stats["by_company"]} == (
        direct["by_company"]
    )


def test_stats_counts_only_published_entries(tmp_path):
    env = techmap_env(tmp_path)
    run_techmap("init", env=env)
    db = tmp_path / "techmap.sqlite3"
    before = json.loads(run_techmap("stats", "--json", env=env).stdout)
    con = sqlite3.connect(db)
    with con:
        con.execute(
            "update catalog_entry set status = 'draft' where id = "
            "(select min(id) from catalog_entry where status = 'published')"
        )
    con.close()
    after = json.loads(run_techmap("stats", "--json", env=env).stdout)
    assert after["entries"] == before["entries"] - 1
    assert after["entries"] == _direct_counts(db)["entries"]


def test_plain_stats_prints_one_sentence_per_category_with_its_plural(initialised):
    _, env, db = initialised
    stats = json.loads(run_techmap("stats", "--json", env=env).stdout)
    lines = run_techmap("stats", env=env).stdout.splitlines()
    plurals = dict(query(db, "select slug, plural from catalog_category"))
    assert re.fullmatch(
        rf"{stats['entries']:,} points? of overseas presence for {stats['companies']:,} "
        rf"compan(y|ies) across {stats['countries']:,} countr(y|ies)\.",
        lines[0],
    ), lines[0]
    for row in stats["by_category"]:
        noun = row["name"] if row["entries"] == 1 else (plurals[row["slug"]] or row["name"])
        where = "1 country" if row["countries"] == 1 else f"{row['countries']:,} countries"
        assert f"{row['entries']:,} {noun} across {where}." in lines
    for row in stats["by_company"]:
        assert any(line.startswith(f"{row['name']}: {row['entries']:,} entr") for line in lines)


# --- techmap serve --------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path):
    """`techmap serve` on a free port, answering; the whole process group is killed afterwards."""
    env = techmap_env(tmp_path)
    run_techmap("init", env=env)
    port = free_port()
    log = open(tmp_path / "serve.log", "w+")  # closed in finally
    proc = subprocess.Popen(
        [str(TECHMAP), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # collectstatic compresses every asset first
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"techmap serve exited {proc.returncode}:\n{log.read()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"techmap serve did not listen on {port}:\n{log.read()}")
                time.sleep(0.3)
        yield proc, base
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def test_serve_runs_gunicorn_with_debug_off_and_serves_pages_and_static_files(served):
    proc, base = served
    status, headers, _ = http_get(base + "/")
    assert status == 200
    server = headers.get("Server", "")
    assert "WSGIServer" not in server, f"looks like Django's runserver: {server!r}"
    cmdline = Path(f"/proc/{proc.pid}/cmdline")
    if cmdline.exists():  # Linux: `techmap serve` execs gunicorn in place.
        args = cmdline.read_bytes().decode().split("\0")
        assert any("gunicorn" in a for a in args), args
        assert "runserver" not in args

    status, headers, _ = http_get(base + "/static/web/site.css")
    assert status == 200
    assert headers.get("Content-Type", "").startswith("text/css")

    status, _, body = http_get(base + "/no-such-page-for-the-cli-test/")
    assert status == 404
    assert "Using the URLconf" not in body, "Django's debug 404 page: DEBUG is on"


# --- help and documentation -----------------------------------------------------------------


def test_help_lists_the_techmap_commands(tmp_path):
    out = run_techmap("--help", env=techmap_env(tmp_path)).stdout
    for command in TECHMAP_COMMANDS:
        assert re.search(rf"^\s+{command}$", out, re.MULTILINE), f"{command} missing:\n{out}"


@pytest.mark.parametrize(
    "command, option", [("init", "--empty"), ("serve", "--port"), ("stats", "--json")]
)
def test_each_command_documents_its_options_in_help(tmp_path, command, option):
    out = run_techmap(command, "--help", env=techmap_env(tmp_path)).stdout
    assert option in out


def test_the_commands_under_test_are_the_commands_that_exist():
    # Guards the documentation test below against a command being added unnoticed.
    assert {"init", "serve", "stats", "import", "export", "release"} <= set(TECHMAP_COMMANDS)


@pytest.mark.parametrize("setting", conf.SETTINGS, ids=lambda s: s.env_var)
def test_every_setting_is_documented_in_deployment_docs(setting):
    text = (REPO / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert setting.env_var in text, f"{setting.env_var} is not documented in docs/deployment.md"


@pytest.mark.parametrize("command", TECHMAP_COMMANDS)
def test_every_techmap_command_is_documented_in_the_readme(command):
    readme = REPO / "README.md"
    assert readme.exists(), "README.md is missing"
    assert f"techmap {command}" in readme.read_text(encoding="utf-8"), (
        f"`techmap {command}` is not documented in README.md"
    )


@pytest.mark.django_db
def test_no_migrations_are_missing():
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=1)
    except SystemExit as exc:  # makemigrations --check exits 1 when a migration is missing
        pytest.fail(f"makemigrations --check found model changes without a migration ({exc})")


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("off", False),
        ("nonsense", False),
    ],
)
def test_bool_setting_reads_common_spellings(raw, expected):
    setting = conf.Setting("FLAG", False, "A flag.")
    assert setting.read({"TECHMAP_FLAG": raw}) is expected


def test_bool_setting_is_a_bool_not_an_int():
    # bool is a subclass of int: the bool check must win.
    assert conf.Setting("FLAG", True, "A flag.").read({"TECHMAP_FLAG": "0"}) is False


def test_missing_or_empty_setting_gives_the_default():
    setting = conf.Setting("FLAG", True, "A flag.")
    assert setting.read({}) is True
    assert setting.read({"TECHMAP_FLAG": ""}) is True


def test_int_setting_parses_integers_and_rejects_other_text():
    setting = conf.Setting("LIMIT", 5000, "A limit.")
    assert setting.read({"TECHMAP_LIMIT": "42"}) == 42
    assert setting.read({}) == 5000
    with pytest.raises(ValueError):
        setting.read({"TECHMAP_LIMIT": "many"})


def test_string_setting_is_returned_as_given():
    setting = conf.Setting("ALLOWED_HOSTS", "127.0.0.1", "Hosts.")
    assert setting.read({"TECHMAP_ALLOWED_HOSTS": "example.org,www.example.org"}) == (
        "example.org,www.example.org"
    )


def test_every_setting_has_help_and_a_unique_name():
    names = [s.name for s in conf.SETTINGS]
    assert len(names) == len(set(names))
    for s in conf.SETTINGS:
        assert s.help.strip(), s.name
        assert s.env_var == f"TECHMAP_{s.name}"


def test_read_settings_reads_every_declared_setting():
    values = conf.read_settings({"TECHMAP_API_PAGE_SIZE": "7", "TECHMAP_DEBUG": "yes"})
    assert set(values) == {s.name for s in conf.SETTINGS}
    assert values["API_PAGE_SIZE"] == 7
    assert values["DEBUG"] is True


# --- gazetteer ------------------------------------------------------------------------------


def test_city_point_finds_mutare():
    lat, lng = gazetteer.city_point("Mutare", "ZW")
    assert abs(lat - -18.97) < 0.05 and abs(lng - 32.67) < 0.05


def test_city_point_ignores_case_and_accents():
    assert gazetteer.city_point("são paulo", "br") == gazetteer.city_point("Sao Paulo", "BR")
    assert gazetteer.city_point("Sao Paulo", "BR") is not None


def test_city_point_of_an_unknown_city_is_none():
    assert gazetteer.city_point("Nowhere-in-particular", "ZW") is None
    assert gazetteer.city_point("Mutare", "FR") is None


def test_country_point_is_the_capital():
    assert gazetteer.country_point("ZW") == gazetteer.city_point("Harare", "ZW")
    assert gazetteer.country_point("zw") == gazetteer.country_point("ZW")
    assert gazetteer.country_point("XX") is None


def test_all_countries_lists_every_iso_country_with_a_un_region():
    countries = gazetteer.all_countries()
    assert len(countries) == 249
    assert len({c["iso2"] for c in countries}) == 249
    regions = {"Africa", "Americas", "Asia", "Europe", "Oceania", "Antarctica"}
    for c in countries:
        assert c["region"] in regions, c
        assert c["subregion"], c
        assert len(c["iso2"]) == 2 and len(c["iso3"]) == 3 and c["name"], c
    zimbabwe = next(c for c in countries if c["iso2"] == "ZW")
    assert (zimbabwe["region"], zimbabwe["capital"]) == ("Africa", "Harare")


# --- statistic sentences --------------------------------------------------------------------


def _stats(by_category, by_company=(), entries=0, companies=0, countries=0):
    def row(slug, name, n, c):
        return {"slug": slug, "name": name, "entries": n, "countries": c}

    return {
        "entries": entries,
        "companies": companies,
        "countries": countries,
        "by_category": [row(*r) for r in by_category],
        "by_company": [row(*r) for r in by_company],
    }


def test_stats_sentences_use_the_category_plural():
    stats = _stats([("5g-relationship", "5G relationship", 52, 34)])
    lines = stats_sentences(stats, {"5g-relationship": "5G initiatives"})
    assert "52 5G initiatives across 34 countries." in lines


def test_stats_sentences_use_the_singular_name_for_one_entry_in_one_country():
    stats = _stats([("5g-relationship", "5G relationship", 1, 1)])
    lines = stats_sentences(stats, {"5g-relationship": "5G initiatives"})
    assert "1 5G relationship across 1 country." in lines


def test_stats_sentences_fall_back_to_the_name_without_a_plural():
    lines = stats_sentences(_stats([("donation", "Donation", 3, 2)]))
    assert "3 Donation across 2 countries." in lines


def test_stats_sentences_headline_is_singular_or_plural_and_groups_thousands():
    assert stats_sentences(_stats([], entries=1, companies=1, countries=1))[0] == (
        "1 point of overseas presence for 1 company across 1 country."
    )
    assert stats_sentences(_stats([], entries=1234, companies=12, countries=2))[0] == (
        "1,234 points of overseas presence for 12 companies across 2 countries."
    )


def test_stats_sentences_describe_each_company():
    stats = _stats([], [("huawei", "Huawei", 2, 1), ("zte", "ZTE", 1, 1)])
    lines = stats_sentences(stats)
    assert "Huawei: 2 entries in 1 country." in lines
    assert "ZTE: 1 entry in 1 country." in lines
