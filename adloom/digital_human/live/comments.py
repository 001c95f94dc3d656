"""Viewer comments: what they are, what they want, and a bounded intake a flood cannot overrun.

A live room can receive thousands of comments a minute; the presenter can answer perhaps one
every ten seconds without abandoning the script. So every comment is classified (a question
about the product, purchase intent, a greeting, other chatter, or abuse/spam), abusive ones
are dropped and logged, greetings are collected for one batched welcome, and only questions
and purchase intent wait in a small priority queue. Admission is rate-limited per viewer and
globally (token buckets), identical comments collapse into one entry, and when the queue is
full the oldest lowest-priority entry is dropped. Every decision is counted, so ``status``
says where the comments went.

The classifier is pluggable: any callable ``text -> Verdict`` (e.g. a small model served by
the application) can replace :class:`RuleClassifier`, whose zh + en keyword and pattern rules
are the default.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from adloom.core.errors import InputError

__all__ = [
    "Admission",
    "Comment",
    "CommentIntake",
    "CommentKind",
    "IntakeLimits",
    "PendingComment",
    "RuleClassifier",
    "Verdict",
    "clean_viewer_name",
    "normalise_comment",
]

MAX_COMMENT_CHARS = 500
MAX_VIEWER_CHARS = 24


class CommentKind(StrEnum):
    question = "question"  # about the product: answered from the knowledge base
    purchase = "purchase"  # wants to buy / asks the price or the link: templated reply
    greeting = "greeting"  # hello / just arrived: welcomed by name, batched
    chatter = "chatter"  # anything else harmless ("666", "哈哈"): counted, not answered
    abuse = "abuse"  # insults, links, ads, flooding: ignored and logged


#: Queue priority per kind (higher is answered first). Greetings and chatter never enter the queue.
PRIORITY = {CommentKind.purchase: 3, CommentKind.question: 2}


@dataclass(frozen=True, slots=True)
class Comment:
    """One viewer comment as received. ``received_at`` is ``time.monotonic()`` at arrival."""

    id: str
    viewer: str
    text: str
    received_at: float


@dataclass(frozen=True, slots=True)
class Verdict:
    """A classifier's answer: the kind and a short reason (rule name) for the log."""

    kind: CommentKind
    reason: str = ""


Classifier = Callable[[str], "Verdict | CommentKind"]


def normalise_comment(text: str) -> str:
    """Comparable form of a comment: NFKC, lower case, whitespace and trailing punctuation collapsed.

    Two viewers typing "多少钱？" and "多少钱 ?" are asking the same thing, so they collapse into one
    queue entry."""
    t = unicodedata.normalize("NFKC", text).lower()
    t = re.sub(r"\s+", " ", t).strip()
    return t.rstrip(" ?？!！。.~～")


_NAME_BAD = re.compile(r"[@#\s<>{}\[\]\\/`]+")


def clean_viewer_name(name: str) -> str:
    """A viewer name safe to speak and show: no @/#, no links, no control characters, short."""
    t = unicodedata.normalize("NFKC", name or "")
    t = "".join(c for c in t if unicodedata.category(c)[0] != "C")
    t = re.sub(r"https?://\S+|www\.\S+", "", t, flags=re.IGNORECASE)
    t = _NAME_BAD.sub("", t)
    return t[:MAX_VIEWER_CHARS]


# --------------------------------------------------------------------------- the rule classifier

_LINK = re.compile(
    r"https?://|www\.|\b[a-z0-9-]{2,}\.(?:com|cn|net|org|top|xyz|vip|cc|io|shop|club)\b"
    r"|(?:加|➕|\+)\s*(?:微信|薇信|v信|vx|wx|qq|扣扣|群)|(?:微信|vx|wx|qq)\s*[:：号]?\s*[a-z0-9_-]{5,}"
    r"|\b1[3-9]\d{9}\b",
    re.IGNORECASE,
)
# Insults and ad-spam vocabulary; deliberately a short, common list — projects extend it with ``banned_words``.
_BANNED_ZH = (
    "傻逼",
    "傻b",
    "煞笔",
    "sb主播",
    "脑残",
    "白痴",
    "弱智",
    "滚蛋",
    "去死",
    "垃圾主播",
    "骗子",
    "妈的",
    "他妈",
    "操你",
    "草你",
    "贱人",
    "婊子",
    "智障",
    "代刷",
    "刷单",
    "兼职日结",
    "免费领取",
    "点我头像",
    "看我主页",
    "赌博",
    "博彩",
    "彩票",
    "色情",
    "约炮",
    "裸聊",
)
_BANNED_EN = (
    "fuck",
    "fucking",
    "shit",
    "bitch",
    "idiot",
    "moron",
    "stupid bot",
    "scam",
    "scammer",
    "retard",
    "kill yourself",
    "kys",
    "asshole",
    "bastard",
    "porn",
    "casino",
    "crypto giveaway",
    "free followers",
    "click my profile",
    "check my bio",
    "dm me for",
)
_REPEAT = re.compile(r"(.)\1{9,}")  # ten or more of one character: flooding (but "666" and "哈哈哈" are chatter)

