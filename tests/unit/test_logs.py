"""The local cloud's logs stay bounded: rotated at start, rotated while the cloud writes, trimmed while an
execution environment appends, and only the newest log streams of a function kept."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from lab_helpers.local import logs


def test_a_large_log_is_rotated_before_a_start_and_a_small_one_is_kept(tmp_path):
    log = tmp_path / "cloud.log"
    log.write_bytes(b"old run\n" * 10)
    assert not logs.rotate_if_large(log, max_bytes=1000) and log.exists()
    log.write_bytes(b"x" * 2000)
    assert logs.rotate_if_large(log, max_bytes=1000)
    assert not log.exists() and (tmp_path / "cloud.log.1").stat().st_size == 2000
    assert not logs.rotate_if_large(tmp_path / "missing.log")


def test_trim_keeps_the_newest_lines_and_an_appending_writer_goes_on_at_the_end(tmp_path):
    log = tmp_path / "stream.log"
    writer = open(log, "ab")  # as the runtime process's stdout is
    try:
        for i in range(1000):
            writer.write(f"line {i:04d}\n".encode())
        writer.flush()
        assert logs.trim(log, max_bytes=4000)
        kept = log.read_bytes().splitlines()
        assert len(log.read_bytes()) <= 2000 and kept[-1] == b"line 0999" and kept[0].startswith(b"line ")
        writer.write(b"after the trim\n")
        writer.flush()
        assert log.read_bytes().endswith(b"line 0999\nafter the trim\n")  # no hole, no overwrite
        assert not logs.trim(log, max_bytes=4000)
    finally:
        writer.close()


def test_prune_keeps_the_newest_streams_and_those_in_use(tmp_path):
    now = time.time()
    files = []
    for i in range(6):
        f = tmp_path / f"env{i}.log"
        f.write_text("x")
        os.utime(f, (now - 100 + i, now - 100 + i))  # env5 is the newest
        files.append(f)
    assert logs.prune(tmp_path, keep=2, busy={files[0]}) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env0.log", "env4.log", "env5.log"]
    assert logs.prune(tmp_path / "no-such-folder") == 0


def test_the_running_cloud_s_output_rotates_and_keeps_following(tmp_path):
    log = tmp_path / "cloud.log"
    program = f"""
import logging, sys
from lab_helpers.local.logs import RotatingOutput
handler = RotatingOutput({str(log)!r}, max_bytes=2000)
logging.basicConfig(level=logging.INFO, handlers=[handler])
for i in range(100):
    logging.getLogger("t").info("record %03d %s", i, "." * 40)
print("stray output after the rotation", flush=True)
"""
    with open(log, "ab") as out:
        subprocess.run([sys.executable, "-c", program], stdout=out, stderr=subprocess.STDOUT, check=True, timeout=60)
    old = (tmp_path / "cloud.log.1").read_text()
    assert "record" in old and log.stat().st_size <= 2000 + 200
    assert "record 099" in log.read_text() and log.read_text().endswith("stray output after the rotation\n")
