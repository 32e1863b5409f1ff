"""Spreading connections over the workers: shared counts, and when a worker declines a connection."""

import os
import socket

import pytest

from inference.balance import Balancer, Shares


@pytest.fixture
def listener():
    sock = socket.create_server(("127.0.0.1", 0))
    yield sock
    sock.close()


def connect(listener):
    return socket.create_connection(listener.getsockname(), timeout=5)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_shares_count_only_live_siblings():
    shares = Shares(slots=4)
    a, b = shares.claim(1001), shares.claim(1002)
    assert a != b
    assert shares.fewest_elsewhere(a) == 0
    shares.conns[b] = 7
    assert shares.fewest_elsewhere(a) == 7
    shares.release(1002)  # the master, after worker 1002 died
    assert shares.fewest_elsewhere(a) is None  # alone now


def test_no_free_slot_means_no_balancing():
    shares = Shares(slots=1)
    assert shares.claim(1) == 0
    balancer = Balancer(shares, slack=4)
    balancer.start()  # this process finds every slot taken
    assert balancer.slot is None
    assert balancer.should_accept(1000, []) is True


def test_a_worker_ahead_of_its_sibling_leaves_a_waiting_connection_to_it_for_a_while(listener):
    shares, clock = Shares(slots=4), Clock()
    sibling = shares.claim(os.getpid() + 1)
    balancer = Balancer(shares, slack=4, patience=0.02, clock=clock, alive=lambda pid: True)
    balancer.start()
    shares.conns[sibling] = 10
    assert balancer.should_accept(14, [listener])  # within the slack
    client = connect(listener)
    try:
        assert not balancer.should_accept(15, [listener])  # ahead: the sibling should take it
        clock.now += 0.01
        assert not balancer.should_accept(15, [listener])
        clock.now += 0.011  # the sibling did not take it within the patience: this worker does
        assert balancer.should_accept(15, [listener])
    finally:
        client.close()
    assert shares.conns[balancer.slot] == 15  # published for the siblings
    balancer.stop()
    assert shares.fewest_elsewhere(sibling) is None


def test_with_nothing_waiting_the_patience_starts_over(listener):
    shares, clock = Shares(slots=4), Clock()
    shares.claim(os.getpid() + 1)
    balancer = Balancer(shares, slack=0, patience=0.02, clock=clock, alive=lambda pid: True)
    balancer.start()
    client = connect(listener)
    try:
        assert not balancer.should_accept(3, [listener])
        clock.now += 0.015
        listener.accept()[0].close()  # a sibling took it
        assert not balancer.should_accept(3, [listener])
    finally:
        client.close()
    client = connect(listener)  # a new one waits its own full patience
    try:
        clock.now += 0.015
        assert not balancer.should_accept(3, [listener])
        clock.now += 0.015
        assert not balancer.should_accept(3, [listener])
        clock.now += 0.01
        assert balancer.should_accept(3, [listener])
    finally:
        client.close()


def test_a_sibling_that_died_uncleared_is_forgotten_when_a_connection_waits(listener):
    # Without gunicorn.conf.py's child_exit (an operator's own config), a killed worker's slot
    # stayed, and its siblings accepted one connection per patience at most.
    shares, clock = Shares(slots=4), Clock()
    dead = shares.claim(999_999_999)  # no such process
    balancer = Balancer(shares, slack=0, patience=0.02, clock=clock)
    balancer.start()
    assert not balancer.should_accept(3, [listener])  # nothing waits: nobody is looked at
    assert shares.pids[dead] == 999_999_999
    client = connect(listener)
    try:
        assert balancer.should_accept(3, [listener])  # at once, not after the patience
    finally:
        client.close()
    assert shares.pids[dead] == 0 and shares.fewest_elsewhere(balancer.slot) is None
