"""Every command through CliRunner, on both backends (``target``): output formats, exit
codes, and bad input reported as one line with nothing stored."""

from __future__ import annotations

import json

import pytest
from clitools import cli, one_line_error

import streamctl
from streamctl.exitcodes import ExitCode


def _exists(target: str, stream: str) -> bool:
    r = streamctl.connect(target)
    try:
        return bool(r.exists(stream))
    finally:
        r.close()


def _fields(target: str, stream: str) -> list[dict]:
    r = streamctl.connect(target)
    try:
        return [f for _, f in r.xrange(stream)]
    finally:
        r.close()


# --------------------------------------------------------------------------- add


def test_add_prints_the_id_and_keeps_equals_in_values(target):
    res = cli(target, "add", "s", "a=1", "b=x=y", "c=")
    assert res.exit_code == 0, res.stderr
    new_id = res.stdout.strip()
    assert new_id.count("-") == 1 and res.stderr == ""
    assert _fields(target, "s") == [{"a": "1", "b": "x=y", "c": ""}]
    rng = cli(target, "range", "s")
    assert rng.stdout == f"{new_id}\ta=1\tb=x=y\tc=\n"


def test_add_data_json_stores_non_strings_as_json_text(target):
    data = '{"s": "str", "n": 5, "f": 1.5, "t": true, "z": null, "o": {"a": [1, "é"]}}'
    res = cli(target, "add", "s", "--data", data)
    assert res.exit_code == 0, res.stderr
    assert _fields(target, "s") == [
        {"s": "str", "n": "5", "f": "1.5", "t": "true", "z": "null", "o": '{"a":[1,"é"]}'}
    ]


def test_add_data_from_file_and_stdin(target, tmp_path):
    path = tmp_path / "m.json"
    path.write_text('{"from": "file"}')
    assert cli(target, "add", "s", "--data", f"@{path}").exit_code == 0
    assert cli(target, "add", "s", "--data", "-", input='{"from": "stdin"}').exit_code == 0
    assert _fields(target, "s") == [{"from": "file"}, {"from": "stdin"}]


def test_add_json_output(target):
    res = cli(target, "add", "s", "f=v", "--json")
    obj = json.loads(res.stdout)
    assert obj["stream"] == "s" and obj["id"].count("-") == 1


def test_add_batch_one_id_per_line(target):
    lines = "".join(json.dumps({"n": i}) + "\n" for i in range(2500))
    res = cli(target, "add", "s", "--batch", input=lines + "\n")
    assert res.exit_code == 0, res.stderr
    out = res.stdout.split()
    assert len(out) == 2500 and out == sorted(out, key=lambda i: tuple(map(int, i.split("-"))))
    assert _fields(target, "s")[-1] == {"n": "2499"}


def test_add_batch_bad_line_stops_there(target):
    lines = '{"a": 1}\n{"b": 2}\n{"c": \n{"d": 4}\n'
    res = cli(target, "add", "s", "--batch", input=lines)
    assert res.exit_code == ExitCode.USAGE
    assert "stdin line 3" in one_line_error(res.stderr)
    assert len(res.stdout.split()) == 2
    assert _fields(target, "s") == [{"a": "1"}, {"b": "2"}]


def test_add_batch_non_utf8_line(target):
    res = cli(target, "add", "s", "--batch", input=b'{"a": 1}\n\xff\xfe\n{"c": 3}\n')
    assert res.exit_code == ExitCode.USAGE
    assert "stdin line 2: not valid UTF-8" in one_line_error(res.stderr)
    assert _fields(target, "s") == [{"a": "1"}]


def test_add_batch_rejects_non_object_lines(target):
    res = cli(target, "add", "s", "--batch", input="[1, 2]\n")
    assert res.exit_code == ExitCode.USAGE
    assert "stdin line 1" in one_line_error(res.stderr)
    assert not _exists(target, "s")


