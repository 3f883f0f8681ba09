"""Which events a run notifies, and sending them to a local Apprise json:// endpoint."""

from __future__ import annotations

import pytest
from gitrepo import Endpoint

from fleetform.gitops.notify import NotifyError, check_urls, events, send
from fleetform.gitops.state import State


def kinds(
    state: State, result: str, commit: str = "c1", problems: tuple[str, ...] = ()
) -> list[str]:
    return [e.kind for e in events(state, result, commit, list(problems))]


def test_an_identical_failure_is_sent_once_and_recovery_clears_it() -> None:
    s = State()
    assert kinds(s, "invalid", "c2", ("bad port",)) == ["failure"]
    assert kinds(s, "invalid", "c2", ("bad port",)) == []
    assert kinds(s, "invalid", "c2", ("bad port", "unknown key")) == ["failure"]  # not identical
    assert kinds(s, "converged", "c3") == ["recovery"]
    assert kinds(s, "in_sync", "c3") == []
    assert kinds(s, "invalid", "c2", ("bad port",)) == ["failure"]  # sent again after recovery


def test_a_rollback_is_its_own_event() -> None:
    s = State()
    assert kinds(s, "rolled_back", "c4", ("health check failed",)) == ["rollback"]
    assert kinds(s, "rolled_back", "c4", ("health check failed",)) == []


def test_drift_is_sent_once_per_drift_and_each_revert() -> None:
    s = State()
    assert kinds(s, "drift", problems=("lab-1: start x",)) == ["drift"]
    assert kinds(s, "drift", problems=("lab-1: start x",)) == []
    assert kinds(s, "reverted", problems=("lab-1: start x",)) == ["drift"]
    assert kinds(s, "drift", problems=("lab-1: start x",)) == ["drift"]


def test_the_body_names_the_commit_and_every_problem() -> None:
    (event,) = events(State(), "invalid", "0123456789abcdef", ["a.yml:3: bad", "b.yml:1: worse"])
    assert "0123456789abcdef" in event.body
    assert "a.yml:3: bad" in event.body and "b.yml:1: worse" in event.body
    assert "0123456789ab" in event.title


def test_a_notification_reaches_a_json_endpoint(endpoint: Endpoint) -> None:
    (event,) = events(State(), "failed", "c5", ["lab-1: unreachable"])
    assert send([endpoint.url], event)
    (got,) = endpoint.received
    assert got["title"] == event.title
    assert "lab-1: unreachable" in got["message"]
    assert got["type"] == "failure"


def test_a_url_apprise_does_not_know_is_refused_by_position_and_scheme() -> None:
    with pytest.raises(NotifyError, match=r"notification URL 2 \(nosuch://\.\.\.\)") as err:
        check_urls(["json://127.0.0.1:1/", "nosuch://tok:S3CRET@x"])
    assert "S3CRET" not in str(err.value)  # the URL may carry a token
