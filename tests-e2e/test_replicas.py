"""Two replicas of every service behind the gateway (issue 9, item 4's acceptance).

The stack is started as ``make run ARGS="--replicas 2"`` starts it: two instances of each
service, load-balanced by Caddy; the two instances of a consumer bind the same durable
consumers. The acceptance journeys run again on it (collected below under this module's
``stack``), and a journey of its own checks the progress documents and that both
progress replicas did part of the consuming (each instance's own ``/metrics``).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import test_journeys
from journey import actor, comparable, expected_progress, settles, within
from prometheus_client.parser import text_string_to_metric_families
from syllabus_devkit.embedded import find_free_port

from conftest import ADMIN, ROOT, Stack, _tail

REPLICAS = 2
INSTANCE = re.compile(r"^\s+([a-z]+)-(\d+)\s+(http://127\.0\.0\.1:\d+)\s*$", re.M)


@dataclass
class Replicated:
    stack: Stack
    instances: dict[str, list[str]]  # service -> base URL of each instance


@pytest.fixture(scope="module")
def replicated() -> Iterator[Replicated]:
    data_dir = Path(tempfile.mkdtemp(prefix="syllabus-e2e-replicas-"))
    port = find_free_port()
    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        "IDENTITY_BOOTSTRAP_ADMIN_USERNAME": ADMIN[0],
        "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN[1],
    }
    for key in ("DATABASE_URL", "NATS_URL"):
        env.pop(key, None)
    if os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_NATS_URL"):
        # A shared server: the runner's databases and streams are its own (fresh data dir).
        env["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
        env["NATS_URL"] = os.environ["TEST_NATS_URL"]
    out_path = data_dir.with_suffix(".out")
    out = out_path.open("wb")
    argv = [sys.executable, "-m", "syllabus_devstack", "--data-dir", str(data_dir), "run"]
    # Every replica runs its relay and consumers itself (no consume process): what is
    # under test is replicas sharing the durable consumers and the outbox.
    argv += ["--quiet", "--replicas", str(REPLICAS), "--one-process"]
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 150
    try:
        while True:
            if proc.poll() is not None:
                text = out_path.read_text(errors="replace")
                pytest.fail(f"stack exited ({proc.returncode}):\n{text[-3000:]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"stack not ready in time\n{_tail(data_dir / 'logs')}")
            time.sleep(0.25)
        # The runner prints where each instance is once everything answers: wait for it.
        while "Ctrl-C stops everything." not in (summary := out_path.read_text(errors="replace")):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"no summary from the runner:\n{summary[-3000:]}")
            time.sleep(0.1)
        instances: dict[str, list[str]] = {}
        for service, _, url in INSTANCE.findall(summary):
            instances.setdefault(service, []).append(url)
        s = Stack(base, data_dir / "logs")
        s.admin_token = s.token(*ADMIN)
        yield Replicated(s, instances)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        out.close()
        subprocess.run(["rm", "-rf", str(data_dir), str(out_path)], check=False)


@pytest.fixture(scope="module")
def stack(replicated: Replicated) -> Stack:
    """This module's journeys run on the replicated stack."""
    return replicated.stack


# The acceptance journeys, again, on two replicas of everything.
JOURNEYS = {k: v for k, v in vars(test_journeys).items() if k.startswith("test_")}
assert JOURNEYS, "no journeys found in test_journeys"
globals().update(JOURNEYS)


def metrics(url: str) -> list[tuple[str, dict[str, str], float]]:
    """An instance's /metrics samples: (name, labels, value)."""
    text = httpx.get(f"{url}/metrics").text
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def applied_per_instance(urls: list[str], consumers: tuple[str, ...]) -> list[float]:
    """Events applied by ``consumers`` in each instance, from the instance's /metrics."""
    return [
        sum(
            value
            for name, labels, value in metrics(url)
            if name == "events_applied_total"
            and labels.get("outcome") == "applied"
            and labels.get("consumer") in consumers
        )
        for url in urls
    ]


def test_every_service_runs_twice_and_both_progress_replicas_consume(
    replicated: Replicated,
) -> None:
    assert {k: len(v) for k, v in replicated.instances.items()} == {
        name: REPLICAS
        for name in ("identity", "catalog", "content", "progress", "assessment", "live", "web")
    }
    stack = replicated.stack
    ada, bo = actor(stack, "instructor"), actor(stack, "student")
    course = ada.course("Replicated")
    cid = course["id"]
    modules = [ada.module(f"R{i}") for i in range(1, 4)]
    posts = {m["id"]: [ada.post(m["id"], f"{m['title']}.{j}") for j in (1, 2, 3)] for m in modules}
    for module in modules:
        ada.attach(cid, module["id"])
    ada.publish(cid)
    within(2.5, lambda: bo.call("POST", f"/courses/{cid}/enrollments"), 201)
    a, b, c = modules
    for post in (posts[a["id"]][0], posts[b["id"]][1], posts[c["id"]][2]):
        bo.complete(post["id"])
    ada.ok("PUT", f"/courses/{cid}/modules", json={"module_ids": [c["id"], a["id"], b["id"]]})
    ada.ok(
        "PUT",
        f"/modules/{a['id']}/posts",
        json={"post_ids": [p["id"] for p in posts[a["id"]][::-1]]},
    )

    done = {posts[a["id"]][0]["id"], posts[b["id"]][1]["id"], posts[c["id"]][2]["id"]}

    def shown(
        module: dict[str, Any], order: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], list[tuple[dict[str, Any], bool]]]:
        return module, [(p, p["id"] in done) for p in order]

    expected = expected_progress(
        cid,
        bo.id,
        [
            shown(c, posts[c["id"]]),
            shown(a, posts[a["id"]][::-1]),
            shown(b, posts[b["id"]]),
        ],
        status="active",
        percent=33.33,
        next_post=posts[c["id"]][0],
    )
    settles(lambda: comparable(bo.progress(cid)), expected)
    # Every read, whichever replica answers it, shows the same document.
    for _ in range(2 * REPLICAS):
        assert comparable(bo.progress(cid)) == expected
    # Counters kept by the other services' replicas from progress's events.
    settles(lambda: ada.ok("GET", f"/posts/{posts[a['id']][0]['id']}")["completion_count"], 1)
    settles(lambda: ada.ok("GET", f"/courses/{cid}")["enrollment_count"], 1)

    # Both progress replicas applied part of the structure events from their shared
    # durable consumers (the journeys before this one add to it).
    work = applied_per_instance(
        replicated.instances["progress"], ("progress-from-catalog", "progress-from-content")
    )
    assert all(n > 0 for n in work), work
    # Each replica reports the backlog and lag gauges, with sane values once settled.
    for url in replicated.instances["progress"]:
        values = {(name, labels.get("consumer")): value for name, labels, value in metrics(url)}
        assert 0 <= values[("outbox_depth", None)] < 50
        assert 0 <= values[("outbox_oldest_age_seconds", None)] < 10
        for consumer in ("progress-from-catalog", "progress-from-content"):
            assert 0 <= values[("consumer_lag_messages", consumer)] < 50
            assert values.get(("dead_letters_total", consumer), 0) == 0
