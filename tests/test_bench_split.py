"""bench.split's counter: the CPU a wrapped WSGI app spends in its calls, per process, on disk."""

import time

from bench.timed_app import TimedApp, totals


class Closing(list):
    closed = False

    def close(self):
        self.closed = True


def busy_app(seconds):
    """A WSGI app that burns ``seconds`` of CPU, then answers two chunks in a closable iterable."""
    bodies = []

    def app(environ, start_response):
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass
        start_response("200 OK", [("Content-Type", "text/plain")])
        body = Closing([b"he", b"llo"])
        bodies.append(body)
        return body

    return app, bodies


def test_counts_the_apps_cpu_and_writes_the_totals_every_n_requests(tmp_path):
    app, bodies = busy_app(0.002)
    timed = TimedApp(app, str(tmp_path), every=3)
    statuses = []
    for _ in range(7):
        assert timed({}, lambda status, headers: statuses.append(status)) == [b"hello"]
    assert statuses == ["200 OK"] * 7 and all(body.closed for body in bodies)
    requests, seconds = totals(str(tmp_path))
    assert requests == 6  # written after the 3rd and the 6th; the 7th waits for the 9th
    assert 6 * 0.002 <= seconds < 6 * 0.002 + 0.05
    assert timed.requests == 7


def test_totals_add_up_every_workers_file_and_ignore_others(tmp_path):
    (tmp_path / "101").write_text("10 0.5\n")
    (tmp_path / "102").write_text("30 1.0\n")
    (tmp_path / "102.tmp").write_text("garbage")
    assert totals(str(tmp_path)) == (40, 1.5)