# Shipping and returns ("发货要多久", "包邮吗", "shipping time?") are questions: the knowledge base answers
# them ("付款后48小时内发货"); the purchase template only knows the price and the offer.
_PURCHASE_ZH = re.compile(
    r"多少钱|什么价|啥价|价格|价钱|几块|多少米|怎么买|在哪买|哪里买|怎么拍|怎么下单|要买|想买|我要了|我要一|买了|已拍|拍了|"
    r"下单|链接|上车|小黄车|购物车|库存|还有货|有货吗|优惠券|优惠|能便宜|便宜点|打折|扣1|^1+$"
)
_PURCHASE_EN = re.compile(
    r"\bhow much\b|\bprice\b|\bcost\b|\bwhere (?:can i|do i|to) (?:buy|get|order)\b|\bhow (?:do i|can i|to) "
    r"(?:buy|order|get one)\b|\blink\b|\badd(?:ed)? to cart\b|\bi(?:'ll| will)? (?:want|take|buy|order)\b|"
    r"\bjust (?:bought|ordered)\b|\bordered\b|\bin stock\b|\bdiscount\b|\bcoupon\b|\bdeal\b",
    re.IGNORECASE,
)
_QUESTION_ZH = re.compile(
    r"[?？]|吗|嘛|呢$|怎么|怎样|如何|什么|啥|哪|几|多久|多大|多重|多长|多少|是不是|有没有|能不能|可不可以|可以.{0,8}吗|"
    r"适合|适用|区别|成分|材质|尺寸|尺码|保质期|用法|效果|会不会|好不好|行不行"
)
_QUESTION_EN = re.compile(
    r"\?|^(?:what|how|does|do|is|are|can|could|will|would|which|when|where|why|who|should|any)\b|"
    r"\b(?:size|sizes|material|ingredients?|battery|warranty|difference|suitable|work for|compatible)\b",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^(?:你好|您好|哈喽|嗨|hi|hello|hey|hiya|yo|早上好|中午好|下午好|晚上好|晚安|早安|主播好|大家好|来了|我来了|"
    r"又来了|来啦|报到|打卡|good (?:morning|afternoon|evening)|what'?s up|greetings)(?:\b|[\s,，!！~～。.呀啊哦吖]|$)"
    r"|^(?:主播|姐姐|小姐姐|哥哥|老师)?(?:好|你好)[!！~～]*$|^(?:来了|来啦)+"
    r"|刚来|新来的|第一次来|first time here|just joined",
    re.IGNORECASE,
)


class RuleClassifier:
    """zh + en keyword and pattern rules with a few spam heuristics.

    Order matters: abuse wins over everything (a link inside a "question" is still an ad), then
    purchase intent (a price question is answered by the price template), then questions, then
    greetings; the rest is chatter. ``banned_words`` adds project terms (matched case-insensitively
    as substrings).
    """

    def __init__(self, banned_words: Iterable[str] = ()) -> None:
        extra = [w.strip().lower() for w in banned_words if w and w.strip()]
        self.banned = tuple(dict.fromkeys([*_BANNED_ZH, *_BANNED_EN, *extra]))
        en = [w for w in self.banned if w.isascii()]
        zh = [w for w in self.banned if not w.isascii()]
        parts = [re.escape(w) for w in zh]
        parts += [r"\b" + re.escape(w) + r"\b" for w in en]
        self._banned = re.compile("|".join(parts), re.IGNORECASE)

    def __call__(self, text: str) -> Verdict:
        t = normalise_comment(text)
        if not t:
            return Verdict(CommentKind.chatter, "empty")
        if len(text) > MAX_COMMENT_CHARS:
            return Verdict(CommentKind.abuse, "too_long")
        if _LINK.search(t):
            return Verdict(CommentKind.abuse, "link_or_contact")
        if self._banned.search(t):
            return Verdict(CommentKind.abuse, "banned_word")
        if _REPEAT.search(t):
            return Verdict(CommentKind.abuse, "repeated_chars")
        letters = [c for c in text if c.isalpha()]
        if len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.8 and text.isascii():
            return Verdict(CommentKind.abuse, "shouting")
        if _PURCHASE_ZH.search(t) or _PURCHASE_EN.search(t):
            return Verdict(CommentKind.purchase, "purchase_words")
        if _QUESTION_ZH.search(t) or _QUESTION_EN.search(t):
            return Verdict(CommentKind.question, "question_words")
        if _GREETING.search(t):
            return Verdict(CommentKind.greeting, "greeting_words")
        return Verdict(CommentKind.chatter, "default")


# --------------------------------------------------------------------------- the intake


@dataclass(frozen=True, slots=True)
class IntakeLimits:
    """How much the intake lets through. Defaults suit one presenter answering every ~10 s."""

    capacity: int = 32  # queued questions + purchase intents
    per_viewer_burst: float = 2.0  # comments a viewer may send at once
    per_viewer_per_s: float = 0.2  # … refilled at one every 5 s
    global_burst: float = 40.0
    global_per_s: float = 20.0  # admitted comments per second, all viewers together
    max_age_s: float = 90.0  # a question older than this is stale: the moment has passed
    max_viewers_tracked: int = 20_000  # rate-limit buckets kept (least recently seen evicted)
    max_greetings: int = 50  # names waiting for the batched welcome
    max_viewers_per_entry: int = 8  # viewers remembered on one collapsed duplicate

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise InputError(f"intake capacity={self.capacity} must be at least 1", field="capacity")
        if self.per_viewer_per_s <= 0 or self.global_per_s <= 0:
            raise InputError("intake rates must be positive (comments per second)", field="rate")


@dataclass(slots=True)
class PendingComment:
    """A queued question or purchase intent; duplicates from other viewers collapse into it."""

    comment: Comment
    kind: CommentKind
    priority: int
    seq: int
    key: str
    viewers: list[str] = field(default_factory=list)
    duplicates: int = 0


@dataclass(frozen=True, slots=True)
class Admission:
    """What happened to a submitted comment: ``outcome`` is one of the counter names."""

    comment_id: str
    kind: CommentKind
    outcome: str
    reason: str = ""


class _Bucket:
    __slots__ = ("tokens", "at")

    def __init__(self, tokens: float, at: float) -> None:
        self.tokens, self.at = tokens, at

    def take(self, now: float, rate: float, burst: float) -> bool:
        self.tokens = min(burst, self.tokens + (now - self.at) * rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


_COUNTERS = (
    "received",
    "queued",
    "duplicates",
    "greetings",
    "chatter",
    "abuse",
    "rate_limited_viewer",
    "rate_limited_global",
    "dropped_full",
    "evicted",
    "expired",
    "taken",
)


class CommentIntake:
    """Thread-safe bounded intake: ``submit`` from the API thread, ``take``/``take_greetings`` from the room.

    Memory is bounded whatever arrives: at most ``capacity`` queued entries, ``max_greetings`` names,
    ``max_viewers_tracked`` rate buckets. Abuse is appended to ``abuse_log`` (JSON lines) when given; past
    ``abuse_log_max_bytes`` the file is rotated to ``<name>.1``, so a spam attack cannot fill the disk.
    ``clock`` is ``time.monotonic`` unless a test drives time itself.
    """

    def __init__(
        self,
        *,
        limits: IntakeLimits | None = None,
        classifier: Classifier | None = None,
        abuse_log: Path | None = None,
        abuse_log_max_bytes: int = 10_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits or IntakeLimits()
        self.classifier: Classifier = classifier or RuleClassifier()
        self.abuse_log = abuse_log
        self.abuse_log_max_bytes = abuse_log_max_bytes
        self.clock = clock
        self._lock = threading.Lock()
        self._queue: dict[str, PendingComment] = {}  # key → entry (dict keeps insertion = age order)
        self._viewers: OrderedDict[str, _Bucket] = OrderedDict()
        self._global = _Bucket(self.limits.global_burst, clock())
        self._greetings: OrderedDict[str, None] = OrderedDict()
        self._seq = 0
        self.counters: dict[str, int] = dict.fromkeys(_COUNTERS, 0)
        self._available = threading.Condition(self._lock)

    def classify(self, text: str) -> Verdict:
        out = self.classifier(text)
        return out if isinstance(out, Verdict) else Verdict(CommentKind(out), "classifier")

    def submit(self, comment: Comment) -> Admission:
        """Classify and admit (or drop) one comment; never blocks on the room."""
        text = comment.text if len(comment.text) <= MAX_COMMENT_CHARS * 4 else comment.text[: MAX_COMMENT_CHARS * 4]
        viewer = clean_viewer_name(comment.viewer) or "viewer"
        verdict = self.classify(text)
        now = self.clock()
        with self._lock:
            self.counters["received"] += 1
            if verdict.kind == CommentKind.abuse:
                self.counters["abuse"] += 1
                self._log_abuse(comment, verdict)
                return Admission(comment.id, verdict.kind, "abuse", verdict.reason)
            if not self._viewer_bucket(viewer, now).take(
                now, self.limits.per_viewer_per_s, self.limits.per_viewer_burst
            ):
                self.counters["rate_limited_viewer"] += 1
                return Admission(comment.id, verdict.kind, "rate_limited_viewer")
            if verdict.kind == CommentKind.greeting:
                self.counters["greetings"] += 1
                self._greetings.pop(viewer, None)
                self._greetings[viewer] = None
                while len(self._greetings) > self.limits.max_greetings:
                    self._greetings.popitem(last=False)
                return Admission(comment.id, verdict.kind, "greetings")
            if verdict.kind == CommentKind.chatter:
                self.counters["chatter"] += 1
                return Admission(comment.id, verdict.kind, "chatter")
            key = f"{verdict.kind.value}:{normalise_comment(text)}"
            dup = self._queue.get(key)
            if dup is not None:
                dup.duplicates += 1
                if viewer not in dup.viewers and len(dup.viewers) < self.limits.max_viewers_per_entry:
                    dup.viewers.append(viewer)
                self.counters["duplicates"] += 1
                return Admission(comment.id, verdict.kind, "duplicates")
            if not self._global.take(now, self.limits.global_per_s, self.limits.global_burst):
                self.counters["rate_limited_global"] += 1
                return Admission(comment.id, verdict.kind, "rate_limited_global")
            self._expire(now)
            priority = PRIORITY[verdict.kind]
            if len(self._queue) >= self.limits.capacity:
                victim = min(self._queue.values(), key=lambda e: (e.priority, e.seq))
                if victim.priority > priority:  # everything queued matters more than this comment
                    self.counters["dropped_full"] += 1
                    return Admission(comment.id, verdict.kind, "dropped_full")
                del self._queue[victim.key]
                self.counters["evicted"] += 1
            self._seq += 1
            clean = Comment(comment.id, viewer, text.strip(), comment.received_at)
            self._queue[key] = PendingComment(clean, verdict.kind, priority, self._seq, key, [viewer])
            self.counters["queued"] += 1
            self._available.notify()
            return Admission(comment.id, verdict.kind, "queued", verdict.reason)

    def take(self, timeout: float | None = None) -> PendingComment | None:
        """The most important waiting comment (highest priority, then oldest), or None after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                self._expire(self.clock())
                if self._queue:
                    best = max(self._queue.values(), key=lambda e: (e.priority, -e.seq))
                    del self._queue[best.key]
                    self.counters["taken"] += 1
                    return best
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._available.wait(remaining)

    def take_greetings(self, limit: int = 6) -> tuple[list[str], int]:
        """Up to ``limit`` names to welcome (most recent first) and how many greeted in all; clears them."""
        with self._lock:
            names = list(self._greetings)
            self._greetings.clear()
        return names[::-1][:limit], len(names)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def snapshot(self) -> dict[str, int]:
        """Counters plus current sizes (for ``status``)."""
        with self._lock:
            return {
                **self.counters,
                "pending": len(self._queue),
                "greetings_waiting": len(self._greetings),
                "viewers_tracked": len(self._viewers),
            }

    def restore_counters(self, saved: dict[str, int]) -> None:
        """Continue counting from a previous run's totals (state survives restarts)."""
        with self._lock:
            for k in _COUNTERS:
                if isinstance(saved.get(k), int):
                    self.counters[k] = saved[k]

    # ----------------------------------------------------------------- internals (lock held)

    def _viewer_bucket(self, viewer: str, now: float) -> _Bucket:
        bucket = self._viewers.get(viewer)
        if bucket is None:
            bucket = _Bucket(self.limits.per_viewer_burst, now)
            self._viewers[viewer] = bucket
            if len(self._viewers) > self.limits.max_viewers_tracked:
                self._viewers.popitem(last=False)
        else:
            self._viewers.move_to_end(viewer)
        return bucket

    def _expire(self, now: float) -> None:
        stale = [k for k, e in self._queue.items() if now - e.comment.received_at > self.limits.max_age_s]
        for k in stale:
            del self._queue[k]
        self.counters["expired"] += len(stale)

    def _log_abuse(self, comment: Comment, verdict: Verdict) -> None:
        if self.abuse_log is None:
            return
        record = {
            "ts": time.time(),
            "comment_id": comment.id,
            "viewer": comment.viewer[:64],
            "text": comment.text[:MAX_COMMENT_CHARS],
            "reason": verdict.reason,
        }
        try:
            self.abuse_log.parent.mkdir(parents=True, exist_ok=True)
            if self.abuse_log.exists() and self.abuse_log.stat().st_size > self.abuse_log_max_bytes:
                os.replace(self.abuse_log, self.abuse_log.with_name(self.abuse_log.name + ".1"))  # keep one old file
            with self.abuse_log.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError:
            pass  # a full disk must not stop the room; the counter still records it