@pytest.mark.parametrize(
    "args, stdin, needle",
    [
        (["foo"], None, "expected FIELD=VALUE"),
        (["=v"], None, "empty field name"),
        ([], None, "no fields"),
        (["--data", "{"], None, "malformed JSON"),
        (["--data", "[1]"], None, "expected a JSON object"),
        (["--data", "{}"], None, "empty field list"),
        (["--data", "@/nonexistent/m.json"], None, "--data @/nonexistent/m.json"),
        (["--data", "-"], b"\xff", "not valid UTF-8"),
        (["--id", "bad", "a=b"], None, "Invalid stream ID"),
        (["--maxlen", "1", "--minid", "0", "a=b"], None, "not both"),
        (["--approx", "a=b"], None, "--approx needs"),
        (["a=b", "--data", "{}"], None, "not FIELD=VALUE and --data"),
        (["--maxlen", "-1", "a=b"], None, "--maxlen"),
        (["--bogus", "a=b"], None, "No such option"),
    ],
)
def test_add_bad_input_is_one_line_usage_error_and_stores_nothing(target, args, stdin, needle):
    res = cli(target, "add", "s", *args, input=stdin)
    assert res.exit_code == ExitCode.USAGE, (res.stdout, res.stderr)
    assert needle in one_line_error(res.stderr)
    assert res.stdout == ""
    assert not _exists(target, "s")


def test_add_engine_refusal_keeps_redis_text(target):
    cli(target, "add", "s", "--id", "5-0", "a=b")
    res = cli(target, "add", "s", "--id", "1-0", "a=b")
    assert res.exit_code == ExitCode.ERROR
    assert one_line_error(res.stderr) == (
        "streamctl: The ID specified in XADD is equal or smaller than the target stream top item"
    )


def test_add_trimming_and_nomkstream(target):
    for i in range(1, 6):
        cli(target, "add", "s", "--id", f"{i}-0", f"n={i}")
    assert cli(target, "add", "s", "--id", "6-0", "--maxlen", "2", "n=6").exit_code == 0
    assert _fields(target, "s") == [{"n": "5"}, {"n": "6"}]
    assert cli(target, "add", "s", "--id", "7-0", "--minid", "6-0", "n=7").exit_code == 0
    assert _fields(target, "s") == [{"n": "6"}, {"n": "7"}]
    assert cli(target, "add", "s", "--maxlen", "1", "--approx", "n=8").exit_code == 0
    res = cli(target, "add", "missing", "--nomkstream", "a=b")
    assert res.exit_code == ExitCode.NOT_FOUND and "no such stream" in one_line_error(res.stderr)
    assert not _exists(target, "missing")
    assert cli(target, "add", "s", "--nomkstream", "a=b").exit_code == 0


# --------------------------------------------------------------------------- reading


@pytest.fixture
def three(target):
    for i in range(1, 4):
        cli(target, "add", "s", "--id", f"{i}-0", f"n={i}", "text=a\tb\nc\\d")
    return target


def test_range_text_json_rev_count(three):
    res = cli(three, "range", "s")
    assert res.stdout.splitlines() == [f"{i}-0\tn={i}\ttext=a\\tb\\nc\\\\d" for i in (1, 2, 3)]
    res = cli(three, "range", "s", "2", "+", "--rev", "--json")
    msgs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [m["id"] for m in msgs] == ["3-0", "2-0"]
    assert msgs[0] == {"stream": "s", "id": "3-0", "fields": {"n": "3", "text": "a\tb\nc\\d"}}
    assert cli(three, "range", "s", "--count", "1").stdout.startswith("1-0\t")
    assert cli(three, "range", "s", "(1-0", "(3-0").stdout.startswith("2-0\t")


def test_range_nothing_is_exit_1_missing_is_exit_4(three):
    res = cli(three, "range", "s", "7", "9")
    assert res.exit_code == ExitCode.EMPTY and res.stdout == "" and res.stderr == ""
    res = cli(three, "range", "nope")
    assert res.exit_code == ExitCode.NOT_FOUND and "no such stream: nope" in one_line_error(
        res.stderr
    )
    res = cli(three, "range", "s", "x", "+")
    assert res.exit_code == ExitCode.USAGE and "Invalid stream ID" in one_line_error(res.stderr)


