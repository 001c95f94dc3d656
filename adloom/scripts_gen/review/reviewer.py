"""The copy reviewer: deterministic checks that decide whether an ad line is shippable.

The writer calls :meth:`Reviewer.review_line` on every candidate line and keeps only lines with no
findings; ``adloom scripts generate``/``render`` emit only scripts whose :meth:`Reviewer.review_script`
is empty. Checks, per line, in zh and en:

* **grounding** — every claim-bearing span (numbers in any form, units, spec tokens, ingredients,
  materials, certifications, deals, comparisons, names) is stated by the brief (name, brand,
  description, usable selling points, offer, price, audience) or is a generic ad phrase;
* **leakage** — an unsupported claim, or a long phrase, shared with the exemplar's lines;
* **repetition**, **meta** (production labels, placeholders), **truncated**, **language**;
* **compliance** — :class:`ComplianceChecker`, whose table (``adloom/data/compliance/rules.yaml``)
  counts efficacy synonyms (降糖/控糖/调节血糖, "fights acne", "heals", 医院同款 …); disclaimers
  ("不保证", "not guaranteed") and terms inside the product's own name are not line findings
  (the name is reported once, by :meth:`Reviewer.brief_findings`, and never renamed);
* **grammar** a rewrite breaks ("a great earbuds", "非常不会");
* **cta** — a CTA or offer line that uses a word its campaign objective forbids.

Per script: repetition across lines and a long product name spoken in full in every line, and
coverage (at least one usable selling point). Per set: every usable selling point covered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from adloom.core.types import Brief, ComplianceFinding, Language, Script, ShotRole
from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.scripts_gen.objectives import forbidden_cta_terms_in, objective_profile, resolve_objective
from adloom.scripts_gen.review.checks import (
    Span,
    broken_grammar,
    is_zh,
    meta_text,
    repeated,
    truncation,
    wrong_language,
)
from adloom.scripts_gen.review.claims import Claim, Source, cjk_bigrams, claims_in, content_words
from adloom.scripts_gen.review.finding import Finding, Rule
from adloom.scripts_gen.review.lexicon import lexicon, term_pattern

__all__ = ["Reviewer", "script_lines"]

_CLAIM_WHY = {
    "number": "number",
    "spec": "specification",
    "free_from": "'free from' claim",
    "contains": "claim about what it contains or is made of",
    "comparison": "comparison",
    "name": "name (brand, institution or endorsement)",
}
_BRIEF_FACTS = "name, description, selling points, offer, price, audience"
_SENTENCE = re.compile(r"(?:[^。！？!?.]|\.(?=\S))+[。！？!?.]*")  # "$4.99" does not end a sentence
_CLAUSE = re.compile(r"[^，,；;：:。！？!?]+")  # a clause: up to a comma, semicolon, colon or sentence end


def script_lines(script: Script) -> Iterator[tuple[str, str, ShotRole | None]]:
    """Every viewer-facing line of ``script`` as ``(field, text, role)``, in reading order."""
    yield "title", script.title, None
    yield "hook", script.hook, ShotRole.hook
    for shot in script.shots:
        yield f"shots[{shot.index}].narration", shot.narration, shot.role
        yield f"shots[{shot.index}].caption", shot.caption, shot.role
        yield f"shots[{shot.index}].visual", shot.visual, shot.role
    yield "cta", script.cta, ShotRole.cta


class Reviewer:
    """Reviews ad copy written for one brief (see the module docstring for the checks).

    Args:
        brief: The brief the copy is for; its facts are all a line may claim.
        exemplar: The library script the copy was modelled on, if any; phrases and claims shared
            with it that the brief does not support are leakage.
        checker: The compliance checker in force (a project's extra terms included); defaults to
            one built from settings.
    """

    def __init__(
        self, brief: Brief, *, exemplar: Script | None = None, checker: ComplianceChecker | None = None
    ) -> None:
        self.brief = brief
        self.language = brief.language
        self.lex = lexicon()
        self.checker = checker if checker is not None else ComplianceChecker()
        self.objective = resolve_objective(brief)
        product = brief.product
        self._names = [n for n in dict.fromkeys((product.name, product.name.replace(" ", ""), product.brand)) if n]
        self._brief = self._find_brief_claims()
        facts = [
            product.name,
            product.brand,
            product.description,
            *self.usable_selling_points(),
            product.offer,
            brief.audience,
            product.price_text(Language.zh),
            product.price_text(Language.en),
        ]
        self.facts = Source(facts, self.lex, offer=product.offer, price=product.price)
        self._allowed_words = frozenset(
            self.facts.words | {w.lower() for n in self._names for w in re.findall(r"[A-Za-z]+", n)}
        )
        self._exemplar_lines = (
            [t for f, t, _ in script_lines(exemplar) if t and not f.endswith(".visual")] if exemplar else []
        )
        self.exemplar = Source(self._exemplar_lines, self.lex) if exemplar else None

    # ------------------------------------------------------------------ brief level

    def _compliance(self, text: str, field: str) -> list[ComplianceFinding]:
        """Checker findings in ``text``, without disclaimers, non-claims, or duplicates."""
        found = self.checker.check(text, language=self.language, industry=self.brief.industry, field=field)
        kept: list[ComplianceFinding] = []
        not_claims = term_pattern(tuple(self.lex.compliance_not_claims))
        harmless = [m.span() for m in not_claims.finditer(text)] if not_claims else []
        for f in sorted(found, key=lambda f: (f.start, f.start - f.end)):
            if any(f.start < k.end and k.start < f.end for k in kept):
                continue
            if any(f.start < b and a < f.end for a, b in harmless) or self._negated(text, f.start):
                continue
            kept.append(f)
        return kept

    def _negated(self, text: str, start: int) -> bool:
        """Whether a negation just before ``start`` in the same clause makes the term a disclaimer."""
        before = re.split(r"[，,。.!！?？;；:：]", text[:start])[-1]
        if is_zh(before[-4:]) or not before.strip():
            return any(before[-4:].find(n) >= 0 for n in self.lex.negations[Language.zh])
        words = re.findall(r"[A-Za-z']+", before.lower())[-3:]
        return any(w in self.lex.negations[Language.en] or w.endswith("n't") for w in words)

    def _find_brief_claims(self) -> list[Finding]:
        product = self.brief.product
        fields = [(f"product.selling_points[{i}]", p) for i, p in enumerate(product.selling_points)]
        fields += [
            ("product.name", product.name),
            ("product.offer", product.offer),
            ("product.description", product.description),
            ("audience", self.brief.audience),
        ]
        out: list[Finding] = []
        for field, text in fields:
            for f in self._compliance(text, field) if text else []:
                if field == "product.name":
                    todo = "scripts keep the name as given, never renamed; confirm the registered name or change it"
                elif field.startswith("product.selling_points"):
                    todo = (
                        "the scripts leave this selling point out; rephrase it without that claim, "
                        "or hold the evidence the law asks for"
                    )
                else:
                    todo = "the scripts leave this claim out; rephrase it without that claim"
                out.append(
                    Finding(
                        rule="brief",
                        field=field,
                        span=f.term,
                        start=f.start,
                        end=f.end,
                        why=f"{f.rule_id}: {f.rule} {todo}.",
                        fix="",  # never swap the advertiser's claim for a different one
                    )
                )
        return out

    def brief_findings(self) -> list[Finding]:
        """Claims in the brief itself that no script may use (banned selling points, name, offer)."""
        return list(self._brief)

    def usable_selling_points(self) -> list[str]:
        """The brief's selling points minus those with a brief finding."""
        banned = {f.field for f in self._brief}
        return [
            p for i, p in enumerate(self.brief.product.selling_points) if f"product.selling_points[{i}]" not in banned
        ]

    # ------------------------------------------------------------------ one line

    def _name_spans(self, text: str) -> list[tuple[int, int]]:
        pattern = term_pattern(tuple(self._names))
        return [m.span() for m in pattern.finditer(text)] if pattern else []

    def _generic_spans(self, text: str) -> list[tuple[int, int]]:
        pattern = term_pattern(tuple(p for ps in self.lex.generic_phrases.values() for p in ps))
        return [m.span() for m in pattern.finditer(text)] if pattern else []

    def review_line(self, text: str, *, field: str, role: ShotRole | None = None) -> list[Finding]:
        """Findings in one line read on its own (no cross-line checks); [] means the line may ship."""
        if not text.strip():
            return []
        if field == "title":  # the gallery's name for the script, never spoken or shown: claims only
            return self._claim_findings(text, field, []) + self._compliance_findings(text, field, [])
        visual = field.endswith(".visual")
        findings: list[Finding] = []

        def add(rule: Rule, spans: Sequence[Span]) -> None:
            findings.extend(
                Finding(rule=rule, field=field, span=text[s:e], start=s, end=e, why=why, fix=fix)
                for s, e, why, fix in spans
            )

        meta = meta_text(text, self.language, visual=visual, lex=self.lex)
        add("meta", meta)
        names = self._name_spans(text)
        skip = [*[(s, e) for s, e, _, _ in meta], *names, *self._generic_spans(text)]
        language = [
            s for s in wrong_language(text, self.language, self._allowed_words, self.lex) if not _inside(s, skip)
        ]
        add("language", language)
        findings += self._claim_findings(text, field, [*skip, *((s, e) for s, e, _, _ in language)])
        if not visual:
            add("leakage", self._shared_with_exemplar(text, skip))
            said: dict[str, int] = {}
            for a, b in names:
                key = text[a:b].lower()
                if key in said:
                    add("repetition", [(a, b, f"the name {text[a:b]!r} twice in one line", "")])
                said[key] = a
            blanked = _blank(text, names)  # a long name may share words with a selling point
            add("repetition", repeated(blanked, self.language, self.lex))
            add("truncated", truncation(text, self.language, self.lex))
        findings += self._compliance_findings(text, field, names)
        add("grammar", broken_grammar(text, self.language, self.lex))
        if field == "cta" or role in (ShotRole.cta, ShotRole.offer):
            button = objective_profile(self.objective).button[self.language]
            add(
                "cta",
                [
                    (s, e, f"{term!r} does not fit a {self.objective.value} campaign; its button is {button!r}", button)
                    for term, s, e in forbidden_cta_terms_in(text, self.objective, self.language)
                ],
            )
        return findings

    def _claim_findings(self, text: str, field: str, skip: list[tuple[int, int]]) -> list[Finding]:
        """Grounding (or leakage) findings for the claims in ``text`` the brief does not state."""
        skip = [*skip, *self._name_spans(text), *self._generic_spans(text)]
        claims = claims_in(text, self.lex, language=self.language, skip=skip, brand_words=self._allowed_words)
        return [self._claim_finding(c, field) for c in claims if not self.facts.supports(c, self.language)]

    def _compliance_findings(self, text: str, field: str, names: list[tuple[int, int]]) -> list[Finding]:
        """Compliance findings in ``text``, except terms inside the product's own name (a brief finding)."""
        names = names or self._name_spans(text)
        return [
            Finding(
                rule="compliance",
                field=field,
                span=f.term,
                start=f.start,
                end=f.end,
                why=f"{f.rule_id}: {f.rule}",
                # A reworded medical claim is a new claim the advertiser never made ("祛痘" → "控油"): drop it.
                fix="" if f.rule_id.startswith("medical_claim") else f.suggestion,
            )
            for f in self._compliance(text, field)
            if not any(a <= f.start and f.end <= b for a, b in names)
        ]

    def _claim_finding(self, claim: Claim, field: str) -> Finding:
        what = _CLAIM_WHY.get(claim.kind) or f"{claim.kind.split(':', 1)[1]} claim"
        if self.exemplar is not None and self.exemplar.supports(claim, self.language):
            return Finding(
                rule="leakage",
                field=field,
                span=claim.text,
                start=claim.start,
                end=claim.end,
                why=f"{what} {claim.text!r} comes from the exemplar's product, not from this brief",
            )
        return Finding(
            rule="grounding",
            field=field,
            span=claim.text,
            start=claim.start,
            end=claim.end,
            why=f"{what} {claim.text!r} is not stated in the brief ({_BRIEF_FACTS})",
        )

    def _shared_with_exemplar(self, text: str, skip: list[tuple[int, int]]) -> list[Span]:
        """Long phrases copied from the exemplar that the brief does not state."""
        if not self._exemplar_lines:
            return []
        source = "\n".join(self._exemplar_lines)
        spans: list[Span] = []
        if self.language == Language.zh:
            for m in re.finditer(r"[\u4e00-\u9fffA-Za-z0-9]+", text):
                run, base, i = m.group(0), m.start(), 0
                while i < len(run):
                    j = i
                    while j < len(run) and run[i : j + 1] in source:
                        j += 1
                    s, e = base + i, base + j
                    if (
                        j - i >= 5
                        and not _inside((s, e), skip)
                        and not self.facts.mostly_states(run[i:j], self.language, 0.6)
                    ):
                        spans.append((s, e, f"{run[i:j]!r} is the exemplar's wording for another product", ""))
                    i = max(j, i + 1)
            return spans
        words = [(m.group(0).lower(), m.start(), m.end()) for m in re.finditer(r"[A-Za-z0-9']+", text)]
        src = " " + " ".join(re.findall(r"[a-z0-9']+", source.lower())) + " "
        i = 0
        while i + 4 <= len(words):
            j = i + 4
            if f" {' '.join(w for w, _, _ in words[i:j])} " not in src:
                i += 1
                continue
            while j < len(words) and f" {' '.join(w for w, _, _ in words[i : j + 1])} " in src:
                j += 1
            s, e = words[i][1], words[j - 1][2]
            phrase = text[s:e]
            new = [w for w in content_words(phrase, self.lex) if w not in self.facts.stems]
            if len(new) >= 2 and not _inside((s, e), skip):
                spans.append((s, e, f"{phrase!r} is the exemplar's wording for another product", ""))
            i = j
        return spans

    # ------------------------------------------------------------------ one script, a set

    def review_script(self, script: Script) -> list[Finding]:
        """Every line's findings, plus repetition across lines, a long name said everywhere, and coverage."""
        lines = list(script_lines(script))
        findings = [f for field, text, role in lines for f in self.review_line(text, field=field, role=role)]
        narrated = {shot.narration for shot in script.shots}
        # The hook and CTA are usually also the first and last shot's narration: one line, not two.
        spoken_once = [(f, t, r) for f, t, r in lines if not (f in ("hook", "cta") and t in narrated)]
        findings += self._cross_line(spoken_once)
        findings += self._long_name(spoken_once)
        for shot in script.shots:
            if shot.role in (ShotRole.feature, ShotRole.proof, ShotRole.demo) and not (shot.narration or shot.caption):
                findings.append(
                    Finding(
                        rule="coverage",
                        field=f"shots[{shot.index}].narration",
                        span="",
                        why=f"{shot.role.value} shot says and shows nothing",
                    )
                )
        spoken = [t for f, t, _ in lines if not f.endswith(".visual") and f != "title"]
        usable = self.usable_selling_points()
        if usable and not any(self.states(p, spoken) for p in usable):
            findings.append(
                Finding(
                    rule="coverage",
                    field="",
                    span="",
                    why="the script states none of the brief's usable selling points",
                    fix=usable[0],
                )
            )
        return findings

    def review_set(self, scripts: Sequence[Script]) -> list[Finding]:
        """Usable selling points that no variant states."""
        texts = [t for s in scripts for f, t, _ in script_lines(s) if not f.endswith(".visual") and f != "title"]
        return [
            Finding(rule="coverage", field="", span=p, why=f"no variant states the selling point {p!r}", fix=p)
            for p in self.usable_selling_points()
            if not self.states(p, texts)
        ]

    def states(self, point: str, texts: Sequence[str], share: float = 0.6) -> bool:
        """Whether one of ``texts`` states selling point ``point`` (most of its bigrams or content words)."""
        if is_zh(point):
            units = cjk_bigrams(point)
            return any(units and len(units & cjk_bigrams(t)) / len(units) >= share for t in texts)
        words = set(content_words(point, self.lex))
        return any(words and len(words & set(content_words(t, self.lex))) / len(words) >= share for t in texts)

    def _cross_line(self, lines: list[tuple[str, str, ShotRole | None]]) -> list[Finding]:
        """The same sentence (or a long phrase) in two spoken lines, or in two captions."""
        findings: list[Finding] = []
        groups = {
            "spoken": [(f, t) for f, t, _ in lines if t and (f in ("hook", "cta") or f.endswith(".narration"))],
            "caption": [(f, t) for f, t, _ in lines if t and f.endswith(".caption")],
        }
        for group in groups.values():
            seen: dict[str, str] = {}
            for field, text in group:
                for m in self._repeat_units(text):
                    key = self._sentence_key(m.group(0), clause=m.re is _CLAUSE)
                    if key and key in seen and seen[key] != field:
                        findings.append(
                            Finding(
                                rule="repetition",
                                field=field,
                                span=m.group(0).strip(),
                                start=m.start(),
                                end=m.end(),
                                why=f"the same sentence or clause is already in {seen[key]}",
                            )
                        )
                    elif key:
                        seen.setdefault(key, field)
        return findings

    @staticmethod
    def _repeat_units(text: str) -> list[re.Match[str]]:
        """Sentences, and their clauses when a sentence has several: a selling point said in the hook and
        again as a feature line ("质地清爽，涂抹后很快吸收，这就是…" then "质地清爽，涂抹后很快吸收。") repeats a
        clause, not a sentence."""
        units = list(_SENTENCE.finditer(text))
        for sentence in list(units):
            clauses = [c for c in _CLAUSE.finditer(text, sentence.start(), sentence.end()) if c.group(0).strip()]
            if len(clauses) > 1:
                units += clauses
        return units

    def _sentence_key(self, sentence: str, *, clause: bool = False) -> str:
        """A sentence (or clause) normalised for comparison, or "" when too short to count as repetition.
        Clauses count from 6 Chinese characters or 4 English words: shorter ones ("点下方链接") recur
        naturally."""
        for name in self._names:
            sentence = sentence.replace(name, "")
        if is_zh(sentence):
            key = re.sub(r"[^\u4e00-\u9fffA-Za-z0-9]", "", sentence)
            return key if len(key) >= (6 if clause else 4) else ""
        words = re.findall(r"[a-z0-9']+", sentence.lower())
        return " ".join(words) if len(words) >= (4 if clause else 3) else ""

    def _long_name(self, lines: list[tuple[str, str, ShotRole | None]]) -> list[Finding]:
        """A long product name (15+ zh characters, 5+ en words) in full in more than two lines."""
        name = self.brief.product.name
        long = len(name.replace(" ", "")) >= 15 if is_zh(name) else len(name.split()) >= 5
        if not long:
            return []
        cjk = re.findall(r"[\u4e00-\u9fff]+", name)
        short = f"这款{cjk[-1][-2:]}" if is_zh(name) else f"this {name.split()[-1].lower()}"
        full = (name, name.replace(" ", ""))
        hits = [
            (f, t)
            for f, t, _ in lines
            if not f.endswith(".visual") and f != "title" and any(t[s:e] in full for s, e in self._name_spans(t))
        ]
        return [
            Finding(
                rule="repetition",
                field=f,
                span=name,
                start=t.find(name),
                end=t.find(name) + len(name),
                why=f"the full product name is said in {len(hits)} lines; after the first two use a short reference",
                fix=short,
            )
            for f, t in hits[2:]
        ]


def _blank(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with ``spans`` replaced by spaces (same offsets)."""
    for s, e in spans:
        text = text[:s] + " " * (e - s) + text[e:]
    return text


def _inside(span: tuple[int, int] | Span, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether ``span`` lies within one of ``spans``."""
    s, e = span[0], span[1]
    return any(a <= s and e <= b for a, b in spans)
