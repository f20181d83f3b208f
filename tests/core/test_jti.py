"""Token ids: unique across threads and across fork(), 144 bits each."""

from __future__ import annotations

import os
import threading

import pytest

from tests.support.forge import unb64
from tokensmith import _jti
from tokensmith._jti import new_jti


def test_an_id_is_144_bits_of_base64url() -> None:
    for _ in range(200):  # crosses several refills
        value = new_jti()
        assert len(value) == 24
        assert len(unb64(value)) == 18


def test_threads_never_share_an_id() -> None:
    per_thread = 3000
    results: list[list[str]] = [[] for _ in range(8)]
    start = threading.Barrier(8)

    def draw(out: list[str]) -> None:
        start.wait()
        out.extend(new_jti() for _ in range(per_thread))

    threads = [threading.Thread(target=draw, args=(out,)) for out in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drawn = [value for out in results for value in out]
    assert len(drawn) == 8 * per_thread
    assert len(set(drawn)) == len(drawn)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX")
def test_a_forked_child_never_hands_out_the_parents_buffered_ids() -> None:
    new_jti()  # the pool now holds ids the parent has not handed out yet
    assert _jti._pool
    buffered = set(_jti._pool)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.close(read_end)
            child = [new_jti() for _ in range(2 * _jti._BATCH)]
            os.write(write_end, " ".join(child).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        child_ids = set(pipe.read().decode().split())
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    parent_ids = {new_jti() for _ in range(2 * _jti._BATCH)}
    assert len(child_ids) == 2 * _jti._BATCH
    assert not child_ids & buffered
    assert not child_ids & parent_ids


def test_the_fork_guard_empties_the_pool() -> None:
    new_jti()
    _jti._forget_in_child()
    assert _jti._pool == []
    assert len(new_jti()) == 24