def test_read_one_and_several_streams(three):
    cli(three, "add", "t", "--id", "9-0", "k=v")
    res = cli(three, "read", "s", "--from", "0", "--count", "2")
    assert res.stdout.splitlines() == [f"{i}-0\tn={i}\ttext=a\\tb\\nc\\\\d" for i in (1, 2)]
    res = cli(three, "read", "s", "t", "--from", "2-0")
    assert res.stdout.splitlines() == ["s\t3-0\tn=3\ttext=a\\tb\\nc\\\\d", "t\t9-0\tk=v"]
    res = cli(three, "read", "s", "t", "--from", "0", "--json")
    assert {json.loads(line)["stream"] for line in res.stdout.splitlines()} == {"s", "t"}


def test_read_nothing_and_missing(three):
    assert cli(three, "read", "s").exit_code == ExitCode.EMPTY  # '$' without --block
    assert cli(three, "read", "s", "--block", "10").exit_code == ExitCode.EMPTY
    res = cli(three, "read", "nope", "--from", "0")
    assert res.exit_code == ExitCode.NOT_FOUND and "no such stream: nope" in res.stderr
    assert cli(three, "read", "nope", "--block", "10").exit_code == ExitCode.EMPTY


def test_len_trim_del(three):
    assert cli(three, "len", "s").stdout == "3\n"
    assert cli(three, "len", "nope").stdout == "0\n"
    assert json.loads(cli(three, "len", "s", "--json").stdout) == {"length": 3}
    assert cli(three, "del", "s", "1-0", "9-0").stdout == "1\n"
    assert cli(three, "trim", "s", "--maxlen", "1").stdout == "1\n"
    assert cli(three, "len", "s").stdout == "1\n"
    assert cli(three, "trim", "s", "--minid", "9-0").stdout == "1\n"
    res = cli(three, "trim", "s")
    assert res.exit_code == ExitCode.USAGE and "--maxlen" in one_line_error(res.stderr)
    res = cli(three, "trim", "s", "--maxlen", "1", "--limit", "10")
    assert res.exit_code == ExitCode.USAGE


# --------------------------------------------------------------------------- groups


def test_group_lifecycle(three):
    assert cli(three, "group", "create", "s", "g", "0").exit_code == 0
    res = cli(three, "group", "create", "s", "g")
    assert res.exit_code == ExitCode.ERROR
    assert one_line_error(res.stderr) == "streamctl: BUSYGROUP Consumer Group name already exists"
    res = cli(three, "group", "create", "nope", "g")
    assert res.exit_code == ExitCode.NOT_FOUND and "requires the key to exist" in res.stderr
    assert cli(three, "group", "create", "new", "g", "--mkstream").exit_code == 0
    assert cli(three, "group", "createconsumer", "s", "g", "alice").stdout == "1\n"
    assert cli(three, "group", "createconsumer", "s", "g", "alice").stdout == "0\n"
    assert cli(three, "readgroup", "s", "g", "alice", "--count", "2").exit_code == 0
    assert cli(three, "group", "delconsumer", "s", "g", "alice").stdout == "2\n"
    assert cli(three, "group", "setid", "s", "g", "0").exit_code == 0
    assert cli(three, "group", "setid", "s", "g", "bad").exit_code == ExitCode.USAGE
    assert cli(three, "group", "destroy", "s", "g").exit_code == 0
    res = cli(three, "group", "destroy", "s", "g")
    assert res.exit_code == ExitCode.NOT_FOUND and "no such group: g" in one_line_error(res.stderr)
    res = cli(three, "group", "setid", "s", "g", "0")
    assert res.exit_code == ExitCode.NOT_FOUND and "NOGROUP" in one_line_error(res.stderr)


