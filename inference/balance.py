"""Spreading client connections over Gunicorn's workers.

Every worker accepts from the one listening socket it shares with its siblings, and a connection
goes to whichever worker's accept runs first. When many connections open at once (a load tester's
32, a proxy's pool of upstream keep-alive connections), the worker that happens to hold a core
takes most or all of them, and keeps them for as long as they live: one worker serves every
request through its threads (one interpreter lock) while the other workers idle. Measured with
``wrk -c32`` on 2 workers: 32/0 splits in 2 of 15 starts, and about 1,300 instead of 3,200 req/s.

Here each worker publishes how many connections it holds, in memory the master shares with its
workers (created when the master imports the worker class, before it forks), and a worker holding
more than the least busy live sibling plus ``slack`` stops accepting until the sibling catches up.
So that a connection never waits on a sibling that cannot take it (stopped, stuck, or a slot left
behind by a killed worker that the master has not cleared yet), a declining worker checks the
listening socket often and accepts anyway once a connection has waited ``patience`` seconds, and
frees the slot of a sibling whose process is gone.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import select
import time

import numpy as np

log = logging.getLogger(__name__)
SLOTS = 256  # live workers at once, old and new ones included during a reload
PATIENCE = 0.02  # seconds a connection may wait for a less busy sibling before this worker takes it
CHECK_EVERY = 0.005  # seconds between checks of the listening socket while declining


class Shares:
    """Per-worker connection counts in shared memory: a slot per live worker (pid, connections)."""

    def __init__(self, slots: int = SLOTS):
        self._pids = multiprocessing.RawArray("i", slots)
        self._conns = multiprocessing.RawArray("i", slots)
        self._lock = multiprocessing.Lock()
        self.pids = np.frombuffer(self._pids, dtype=np.int32)
        self.conns = np.frombuffer(self._conns, dtype=np.int32)

    def claim(self, pid: int) -> int | None:
        """A free slot for worker ``pid`` (None when all are taken: that worker then does not balance)."""
        if not self._lock.acquire(timeout=1.0):  # held by a worker killed inside claim: do without
            return None
        try:
            free = np.flatnonzero(self.pids == 0)
            if not len(free):
                return None
            slot = int(free[0])
            self.conns[slot] = 0
            self.pids[slot] = pid
            return slot
        finally:
            self._lock.release()

    def release(self, pid: int) -> None:
        """Free the slot of worker ``pid`` (by the worker as it stops, or the master when it died)."""
        for slot in np.flatnonzero(self.pids == pid):  # only ``pid``'s own slot: no lock needed
            self.pids[slot] = 0
            self.conns[slot] = 0

    def forget_dead(self, alive) -> bool:
        """Free the slots of workers that no longer exist (``alive(pid)`` False); True if there were any.

        The master frees a dead worker's slot in ``child_exit``; a configuration without that hook
        would leave it, and the live workers would keep deferring to a count that never moves."""
        dead = [int(pid) for pid in self.pids[self.pids != 0] if not alive(int(pid))]
        for pid in dead:
            self.release(pid)
        return bool(dead)

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The connections of the least busy live worker other than ``slot``'s (None: it is alone)."""
        others = self.pids != 0
        others[slot] = False
        if not others.any():
            return None
        return int(self.conns[others].min())


class Balancer:
    """One worker's side: publish its count, and say whether it should accept now."""

    def __init__(self, shares: Shares, slack: int, patience: float = PATIENCE, clock=time.monotonic, alive=None):
        self.shares = shares
        self.alive = alive or pid_alive
        self.slack = slack
        self.patience = patience
        self.clock = clock
        self.slot: int | None = None
        self.started = False  # a slot was claimed (or sought and none was free)
        self.waiting_since: float | None = None  # when a connection was first seen waiting while declining

    def start(self) -> None:
        self.started = True
        self.slot = self.shares.claim(os.getpid())
        if self.slot is None:
            log.warning("worker %s takes connections without balancing them against its siblings (no free slot "
                        "of %d, or the slots' lock was held by a worker that died)", os.getpid(), len(self.shares.pids))

    def stop(self) -> None:
        if self.slot is not None:
            self.shares.release(os.getpid())
            self.slot = None

    def should_accept(self, held: int, listeners) -> bool:
        """Publish ``held`` connections; True unless a sibling holds ``slack`` fewer and no connection
        has waited ``patience`` seconds on ``listeners`` (checked only while declining)."""
        slot = self.slot
        if slot is None:
            return True
        self.shares.conns[slot] = held
        if held <= self.slack:  # within the slack of any sibling (none holds fewer than 0): no need to look
            self.waiting_since = None
            return True
        fewest = self.shares.fewest_elsewhere(slot)
        if fewest is None or held <= fewest + self.slack:
            self.waiting_since = None
            return True
        if not waiting(listeners):
            self.waiting_since = None
            return False
        if self.shares.forget_dead(self.alive):  # a connection waits: not for a sibling that is gone
            return self.should_accept(held, listeners)
        now = self.clock()
        if self.waiting_since is None:
            self.waiting_since = now
        if now - self.waiting_since >= self.patience:
            self.waiting_since = None  # the sibling did not take it: this worker does
            return True
        return False


def readable(socks, seconds: float = 0.0) -> bool:
    """True when one of ``socks`` has something to read (a connection to accept, bytes to receive)
    within ``seconds``. poll(), not select(): a busy worker's descriptors may pass 1024. Raises
    OSError or ValueError for a socket it cannot watch."""
    poller = select.poll()
    for sock in socks:
        poller.register(sock, select.POLLIN)
    return bool(poller.poll(seconds * 1000))


def waiting(listeners) -> bool:
    """True when a connection waits to be accepted on one of ``listeners``."""
    try:
        return readable(listeners)
    except (OSError, ValueError):
        return True  # cannot tell: do not hold anything back


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists (a worker killed but not yet reaped still does)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, under another user
        return True
    return True
