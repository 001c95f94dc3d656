"""The copy reviewer (issue 11): deterministic checks that decide whether ad copy can ship.

``Reviewer(brief, exemplar=..., checker=...)`` reviews one line (``review_line``), a script
(``review_script``), a set of variants (``review_set``) and the brief itself (``brief_findings``);
every problem is a :class:`Finding` (rule, field, span, why, suggested fix). See
:mod:`adloom.scripts_gen.review.reviewer` for the checks and ``adloom/data/copy/review.yaml`` for
the lexicon they use.
"""

from adloom.scripts_gen.review.finding import Finding, Rule
from adloom.scripts_gen.review.reviewer import Reviewer, script_lines

__all__ = ["Finding", "Reviewer", "Rule", "script_lines"]