def test_readgroup_ack_pending_claim(three):
    cli(three, "group", "create", "s", "g", "0")
    res = cli(three, "readgroup", "s", "g", "alice", "--count", "2", "--json")
    assert [json.loads(line)["id"] for line in res.stdout.splitlines()] == ["1-0", "2-0"]
    assert cli(three, "readgroup", "s", "g", "bob").stdout.startswith("3-0\t")
    assert cli(three, "readgroup", "s", "g", "bob").exit_code == ExitCode.EMPTY
    history = cli(three, "readgroup", "s", "g", "alice", "--id", "0")
    assert [line.split("\t")[0] for line in history.stdout.splitlines()] == ["1-0", "2-0"]

    summary = cli(three, "pending", "s", "g")
    assert summary.stdout.splitlines() == [
        "pending\t3",
        "first_id\t1-0",
        "last_id\t3-0",
        "consumer\talice\t2",
        "consumer\tbob\t1",
    ]
    obj = json.loads(cli(three, "pending", "s", "g", "--json").stdout)
    assert obj["pending"] == 3 and obj["consumers"] == [
        {"name": "alice", "pending": 2},
        {"name": "bob", "pending": 1},
    ]
    rows = cli(
        three, "pending", "s", "g", "-", "+", "10", "--consumer", "alice"
    ).stdout.splitlines()
    assert rows[0] == "ID\tCONSUMER\tIDLE_MS\tDELIVERIES"
    assert [r.split("\t")[:2] for r in rows[1:]] == [["1-0", "alice"], ["2-0", "alice"]]
    entries = cli(three, "pending", "s", "g", "-", "+", "10", "--json").stdout.splitlines()
    assert set(json.loads(entries[0])) == {"id", "consumer", "idle_ms", "deliveries"}
    assert cli(three, "pending", "s", "g", "-", "+").exit_code == ExitCode.USAGE
    assert cli(three, "pending", "s", "g", "--idle", "5").exit_code == ExitCode.USAGE
    assert cli(three, "pending", "s", "g", "9", "+", "10").exit_code == ExitCode.EMPTY

    assert cli(three, "ack", "s", "g", "1-0", "9-0").stdout == "1\n"
    assert cli(three, "ack", "s", "g", "1-0").stdout == "0\n"
    res = cli(three, "ack", "s", "nog", "1-0")
    assert res.exit_code == ExitCode.NOT_FOUND and "no such group: nog" in one_line_error(
        res.stderr
    )

    res = cli(three, "claim", "s", "g", "carol", "0", "2-0")
    assert res.stdout.startswith("2-0\tn=2")
    assert cli(three, "claim", "s", "g", "carol", "0", "3-0", "--justid").stdout == "3-0\n"
    assert cli(three, "claim", "s", "g", "carol", "999999999", "3-0").exit_code == ExitCode.EMPTY
    res = cli(three, "autoclaim", "s", "g", "dave", "0", "--count", "5", "--json")
    assert [json.loads(line)["id"] for line in res.stdout.splitlines()] == ["2-0", "3-0"]
    res = cli(three, "autoclaim", "s", "g", "erin", "0", "--justid")
    assert res.stdout.split() == ["2-0", "3-0"]
    assert cli(three, "autoclaim", "s", "g", "erin", "999999999").exit_code == ExitCode.EMPTY
    res = cli(three, "readgroup", "s", "nog", "x")
    assert res.exit_code == ExitCode.NOT_FOUND and "NOGROUP" in one_line_error(res.stderr)
    assert cli(three, "claim", "s", "nog", "x", "0", "1-0").exit_code == ExitCode.NOT_FOUND
    assert cli(three, "pending", "s", "nog").exit_code == ExitCode.NOT_FOUND


# --------------------------------------------------------------------------- info


def test_info_overview_and_json_shape(three):
    cli(three, "group", "create", "s", "g", "0")
    cli(three, "readgroup", "s", "g", "alice", "--count", "1")
    cli(three, "add", "empty", "--id", "1-0", "a=b")
    cli(three, "del", "empty", "1-0")
    lines = cli(three, "info").stdout.splitlines()
    assert lines[0].split("\t") == [
        "STREAM",
        "LENGTH",
        "FIRST_ID",
        "LAST_ID",
        "GROUP",
        "CONSUMERS",
        "PENDING",
        "LAG",
        "OLDEST_PENDING_MS",
    ]
    assert lines[1].split("\t") == ["empty", "0", "-", "-", "-", "-", "-", "-", "-"]
    row = lines[2].split("\t")
    assert row[:8] == ["s", "3", "1-0", "3-0", "g", "1", "1", "2"] and int(row[8]) >= 0

    data = json.loads(cli(three, "info", "--json").stdout)
    s = next(x for x in data["streams"] if x["name"] == "s")
    assert {"name", "length", "first_id", "last_id", "groups"} <= set(s)
    (g,) = s["groups"]
    assert {"name", "consumers", "pending", "lag", "last_delivered_id", "oldest_pending_ms"} <= set(
        g
    )
    assert (g["name"], g["consumers"], g["pending"], g["lag"], g["last_delivered_id"]) == (
        "g",
        1,
        1,
        2,
        "1-0",
    )
    assert (s["length"], s["first_id"], s["last_id"]) == (3, "1-0", "3-0")


