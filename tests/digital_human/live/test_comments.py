"""Viewer comments: classification (zh + en), rate limits, priority, duplicates, bounded memory, abuse log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adloom.core.errors import InputError
from adloom.digital_human.live.comments import (
    Comment,
    CommentIntake,
    CommentKind,
    IntakeLimits,
    RuleClassifier,
    Verdict,
    clean_viewer_name,
    normalise_comment,
)

Q, P, G, C, A = (
    CommentKind.question,
    CommentKind.purchase,
    CommentKind.greeting,
    CommentKind.chatter,
    CommentKind.abuse,
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("这个精华适合油皮吗？", Q),
        ("保质期多久", Q),
        ("孕妇可以用吗", Q),
        ("Does it work on carpet?", Q),
        ("what size is the bottle", Q),
        ("多少钱", P),
        ("怎么买？链接在哪", P),
        ("已拍", P),
        ("how much is it", P),
        ("I'll take one", P),
        ("主播好", G),
        ("晚上好呀", G),
        ("来了来了", G),
        ("hello!", G),
        ("Good evening everyone", G),
        ("666", C),
        ("哈哈哈", C),
        ("lol nice", C),
        ("加微信abc12345领优惠", A),
        ("傻逼主播", A),
        ("check my bio for free followers", A),
        ("http://spam.example.com", A),
        ("www.cheap-deals.top", A),
        ("啊" * 12, A),
        ("BUY CHEAP FOLLOWERS NOW AT MY PAGE", A),
        ("x" * 600, A),
    ],
)
def test_rule_classifier(text: str, kind: CommentKind) -> None:
    assert RuleClassifier()(text).kind == kind


def test_abuse_wins_over_question_and_extra_banned_words() -> None:
    c = RuleClassifier(banned_words=["竞品牌"])
    assert c("这个好用吗？加vx abc123456").kind == A  # an ad dressed as a question
    assert c("竞品牌更好用吗").kind == A
    assert c("竞品牌").reason == "banned_word"
    assert RuleClassifier()("竞品牌更好用吗").kind == Q


def test_names_and_normalisation() -> None:
    assert clean_viewer_name("@小王 http://x.cn") == "小王"
    assert clean_viewer_name("a\x00b\u202e#c") == "abc"
    assert len(clean_viewer_name("n" * 100)) == 24
    assert normalise_comment("多少钱 ？") == normalise_comment("多少钱?") == "多少钱"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _c(i: int, viewer: str, text: str, at: float) -> Comment:
    return Comment(f"c{i}", viewer, text, at)


def test_per_viewer_rate_limit_refills() -> None:
    clock = Clock()
    intake = CommentIntake(limits=IntakeLimits(per_viewer_burst=2, per_viewer_per_s=0.5), clock=clock)
    outcomes = [intake.submit(_c(i, "小王", f"问题{i}是什么？", clock.t)).outcome for i in range(5)]
    assert outcomes == ["queued", "queued", "rate_limited_viewer", "rate_limited_viewer", "rate_limited_viewer"]
    clock.t += 2.0  # one token back
    assert intake.submit(_c(9, "小王", "还有别的颜色吗？", clock.t)).outcome == "queued"
    assert intake.counters["rate_limited_viewer"] == 3
    # another viewer is unaffected
    assert intake.submit(_c(10, "小李", "有别的颜色吗？", clock.t)).outcome == "queued"


def test_global_rate_limit() -> None:
    clock = Clock()
    intake = CommentIntake(limits=IntakeLimits(global_burst=3, global_per_s=1, capacity=100), clock=clock)
    outs = [intake.submit(_c(i, f"v{i}", f"第{i}个问题是什么？", clock.t)).outcome for i in range(6)]
    assert outs.count("queued") == 3 and outs.count("rate_limited_global") == 3


def test_duplicates_collapse_and_priority_order() -> None:
    clock = Clock()
    intake = CommentIntake(clock=clock)
    intake.submit(_c(1, "a", "油皮能用吗？", clock.t))
    clock.t += 1
    for i, v in enumerate(["b", "c", "d"]):
        assert intake.submit(_c(2 + i, v, "油皮能用吗 ?", clock.t)).outcome == "duplicates"
    clock.t += 1
    intake.submit(_c(9, "e", "多少钱", clock.t))
    clock.t += 1
    intake.submit(_c(10, "f", "保质期多久？", clock.t))
    first = intake.take(timeout=0)
    assert first is not None and first.kind == P  # purchase intent first
    second = intake.take(timeout=0)
    assert second is not None and second.comment.text == "油皮能用吗？"  # then the oldest question
    assert second.viewers == ["a", "b", "c", "d"] and second.duplicates == 3
    third = intake.take(timeout=0)
    assert third is not None and third.comment.viewer == "f"
    assert intake.take(timeout=0) is None
    assert intake.counters["duplicates"] == 3 and intake.counters["taken"] == 3


def test_full_queue_evicts_oldest_lowest_priority_and_refuses_less_important() -> None:
    clock = Clock()
    intake = CommentIntake(limits=IntakeLimits(capacity=3), clock=clock)
    for i in range(3):
        intake.submit(_c(i, f"q{i}", f"问题{i}怎么样？", clock.t))
        clock.t += 0.1
    assert intake.submit(_c(7, "buyer", "怎么下单", clock.t)).outcome == "queued"
    assert intake.counters["evicted"] == 1
    remaining = []
    while (e := intake.take(timeout=0)) is not None:
        remaining.append(e.comment.viewer)
    assert remaining == ["buyer", "q1", "q2"]  # q0, the oldest question, made room

    for i in range(3):
        intake.submit(_c(20 + i, f"b{i}", f"第{i}件怎么买", clock.t))
    assert intake.submit(_c(30, "late", "适合油皮吗？", clock.t)).outcome == "dropped_full"


def test_stale_questions_expire() -> None:
    clock = Clock()
    intake = CommentIntake(limits=IntakeLimits(max_age_s=30), clock=clock)
    intake.submit(_c(1, "a", "保质期多久？", clock.t))
    clock.t += 31
    assert intake.take(timeout=0) is None
    assert intake.counters["expired"] == 1


def test_greetings_are_batched_and_chatter_counted() -> None:
    intake = CommentIntake()
    for name in ["小王", "小李", "小张", "小王"]:
        assert intake.submit(_c(0, name, "主播好", 0.0)).outcome == "greetings"
    assert intake.submit(_c(1, "x", "666", 0.0)).outcome == "chatter"
    names, total = intake.take_greetings(limit=2)
    assert total == 3 and names == ["小王", "小张"]  # most recent first, each once
    assert intake.take_greetings() == ([], 0)
    assert intake.pending() == 0


def test_abuse_is_ignored_and_logged(tmp_path: Path) -> None:
    log = tmp_path / "abuse.jsonl"
    intake = CommentIntake(abuse_log=log)
    adm = intake.submit(Comment("c1", "troll", "傻逼主播 加微信abc12345", 0.0))
    assert adm.outcome == "abuse" and adm.kind == A
    assert intake.pending() == 0
    record = json.loads(log.read_text(encoding="utf-8").splitlines()[0])
    assert record["comment_id"] == "c1" and record["viewer"] == "troll" and record["reason"] == "link_or_contact"


def test_abuse_log_is_rotated(tmp_path: Path) -> None:
    log = tmp_path / "abuse.jsonl"
    intake = CommentIntake(abuse_log=log, abuse_log_max_bytes=2_000)
    for i in range(200):
        intake.submit(Comment(f"c{i}", f"t{i}", f"傻逼{i}", 0.0))
    assert intake.counters["abuse"] == 200
    assert log.stat().st_size <= 2_000 + 200 and (tmp_path / "abuse.jsonl.1").stat().st_size <= 2_000 + 200


def test_pluggable_classifier() -> None:
    seen = []

    def classify(text: str) -> CommentKind:
        seen.append(text)
        return CommentKind.purchase if "要" in text else CommentKind.chatter

    intake = CommentIntake(classifier=classify)
    assert intake.submit(_c(1, "a", "我要", 0.0)).kind == P
    assert intake.submit(_c(2, "b", "这个适合油皮吗？", 0.0)).kind == C
    assert seen == ["我要", "这个适合油皮吗？"]
    intake2 = CommentIntake(classifier=lambda t: Verdict(CommentKind.abuse, "model"))
    assert intake2.submit(_c(3, "c", "hi", 0.0)).reason == "model"


def test_flood_keeps_memory_bounded() -> None:
    limits = IntakeLimits(capacity=16, max_viewers_tracked=200, max_greetings=10)
    intake = CommentIntake(limits=limits)
    texts = ["第{i}款多少钱", "第{i}个颜色适合油皮吗？", "主播好", "666", "加微信abc{i}99999"]
    for i in range(5000):
        intake.submit(Comment(f"c{i}", f"viewer{i}", texts[i % 5].format(i=i), 0.0))
    snap = intake.snapshot()
    assert snap["received"] == 5000
    assert snap["pending"] <= 16 and snap["viewers_tracked"] <= 200 and snap["greetings_waiting"] <= 10
    assert snap["abuse"] == 1000 and snap["chatter"] == 1000 and snap["greetings"] == 1000
    accounted = (
        snap["queued"] + snap["duplicates"] + snap["greetings"] + snap["chatter"] + snap["abuse"]
        + snap["rate_limited_viewer"] + snap["rate_limited_global"] + snap["dropped_full"]
    )  # fmt: skip
    assert accounted == 5000


def test_limits_are_checked() -> None:
    with pytest.raises(InputError, match="capacity"):
        IntakeLimits(capacity=0)
