"""Lead-capture agents over the API, on SQLite and PostgreSQL: the webhook's main path with planned send times,
retries, a burst of 100 messages, concurrent messages, hand-over, the lead.created event signed by the outbox,
the CSV export, tenant isolation and bad input."""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.core.storage import conversations as store_conv
from adloom.core.storage.webhooks import lease_due
from tests.serving.api.conftest import Tenants

SAMPLE = Path(__file__).resolve().parents[3] / "adloom" / "serving" / "samples" / "agent_home_renovation.yaml"
PHONE_MESSAGE = "我的电话是13812345678，想约量房"


def _profile() -> dict[str, Any]:
    return dict(yaml.safe_load(SAMPLE.read_text(encoding="utf-8")))


def _agent(client: TestClient, headers: dict[str, str], agent_id: str = "reno") -> None:
    r = client.put(f"/v1/agents/{agent_id}", json=_profile() | {"id": agent_id}, headers=headers)
    assert r.status_code == 200, r.text


def _say(client: TestClient, headers: dict[str, str], text: str, **extra: Any) -> dict[str, Any]:
    body = {"user_id": "u1", "text": text, "channel": "douyin"} | extra
    r = client.post("/v1/agents/reno/messages", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _time(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def _due(root: Store, tenant: str, conversation_id: str) -> None:
    """Move every planned reply of a conversation into the past (as if its send time had come)."""
    from sqlalchemy import update

    from adloom.core.storage.tables import ConversationMessageRow as M

    with root.session() as s:
        s.execute(
            update(M)
            .where(M.conversation_id == conversation_id, M.role == "agent")
            .values(send_at=datetime(2000, 1, 1))
        )


def test_agent_crud_and_main_path(client: TestClient, tenants: Tenants, root_store: Store):
    _agent(client, tenants.a)
    got = client.get("/v1/agents/reno", headers=tenants.a).json()
    assert got["profile"]["business"] == "安居家装（杭州）" and got["profile"]["id"] == "reno"
    assert [a["id"] for a in client.get("/v1/agents", headers=tenants.a).json()["data"]] == ["reno"]

    first = _say(client, tenants.a, "你好，装修一平米大概多少钱？", message_id="m1")
    assert first["replies"] and first["message"]["status"] == "answered" and first["decision"]["action"]
    sent = _time(first["message"]["created_at"])
    times = [_time(r["send_at"]) for r in first["replies"]]
    assert times == sorted(times) and times[0] > sent  # each waits its typing pause after the last
    conv_id = first["conversation_id"]

    # the platform polls: nothing is due yet; then it is, and polling past it acknowledges it
    polled = client.get(f"/v1/conversations/{conv_id}/replies", headers=tenants.a).json()
    assert polled["data"] == [] and _time(polled["next_send_at"]) == times[0]
    _due(root_store, "acme", conv_id)
    polled = client.get(f"/v1/conversations/{conv_id}/replies", headers=tenants.a).json()
    assert [m["id"] for m in polled["data"]] == [r["id"] for r in first["replies"]]
    last = polled["data"][-1]["id"]
    assert (
        client.get(f"/v1/conversations/{conv_id}/replies", params={"after": last}, headers=tenants.a).json()["data"]
        == []
    )

    second = _say(client, tenants.a, PHONE_MESSAGE, message_id="m2")
    assert second["conversation_id"] == conv_id and second["lead_created"] and second["lead_id"].startswith("lead_")
    conv = client.get(f"/v1/conversations/{conv_id}", headers=tenants.a).json()
    roles = [m["role"] for m in conv["messages"]]
    assert roles[0] == "user" and roles.count("user") == 2 and conv["lead_id"] == second["lead_id"]
    assert all(
        m["status"] == "acknowledged" for m in conv["messages"][: len(first["replies"]) + 1] if m["role"] == "agent"
    )
    leads = client.get("/v1/leads", params={"agent_id": "reno"}, headers=tenants.a).json()["data"]
    assert [(x["phone"], x["channel"], x["user_id"]) for x in leads] == [("13812345678", "douyin", "u1")]
    listed = client.get("/v1/conversations", params={"agent_id": "reno", "status": "open"}, headers=tenants.a).json()
    assert [c["id"] for c in listed["data"]] == [conv_id]

    # deleting the agent refuses new messages and keeps what it captured
    assert client.delete("/v1/agents/reno", headers=tenants.a).status_code == 200
    r = client.post("/v1/agents/reno/messages", json={"user_id": "u1", "text": "在吗"}, headers=tenants.a)
    assert r.status_code == 404
    assert client.get("/v1/leads", headers=tenants.a).json()["data"][0]["id"] == second["lead_id"]


def test_retried_webhook_is_answered_once(client: TestClient, tenants: Tenants, root_store: Store):
    _agent(client, tenants.a)
    first = _say(client, tenants.a, "装修工期多久？", message_id="dup-1")
    again = _say(client, tenants.a, "装修工期多久？", message_id="dup-1")
    assert again["replayed"] and [r["id"] for r in again["replies"]] == [r["id"] for r in first["replies"]]
    conv = client.get(f"/v1/conversations/{first['conversation_id']}", headers=tenants.a).json()
    assert sum(m["role"] == "user" for m in conv["messages"]) == 1
    assert sum(m["role"] == "agent" for m in conv["messages"]) == len(first["replies"])


def test_burst_of_100_messages_is_stored_and_answered_in_bounded_turns(
    client: TestClient, tenants: Tenants, root_store: Store
):
    _agent(client, tenants.a)
    answers = [_say(client, tenants.a, f"[图片] 第{i}条", message_id=f"b{i}") for i in range(100)]
    conv_id = answers[0]["conversation_id"]
    conv = client.get(f"/v1/conversations/{conv_id}", headers=tenants.a).json()
    users = [m for m in conv["messages"] if m["role"] == "user"]
    assert len(users) == 100 and [m["text"] for m in users] == [f"[图片] 第{i}条" for i in range(100)]
    turns = conv["turns"]
    assert turns == store_conv.BURST_TURNS, turns  # then the replies still wait: the rest are held
    held = [a for a in answers if a["message"]["status"] == "held"]
    assert len(held) == 100 - turns and all(a["replies"] == [] for a in held)
    # none is left unanswered: once the waiting replies are due, a poll (or the background sweep) answers
    # every held message in one turn
    _due(root_store, "acme", conv_id)
    client.get(f"/v1/conversations/{conv_id}/replies", headers=tenants.a)
    conv = client.get(f"/v1/conversations/{conv_id}", headers=tenants.a).json()
    assert conv["turns"] == turns + 1
    assert all(m["status"] == "answered" for m in conv["messages"] if m["role"] == "user")


def test_a_greeting_then_the_question_a_second_later_both_get_answers_in_order(client: TestClient, tenants: Tenants):
    _agent(client, tenants.a)
    hello = _say(client, tenants.a, "你好")
    question = _say(client, tenants.a, "装修工期多久？")
    assert hello["replies"] and question["replies"] and question["message"]["status"] == "answered"
    assert _time(question["replies"][0]["send_at"]) > _time(hello["replies"][-1]["send_at"])


def test_the_sweep_answers_held_messages_of_every_tenant_once_due(
    client: TestClient, tenants: Tenants, root_store: Store, settings: Settings
):
    from adloom.serving import conversation_service

    _agent(client, tenants.a)
    answers = [_say(client, tenants.a, f"问题{i}：工期多久？") for i in range(6)]
    conv_id = answers[0]["conversation_id"]
    assert any(a["message"]["status"] == "held" for a in answers)
    assert conversation_service.sweep_held(root_store, settings=settings) == 0  # replies still wait: nothing is due yet
    _due(root_store, "acme", conv_id)
    assert conversation_service.sweep_held(root_store, settings=settings) == 1
    conv = client.get(f"/v1/conversations/{conv_id}", headers=tenants.a).json()
    assert all(m["status"] == "answered" for m in conv["messages"] if m["role"] == "user")


def test_concurrent_messages_of_one_conversation_are_all_kept(
    client: TestClient, tenants: Tenants, root_store: Store, settings: Settings
):
    _agent(client, tenants.a)
    store = root_store.scoped("acme")
    from adloom.scripts_gen.conversation.model import AgentProfile
    from adloom.serving import conversation_service

    profile = AgentProfile.model_validate(_profile() | {"id": "reno"})
    errors: list[BaseException] = []
    later = datetime.now().astimezone() + timedelta(hours=1)

    def send(i: int) -> None:
        try:  # far apart in time, so none is held: each must run a turn on the state the other left
            at = later + timedelta(minutes=10 * i)
            conversation_service.receive(
                store, profile, user_id="race", channel="web", text=f"问题{i}", now=at, settings=settings
            )
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    page = store_conv.list_conversations(store, agent_id="reno")
    assert len(page.data) == 1  # six first messages at once opened one conversation
    conv = store_conv.get_conversation(store, page.data[0].id)
    assert sum(m.role == "user" for m in conv.messages or []) == 6
    assert len({m.seq for m in conv.messages or []}) == len(conv.messages or [])
    # the threads' clocks arrive out of order, so some may be held behind replies planned "later": once those
    # are due, every message is answered and none was lost to a concurrent write
    conversation_service.sweep_held(root_store, now=later + timedelta(days=1), settings=settings)
    conv = store_conv.get_conversation(store, page.data[0].id)
    assert [m.status for m in conv.messages or [] if m.role == "user"] == ["answered"] * 6


def test_handover_and_human_reply(client: TestClient, tenants: Tenants, root_store: Store):
    _agent(client, tenants.a)
    first = _say(client, tenants.a, "你好")
    conv_id = first["conversation_id"]
    r = client.post(f"/v1/conversations/{conv_id}/handover", headers=tenants.a)
    assert r.status_code == 200 and r.json()["status"] == "handed_over"
    quiet = _say(client, tenants.a, "还在吗？")
    assert quiet["replies"] == [] and quiet["handed_over"] and quiet["message"]["status"] == "quiet"
    r = client.post(f"/v1/conversations/{conv_id}/messages", json={"text": "您好，我是设计师小王"}, headers=tenants.a)
    assert r.status_code == 201 and r.json()["role"] == "human"
    conv = client.get(f"/v1/conversations/{conv_id}", headers=tenants.a).json()
    planned = [m for m in conv["messages"] if m["role"] == "agent"]
    assert all(m["status"] == "cancelled" for m in planned)  # not yet due at the hand-over: never sent
    due = client.get(f"/v1/conversations/{conv_id}/replies", headers=tenants.a).json()["data"]
    assert [m["text"] for m in due] == ["您好，我是设计师小王"]
    r = client.get("/v1/conversations", params={"status": "handed_over"}, headers=tenants.a)
    assert [c["id"] for c in r.json()["data"]] == [conv_id]


def test_lead_created_event_is_signed_by_the_outbox(client: TestClient, tenants: Tenants, root_store: Store):
    r = client.post(
        "/v1/webhook_endpoints",
        json={"url": "https://hooks.example.com/leads", "events": ["lead.created"]},
        headers=tenants.a,
    )
    secret = r.json()["secret"]
    r = client.post(
        "/v1/webhook_endpoints",
        json={"url": "https://hooks.example.com/replies", "events": ["conversation.reply"]},
        headers=tenants.a,
    )
    _agent(client, tenants.a)
    first = _say(client, tenants.a, PHONE_MESSAGE)
    assert first["lead_created"]
    leases = lease_due(root_store, "test", n=50)
    by_type: dict[str, list[Any]] = {}
    for lease in leases:
        by_type.setdefault(lease.event_type, []).append(lease)
    assert len(by_type["lead.created"]) == 1 and len(by_type["conversation.reply"]) == len(first["replies"])
    lead = by_type["lead.created"][0]
    assert lead.payload["data"] == {
        "id": first["lead_id"],
        "conversation_id": first["conversation_id"],
        "agent_id": "reno",
    }
    assert "13812345678" not in str(lead.payload)  # the event names the lead; contact details are read over the API
    planned = {(r["id"], _time(r["send_at"]), r["text"]) for r in first["replies"]}
    sent = {
        (x.payload["data"]["id"], _time(x.payload["data"]["send_at"]), x.payload["data"]["text"])
        for x in by_type["conversation.reply"]
    }
    assert sent == planned
    # the dispatcher signs with the lease's secret (Standard Webhooks): it verifies with the endpoint's secret
    body = json.dumps(lead.payload).encode()
    now = datetime.now(UTC)
    headers = {
        "webhook-id": lead.id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(lead.secret).sign(lead.id, now, body.decode()),
    }
    assert Webhook(secret).verify(body, headers)["data"]["id"] == first["lead_id"]


def test_leads_csv_export_is_excel_and_formula_safe(client: TestClient, tenants: Tenants, root_store: Store):
    _agent(client, tenants.a)
    for i, user in enumerate(("=HYPERLINK(1)", "+cmd", "@sum", "normal")):
        r = client.post(
            "/v1/agents/reno/messages",
            json={"user_id": user, "text": f"电话1381234567{i}"},
            headers=tenants.a,
        )
        assert r.status_code == 200 and r.json()["lead_created"], r.text
    r = client.get("/v1/leads/export.csv", params={"agent_id": "reno"}, headers=tenants.a)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["user_id"] for row in rows] == ["'=HYPERLINK(1)", "'+cmd", "'@sum", "normal"]
    assert [row["phone"] for row in rows] == [f"1381234567{i}" for i in range(4)]
    since = (datetime.now().astimezone() + timedelta(days=1)).isoformat()
    r = client.get("/v1/leads/export.csv", params={"since": since}, headers=tenants.a)
    assert r.content.decode("utf-8-sig").strip().count("\n") == 0  # the header only


def test_another_tenants_agents_conversations_and_leads_are_404(client: TestClient, tenants: Tenants):
    _agent(client, tenants.a)
    first = _say(client, tenants.a, PHONE_MESSAGE)
    conv_id = first["conversation_id"]
    for method, url, body in (
        ("GET", "/v1/agents/reno", None),
        ("DELETE", "/v1/agents/reno", None),
        ("POST", "/v1/agents/reno/messages", {"user_id": "x", "text": "hi"}),
        ("GET", f"/v1/conversations/{conv_id}", None),
        ("GET", f"/v1/conversations/{conv_id}/replies", None),
        ("POST", f"/v1/conversations/{conv_id}/handover", None),
        ("POST", f"/v1/conversations/{conv_id}/messages", {"text": "hi"}),
    ):
        r = client.request(method, url, json=body, headers=tenants.b)
        assert r.status_code == 404, (method, url, r.text)
    for path in ("/v1/agents", "/v1/conversations", "/v1/leads"):
        assert client.get(path, headers=tenants.b).json()["data"] == []
    assert "13812345678" not in client.get("/v1/leads/export.csv", headers=tenants.b).text
    r = client.get("/v1/leads", params={"after": first["lead_id"]}, headers=tenants.b)
    assert r.status_code == 400 and r.json()["error"]["param"] == "after"
    # B may use the same agent id for its own agent: ids are per tenant
    _agent(client, tenants.b)
    assert client.get("/v1/agents/reno", headers=tenants.a).status_code == 200


def test_bad_input(client: TestClient, tenants: Tenants):
    _agent(client, tenants.a)
    for text in ("", "   "):
        r = client.post("/v1/agents/reno/messages", json={"user_id": "u", "text": text}, headers=tenants.a)
        assert r.status_code == 400 and r.json()["error"]["param"] == "text", r.text
    r = client.post("/v1/agents/reno/messages", json={"user_id": "u", "text": "装" * 20_001}, headers=tenants.a)
    assert r.status_code == 413 and r.json()["error"]["param"] == "text" and "20000" in r.json()["error"]["message"]
    long = _say(client, tenants.a, "装修" * 6_000)  # 12 000 characters: kept whole, the engine reads what it can
    conv = client.get(f"/v1/conversations/{long['conversation_id']}", headers=tenants.a).json()
    assert len(conv["messages"][0]["text"]) == 12_000
    r = client.post("/v1/agents/reno/messages", json={"text": "hi"}, headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "user_id"
    r = client.post("/v1/agents/nope/messages", json={"user_id": "u", "text": "hi"}, headers=tenants.a)
    assert r.status_code == 404 and "PUT /v1/agents/nope" in r.json()["error"]["message"]
    r = client.put("/v1/agents/reno", json=_profile() | {"id": "other"}, headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "id"
    r = client.put("/v1/agents/reno", json=_profile() | {"knowlege": []}, headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "knowlege"
    r = client.put("/v1/agents/bad%20id", json=_profile(), headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "agent_id"
    r = client.get("/v1/conversations/conv_nope/replies", headers=tenants.a)
    assert r.status_code == 404
    r = client.get(f"/v1/conversations/{long['conversation_id']}/replies", params={"after": "x"}, headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "after"