def test_info_stream_detail(three):
    cli(three, "group", "create", "s", "g", "0")
    cli(three, "readgroup", "s", "g", "alice", "--count", "2")
    text = cli(three, "info", "s").stdout
    assert "GROUP\tCONSUMER\tPENDING\tIDLE_MS\tINACTIVE_MS" in text
    assert "\ng\talice\t2\t" in text
    data = json.loads(cli(three, "info", "s", "--json").stdout)
    (c,) = data["streams"][0]["groups"][0]["consumer_list"]
    assert (c["name"], c["pending"]) == ("alice", 2)
    res = cli(three, "info", "nope")
    assert res.exit_code == ExitCode.NOT_FOUND and "no such stream: nope" in one_line_error(
        res.stderr
    )


def test_info_empty_database(target):
    res = cli(target, "info", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout) == {"streams": []}


# --------------------------------------------------------------------------- global


def test_quiet_prints_nothing_but_keeps_exit_codes(three):
    res = cli(three, "-q", "range", "s")
    assert (res.exit_code, res.stdout) == (0, "")
    res = cli(three, "range", "s", "-q", "9", "+")
    assert (res.exit_code, res.stdout) == (ExitCode.EMPTY, "")
    assert cli(three, "-q", "add", "s", "a=b").stdout == ""


def test_json_before_and_after_the_command(three):
    for args in (["--json", "range", "s"], ["range", "s", "--json"]):
        lines = cli(three, *args).stdout.splitlines()
        assert json.loads(lines[0])["id"] == "1-0"


def test_environment_selects_the_target(target, monkeypatch):
    monkeypatch.setenv("STREAMCTL_URL" if "://" in target else "STREAMCTL_DB", target)
    assert cli(None, "add", "s", "a=b").exit_code == 0
    assert _fields(target, "s") == [{"a": "b"}]


def test_default_database_is_under_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert cli(None, "add", "s", "a=b").exit_code == 0
    assert (tmp_path / "streamctl" / "streams.db").exists()


def test_usage_errors_are_one_line():
    for args in (
        ["nosuchcommand"],
        ["range"],
        ["add", "s", "--maxlen", "x", "a=b"],
        ["group", "bogus"],
    ):
        res = cli(None, *args)
        assert res.exit_code == ExitCode.USAGE, args
        assert "--help" in one_line_error(res.stderr)


def test_no_arguments_shows_help_and_exits_2():
    res = cli(None)
    assert res.exit_code == ExitCode.USAGE and "Usage: streamctl" in res.stderr


def test_version():
    res = cli(None, "--version")
    assert res.stdout == f"streamctl {streamctl.__version__}\n" and res.exit_code == 0


def test_db_and_url_together_is_usage_error(tmp_path):
    res = cli(None, "--db", str(tmp_path / "x.db"), "--url", "redis://127.0.0.1:1/0", "len", "s")
    assert res.exit_code == ExitCode.USAGE and "not both" in one_line_error(res.stderr)


def test_unusable_database_file_is_exit_6(tmp_path):
    bad = tmp_path / "not.db"
    bad.write_text("this is not a database\n" * 100)
    res = cli(str(bad), "add", "s", "a=b")
    assert res.exit_code == ExitCode.DATABASE and str(bad) in one_line_error(res.stderr)
    assert bad.read_text() == "this is not a database\n" * 100


def test_unreachable_server_is_exit_5_and_password_redacted():
    res = cli("redis://user:hunter2@127.0.0.1:1/0", "len", "s")
    assert res.exit_code == ExitCode.UNAVAILABLE
    assert "hunter2" not in one_line_error(res.stderr)


def test_unsupported_url_scheme_is_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for url in ("ftp://example.com/x", "streams.db"):
        res = cli(None, "--url", url, "len", "s")
        assert res.exit_code == ExitCode.USAGE and "not a redis://" in one_line_error(res.stderr)
    assert list(tmp_path.iterdir()) == []
