"""The level engine: response level 1-4, category and one reason per rule that fired.

Levels follow 投诉举报工作应急预案 (plans-complaint-and-media-a.txt, 五、应急响应级别):
"一级响应:事件涉及重大敏感信息,影响范围广泛,可能引发社会不稳定" ... "四级响应:事件涉及一般信息,
影响范围较小,不影响社会稳定". Which facts make which level lives in `rules.toml`; this module
only knows how to match them:

- a term matches case-insensitively; an English (ASCII) term must start at a word start,
  so "sue" does not match "issue" but stems like "injur" still match "injured";
- a term occurrence preceded in its clause by a negation cue (没有, not, n't ...) within
  the configured window does not count ("没有人受伤", "no one was hurt");
- `unless_before` cues work the same way per rule (a threat "我要找记者" is not a
  journalist's inquiry); `requires` asks for a second term anywhere in the text;
  `not_within` lists idioms a term occurrence must not be part of ("堵死了" is no death);
- structured fields and history fire rules of their own.
The complaint gets the most severe level that fired (level 4 when none did).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.schemas import Category, ComplaintReceived
from triage_svc.rules import Negation, Rule, Rules

# A negation never reaches across a clause: "没有人理我，我父亲受伤住院" still reports an injury.
_BOUNDARIES = frozenset("，。！？；：、,.!?;:\n()（）【】")
_LOOKBACK = 80
_RULE_VOTE = 2
# Occurrences of one term examined before giving up: bounds the cost of a 20,000-character
# text repeating a negated term ("没有人受伤。" x 3000) without changing real complaints.
_MAX_OCCURRENCES = 32  # characters scanned back for the clause start; windows are far smaller


@dataclass(frozen=True)
class History:
    """What the caller knows about earlier complaints in the rules' history window."""

    complainant_recent: int = 0  # the same complainant_key's earlier complaints
    target_recent: int = 0  # earlier complaints about the same department and product


@dataclass(frozen=True)
class Assessment:
    response_level: int
    category: Category
    level_reasons: list[str]


@dataclass(frozen=True)
class _Facts:
    text: str
    people: int
    media: bool
    drill: bool
    history: History


def normalise(subject: str | None, content: str) -> str:
    text = f"{subject or ''}\n{content}".lower()
    return text.replace("’", "'").replace("‘", "'")  # curly apostrophes: "won’t"


def assess(complaint: ComplaintReceived, rules: Rules, history: History | None = None
           ) -> Assessment:
    """The most severe level any rule gives, with one reason per rule that fired."""
    facts = _Facts(
        text=normalise(complaint.subject, complaint.content),
        people=complaint.people_count,
        media=complaint.media_involved or complaint.channel == "media",
        drill=complaint.drill,
        history=history or History(),
    )
    fired = [(rule, evidence) for rule in rules.rules
             if (evidence := _evidence(rule, facts, rules.negation)) is not None]
    level = min((rule.level for rule, _ in fired), default=4)
    reasons = [f"{rule.reason}: {evidence} [{rule.name} → level {rule.level}]"
               for rule, evidence in fired]
    if not any(rule.level < 4 for rule, _ in fired):
        reasons.insert(0, "no severity rule fired: ordinary complaint (level 4)")
    votes = [rule.category for rule, _ in fired if rule.category is not None]
    return Assessment(level, categorise(facts.text, rules, votes), reasons)


def categorise(text: str, rules: Rules, votes: list[Category] | None = None) -> Category:
    """The category with most (non-negated) matching terms; ties go to the one listed first.

    A fired rule with a `category` adds `_RULE_VOTE` votes: an injury makes a complaint a
    safety matter even when its wording shares nothing with the category's own terms.
    """
    best: Category = "other"
    best_hits = 0
    for category, terms in rules.categories:
        hits = sum(1 for term in terms if find_term(text, term, rules.negation) is not None)
        hits += _RULE_VOTE * (votes or []).count(category)
        if hits > best_hits:
            best, best_hits = category, hits
    return best


def _evidence(rule: Rule, facts: _Facts, negation: Negation) -> str | None:
    """Why the rule fires (a short human-readable phrase), or None when it does not."""
    if rule.terms:
        term = first_term(facts.text, rule.terms, negation, rule.unless_before, rule.not_within)
        if term is not None and rule.requires:
            also = first_term(facts.text, rule.requires, negation)
            return None if also is None else f'"{term}" with "{also}"'
        if term is not None:
            return f'"{term}"'
    return _field_evidence(rule, facts)


def _field_evidence(rule: Rule, facts: _Facts) -> str | None:
    if rule.min_people is not None and facts.people >= rule.min_people:
        return f"{facts.people} people (threshold {rule.min_people})"
    if rule.media and facts.media:
        return "media channel or media involved"
    if rule.drill and facts.drill:
        return "marked as a drill"
    recent = facts.history.complainant_recent
    if rule.min_complainant_recent is not None and recent >= rule.min_complainant_recent:
        return f"{recent} earlier complaints from the same complainant"
    recent = facts.history.target_recent
    if rule.min_target_recent is not None and recent >= rule.min_target_recent:
        return f"{recent} earlier complaints about the same target"
    return None


def first_term(text: str, terms: tuple[str, ...], negation: Negation,
               unless_before: tuple[str, ...] = (), not_within: tuple[str, ...] = ()
               ) -> str | None:
    for term in terms:
        if find_term(text, term, negation, unless_before, not_within) is not None:
            return term
    return None


def find_term(text: str, term: str, negation: Negation, unless_before: tuple[str, ...] = (),
              not_within: tuple[str, ...] = ()) -> int | None:
    """Index of the first occurrence of `term` that is neither negated nor suppressed."""
    english = term.isascii()
    at = text.find(term)
    for _ in range(_MAX_OCCURRENCES):
        if at == -1:
            return None
        if not (english and at > 0 and text[at - 1].isalnum()) \
                and not _inside(text, at, term, not_within) \
                and not _preceded(text, at, english, negation, negation.cues) \
                and not (unless_before and _preceded(text, at, english, negation, unless_before)):
            return at
        at = text.find(term, at + 1)
    return None


def _inside(text: str, at: int, term: str, phrases: tuple[str, ...]) -> bool:
    """Whether the occurrence at `at` is part of one of `phrases` ("死了" in "堵死了")."""
    for phrase in phrases:
        offset = phrase.find(term)
        if offset != -1 and at >= offset and text.startswith(phrase, at - offset):
            return True
    return False


def _preceded(text: str, at: int, english: bool, negation: Negation,
              cues: tuple[str, ...]) -> bool:
    """Whether a cue occurs within the window before `at`, inside the same clause."""
    before = _clause_before(text, at)
    for exception in negation.exceptions:  # 无法, 未经 ... contain a cue but negate nothing
        before = before.replace(exception, " " * len(exception))
    if english:
        words = before.split()[-negation.window_words:]
        joined = " " + " ".join(w.strip('"') for w in words) + " "
        return any(f" {cue} " in joined or (cue == "n't" and "n't " in joined)
                   for cue in cues if cue.isascii())
    window = before[-negation.window_chars:]
    return any(cue in window for cue in cues if not cue.isascii())


def _clause_before(text: str, at: int) -> str:
    start = max(0, at - _LOOKBACK)
    for i in range(at - 1, start - 1, -1):
        if text[i] in _BOUNDARIES:
            return text[i + 1:at]
    return text[start:at]
