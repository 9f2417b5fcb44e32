"""Real processes sharing one file: producers and consumers in one group, and blocking
reads woken by another process. Bounded waits only; nothing here asserts on timing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

import streamctl
from streamctl import ids

PRODUCER = textwrap.dedent(
    """
    import json, sys, streamctl
    path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    r = streamctl.connect(path)
    out = []
    for n in range(count):
        out.append(r.xadd("jobs", {"producer": name, "n": str(n)}))
    print(json.dumps(out))
    """
)

CONSUMER = textwrap.dedent(
    """
    import json, os, sys, streamctl
    path, name, done_flag = sys.argv[1], sys.argv[2], sys.argv[3]
    r = streamctl.connect(path)
    got = []
    while True:
        reply = r.xreadgroup("workers", name, {"jobs": ">"}, count=7, block=50)
        if not reply:
            if os.path.exists(done_flag):
                # Producers are done: one more empty read means the stream is drained.
                if not r.xreadgroup("workers", name, {"jobs": ">"}, count=7):
                    break
            continue
        for _stream, entries in reply:
            for sid, fields in entries:
                got.append([sid, fields])
                assert r.xack("jobs", "workers", sid) == 1
    print(json.dumps(got))
    """
)


def run_python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> object:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    assert "locked" not in err and "busy" not in err
    return json.loads(out)


def test_producers_and_consumers_share_one_file(tmp_path):
    path = str(tmp_path / "shared.db")
    r = streamctl.connect(path)
    r.xgroup_create("jobs", "workers", "$", mkstream=True)
    done = tmp_path / "producers-done"
    producers_n, consumers_n, per_producer = 4, 3, 150

    consumers = [run_python(CONSUMER, path, f"c{i}", str(done)) for i in range(consumers_n)]
    producers = [run_python(PRODUCER, path, f"p{i}", str(per_producer)) for i in range(producers_n)]
    produced = {f"p{i}": finish(p) for i, p in enumerate(producers)}
    done.touch()
    consumed = {f"c{i}": finish(c) for i, c in enumerate(consumers)}

    all_ids = [sid for id_list in produced.values() for sid in id_list]
    assert len(all_ids) == producers_n * per_producer
    assert len(set(all_ids)) == len(all_ids), "IDs must be unique across processes"
    for id_list in produced.values():
        parsed = [ids.parse(s) for s in id_list]
        assert parsed == sorted(parsed) and len(set(parsed)) == len(parsed)

    # The stream's order is the commit order: strictly increasing IDs.
    stream_ids = [sid for sid, _ in r.xrange("jobs")]
    assert sorted(stream_ids, key=ids.parse) == stream_ids
    assert set(stream_ids) == set(all_ids)

    deliveries = [sid for got in consumed.values() for sid, _ in got]
    assert len(deliveries) == len(set(deliveries)), "a message was delivered twice"
    assert set(deliveries) == set(all_ids), "every message is delivered exactly once"
    for got in consumed.values():
        for sid, fields in got:
            assert produced[fields["producer"]][int(fields["n"])] == sid

    assert r.xpending("jobs", "workers")["pending"] == 0
    group = r.xinfo_groups("jobs")[0]
    assert group["lag"] == 0 and group["entries-read"] == len(all_ids)
    r.close()


BLOCKED_READER = textwrap.dedent(
    """
    import json, sys, streamctl
    path, mode = sys.argv[1], sys.argv[2]
    r = streamctl.connect(path)
    print("ready", flush=True)
    try:
        if mode == "xread":
            reply = r.xread({"s": "$"}, block=60000)
        else:
            reply = r.xreadgroup("g", "c", {"s": ">"}, block=60000)
        print(json.dumps(reply))
    except Exception as exc:
        print(json.dumps({"error": str(exc), "type": type(exc).__name__}))
    """
)


def start_blocked_reader(path: str, mode: str) -> subprocess.Popen:
    proc = run_python(BLOCKED_READER, path, mode)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.3)  # let it reach the blocking wait; correctness does not depend on it
    return proc


@pytest.mark.parametrize("mode", ["xread", "xreadgroup"])
def test_a_blocked_reader_wakes_when_another_process_adds(tmp_path, mode):
    path = str(tmp_path / "block.db")
    r = streamctl.connect(path)
    r.xgroup_create("s", "g", "$", mkstream=True)
    reader = start_blocked_reader(path, mode)
    sid = r.xadd("s", {"hello": "world"})
    assert finish(reader, timeout=30) == [["s", [[sid, {"hello": "world"}]]]]
    r.close()


def test_destroying_the_group_unblocks_the_reader_with_redis_error(tmp_path):
    path = str(tmp_path / "block.db")
    r = streamctl.connect(path)
    r.xgroup_create("s", "g", "$", mkstream=True)
    reader = start_blocked_reader(path, "xreadgroup")
    assert r.xgroup_destroy("s", "g") == 1
    got = finish(reader, timeout=30)
    assert got == {
        "error": "NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option",
        "type": "ResponseError",
    }
    r.close()


def test_block_times_out_with_empty_result(db_path):
    r = streamctl.connect(db_path)
    r.xgroup_create("s", "g", "$", mkstream=True)
    assert r.xread({"s": "$"}, block=30) == []
    assert r.xreadgroup("g", "c", {"s": ">"}, block=30) == []
    r.close()
