"""The level engine: response level 1-4, category and one reason per rule that fired.

Levels follow 投诉举报工作应急预案 (plans-complaint-and-media-a.txt, 五、应急响应级别):
"一级响应:事件涉及重大敏感信息,影响范围广泛,可能引发社会不稳定" ... "四级响应:事件涉及一般信息,
影响范围较小,不影响社会稳定". Which facts make which level lives in `rules.toml`; this module
only knows how to match them:

- a term matches case-insensitively; an English (ASCII) term must be a whole word, give or
  take an inflection: "sue" is not in "issue", "form" is not in "formula", but the stem
  "injur" matches "injured"; a Chinese character is no letter, so "12315" matches in
  "打12315投诉";
- a term may be a pattern (`*` a short gap inside a clause, `[...]` a character set; see
  `triage_svc.rules.Term`), and the reason quotes the words it matched;
- a term occurrence preceded in its clause by a negation cue (没有, not, n't ...) within
  the configured window does not count ("没有人受伤", "no one was hurt");
- `unless_before` cues work the same way per rule (a threat "我要找记者" is not a
  journalist's inquiry); `requires` asks for a second term anywhere in the text;
  `not_within` lists idioms a term occurrence must not be part of ("堵死了" is no death);
  `unless_resolved` drops an occurrence whose sentence says it was already fixed;
  `unless_said` silences the terms when the text says so anywhere ("是我自己没看路");
- structured fields and history fire rules of their own.
The complaint gets the most severe level that fired (level 4 when none did). Below that,
the severity safety net (`triage_svc.severity`) may raise a level 4 or 3 when a model of the
development sets finds the text much like the severe complaints; it never lowers a level
and quotes the words that pushed it. The category comes from `triage_svc.categorise`,
which quotes its evidence too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import opencc

from shared.events.schemas import Category, ComplaintReceived
from triage_svc.rules import Negation, Resolved, Rule, Rules, compile_term

if TYPE_CHECKING:
    from triage_svc.categorise import Model as CategoryModel
    from triage_svc.severity import Model as SeverityModel

# A negation never reaches across a clause: "没有人理我，我父亲受伤住院" still reports an injury.
_BOUNDARIES = frozenset("，。！？；：、,.!?;:\n()（）【】")
_SENTENCE_ENDS = frozenset("。！？!?\n")
_LOOKBACK = 80  # characters scanned back for the clause start; windows are far smaller
# Occurrences of one term examined before giving up: bounds the cost of a 20,000-character
# text repeating a negated term ("没有人受伤。" x 3000) without changing real complaints.
_MAX_OCCURRENCES = 32
# An English term matches a whole word, or the word with one of these endings: "injur"
# matches "injured", "charge" matches "charges", but "form" never matches "formula".
_INFLECTIONS = ("", "s", "es", "ed", "d", "ing", "y", "ies", "ly", "e", "'s", "s'")
_SIMPLIFIED = opencc.OpenCC("t2s")  # Traditional → Simplified, characters and phrases


@dataclass(frozen=True)
class History:
    """What the caller knows about earlier complaints in the rules' history window."""

    complainant_recent: int = 0  # the same complainant_key's earlier complaints
    target_recent: int = 0  # earlier complaints about the same department and product


@dataclass(frozen=True)
class Assessment:
    response_level: int
    category: Category
    level_reasons: list[str]  # one per rule that fired, then one line for the category
    category_evidence: list[str] = field(default_factory=list)  # the words behind it
    media: bool = False  # a media complaint (媒体投诉): a fired rule `marks_media`


@dataclass(frozen=True)
class Models:
    """The trained models an assessment uses: the shipped ones unless cross-validation
    passes those of its training folds (None: no such model)."""

    category: CategoryModel | None
    severity: SeverityModel | None


def shipped_models() -> Models:
    from triage_svc import categorise, severity

    return Models(categorise.load_model(), severity.load_model())


@dataclass(frozen=True)
class _Facts:
    text: str
    people: int
    media: bool
    drill: bool
    history: History


@dataclass(frozen=True)
class Filters:
    """What may cancel a term occurrence (see the module docstring)."""

    negation: Negation
    unless_before: tuple[str, ...] = ()
    not_within: tuple[str, ...] = ()
    resolved: Resolved | None = None  # None: a fixed matter still counts


def normalise(subject: str | None, content: str) -> str:
    """The text the rules and models read: lower case, straight apostrophes ("won’t"), and
    Traditional characters as Simplified (你們 → 你们, 頭暈 → 头晕): the terms and training
    rows are Simplified, and complainants in Taiwan, Hong Kong and abroad write Traditional."""
    text = str(_SIMPLIFIED.convert(f"{subject or ''}\n{content}".lower()))
    return text.replace("’", "'").replace("‘", "'")


def assess(complaint: ComplaintReceived, rules: Rules, history: History | None = None,
           models: Models | None = None) -> Assessment:
    """The most severe level any rule gives, with one reason per rule that fired, raised
    by the severity safety net when the model is confident the text is severe."""
    from triage_svc.categorise import categorise_with_evidence
    from triage_svc.severity import floor

    models = models or shipped_models()

    facts = _Facts(
        text=normalise(complaint.subject, complaint.content),
        people=complaint.people_count,
        media=complaint.media_involved or complaint.channel == "media",
        drill=complaint.drill,
        history=history or History(),
    )
    cancelled: list[tuple[int, int]] = []  # severe terms the filters ruled out
    fired = [(rule, evidence) for rule in rules.rules
             if (evidence := _evidence(rule, facts, rules, cancelled)) is not None]
    level = min((rule.level for rule, _ in fired), default=4)
    reasons = [f"{rule.reason}: {evidence} [{rule.name} → level {rule.level}]"
               for rule, evidence in fired]
    raised = floor(models.severity, _masked(facts.text, cancelled), level)
    if raised is not None:
        level = raised.level
        reasons.append(raised.reason())
    if not any(rule.level < 4 for rule, _ in fired):
        reasons.insert(0, "no severity rule fired" if raised is not None
                       else "no severity rule fired: ordinary complaint (level 4)")
    category, words = categorise_with_evidence(facts.text, rules, [rule for rule, _ in fired],
                                               models.category)
    reasons.append(f"category {category}: {', '.join(words) or 'no topic words'}")
    return Assessment(level, category, reasons, words,
                      media=facts.media or any(rule.marks_media for rule, _ in fired))


def categorise(text: str, rules: Rules, votes: list[Category] | None = None) -> Category:
    """The category of a normalised text (see `triage_svc.categorise`)."""
    from triage_svc.categorise import categorise_with_evidence

    voted = [Rule(name=c, level=4, reason=c, category=c) for c in votes or []]
    return categorise_with_evidence(text, rules, voted)[0]


def severity_text(complaint: ComplaintReceived, rules: Rules) -> str:
    """The text the severity model reads: normalised, with the severe rule terms that a
    filter cancelled blanked out ("没有人受伤" is no injury for the model either, "之前投诉过
    一次，已经解决了" no repeat). Training reads the same (`triage_svc.train_severity`)."""
    text = normalise(complaint.subject, complaint.content)
    facts = _Facts(text, 0, False, False, History())
    cancelled: list[tuple[int, int]] = []
    for rule in rules.rules:
        _evidence(rule, facts, rules, cancelled)
    return _masked(text, cancelled)


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _evidence(rule: Rule, facts: _Facts, rules: Rules,
              cancelled: list[tuple[int, int]] | None = None) -> str | None:
    """Why the rule fires (a short human-readable phrase), or None when it does not.
    The occurrences of a level 1-2 rule's terms that a filter cancels go to `cancelled`,
    and all of them when the text says what rules the rule out ("No one was hurt")."""
    if rule.terms and _said(facts.text, rule.unless_said, rules):
        if cancelled is not None and rule.level <= 2:
            cancelled.extend(span for term in rule.terms
                             for span in _occurrences(facts.text, term))
    elif rule.terms:
        filters = Filters(rules.negation, rule.unless_before, rule.not_within,
                          rules.resolved if rule.unless_resolved else None)
        found = first_match(facts.text, rule.terms, filters,
                            cancelled if rule.level <= 2 else None)
        if found is not None and rule.requires:
            also = first_match(facts.text, rule.requires, Filters(rules.negation))
            return None if also is None else f'"{found}" with "{also}"'
        if found is not None:
            return f'"{found}"'
    return _field_evidence(rule, facts)


def _said(text: str, cues: tuple[str, ...], rules: Rules) -> bool:
    return bool(cues) and first_match(text, cues, Filters(rules.negation)) is not None


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


def first_match(text: str, terms: tuple[str, ...], filters: Filters,
                cancelled: list[tuple[int, int]] | None = None) -> str | None:
    """The words of the first term that occurs uncancelled (a pattern's matched text)."""
    for term in terms:
        span = find_span(text, term, filters, cancelled)
        if span is not None:
            return text[span[0]:span[1]]
    return None


def first_term(text: str, terms: tuple[str, ...], negation: Negation,
               unless_before: tuple[str, ...] = (), not_within: tuple[str, ...] = ()
               ) -> str | None:
    """The first of `terms` that occurs uncancelled (the term as written)."""
    filters = Filters(negation, unless_before, not_within)
    return next((t for t in terms if find_span(text, t, filters) is not None), None)


def find_term(text: str, term: str, negation: Negation, unless_before: tuple[str, ...] = (),
              not_within: tuple[str, ...] = ()) -> int | None:
    """Index of the first occurrence of `term` that is neither negated nor suppressed."""
    span = find_span(text, term, Filters(negation, unless_before, not_within))
    return None if span is None else span[0]


def find_span(text: str, term: str, filters: Filters,
              cancelled: list[tuple[int, int]] | None = None) -> tuple[int, int] | None:
    """Start and end of the first occurrence of `term` that no filter cancels (those
    cancelled before it go to `cancelled` when given)."""
    for start, end in _occurrences(text, term):
        if not _cancelled(text, start, end, term, filters):
            return start, end
        if cancelled is not None:
            cancelled.append((start, end))
    return None


def occurs(text: str, term: str) -> tuple[int, int] | None:
    """The first occurrence at a word start, whatever precedes it (topic words: a negated
    topic is still the topic, "没拆封想退货" is about a return)."""
    return next(iter(_occurrences(text, term)), None)


def _occurrences(text: str, term: str) -> list[tuple[int, int]]:
    compiled = compile_term(term)
    if compiled.needs not in text:  # "" is in every text
        return []
    spans: list[tuple[int, int]] = []
    if compiled.pattern is None:
        at = text.find(term)
        while at != -1 and len(spans) < _MAX_OCCURRENCES:
            spans.append((at, at + len(term)))
            at = text.find(term, at + 1)
    else:
        for match in compiled.pattern.finditer(text):
            spans.append(match.span())
            if len(spans) >= _MAX_OCCURRENCES:
                break
    if not compiled.english:
        return spans
    whole = term[-1:].isalnum()  # "n't", "i'm " and the like end where they say
    return [(s, e) for s, e in (
        (s, _word_end(text, e) if whole else e) for s, e in spans if not _ascii_alnum(text, s - 1)
    ) if e is not None]


def _word_end(text: str, end: int) -> int | None:
    """Where the word ends when only an inflection follows the term ("form" → "forms"), or
    None when the term is the start of another word ("form" in "formula")."""
    for suffix in _INFLECTIONS:
        if text.startswith(suffix, end) and not _ascii_alnum(text, end + len(suffix)):
            return end + len(suffix)
    return None


def _ascii_alnum(text: str, at: int) -> bool:
    return 0 <= at < len(text) and text[at].isascii() and text[at].isalnum()


def _cancelled(text: str, start: int, end: int, term: str, filters: Filters) -> bool:
    return (_inside(text, start, end, filters.not_within)
            or _preceded(text, start, filters.negation, filters.negation.cues)
            or _negated_within(text[start:end], term, filters.negation)
            or (bool(filters.unless_before)
                and _preceded(text, start, filters.negation, filters.unless_before))
            or (filters.resolved is not None and _resolved(text, start, end, filters.resolved)))


def _inside(text: str, start: int, end: int, phrases: tuple[str, ...]) -> bool:
    """Whether the occurrence `text[start:end]` lies within one of `phrases` ("死了" in
    "堵死了"; a pattern's match "打12345" in "打12345，他们让我")."""
    for phrase in phrases:
        at = text.find(phrase, max(0, end - len(phrase)))
        while at != -1 and at <= start:
            if at + len(phrase) >= end:
                return True
            at = text.find(phrase, at + 1)
    return False


def _preceded(text: str, at: int, negation: Negation, cues: tuple[str, ...]) -> bool:
    """Whether a cue occurs within the window before `at`, inside the same clause.

    Chinese cues are looked for in the last characters and English ones in the last
    words, whatever the term: "我不会打12315" negates an English term with a Chinese cue."""
    before = _clause_before(text, at)
    for exception in negation.exceptions:  # 无法, 未经 ... contain a cue but negate nothing
        before = before.replace(exception, " " * len(exception))
    window = before[-negation.window_chars:]
    if any(cue in window for cue in cues if not cue.isascii()):
        return True
    words = before.split()[-negation.window_words:]
    joined = " " + " ".join(w.strip('"') for w in words) + " "
    return any(f" {cue} " in joined or (cue == "n't" and "n't " in joined)
               for cue in cues if cue.isascii())


def _negated_within(matched: str, term: str, negation: Negation) -> bool:
    """Whether a pattern's gap holds a negation cue the term does not spell itself:
    "嘴没划破" is no wound, though "(嘴|...)*(划破|...)" matches it. A cue the match starts
    with is the term's own first word ("差[点一]点?(砸|...)" is a near miss, not a negated one)."""
    if compile_term(term).pattern is None:
        return False
    for exception in negation.exceptions:
        matched = matched.replace(exception, " " * len(exception))
    inner = matched[1:]
    words = f" {' '.join(matched.split()[1:])} "
    return any(cue not in term and (cue in inner if not cue.isascii() else f" {cue} " in words)
               for cue in negation.cues)


def _clause_before(text: str, at: int) -> str:
    start = max(0, at - _LOOKBACK)
    for i in range(at - 1, start - 1, -1):
        if text[i] in _BOUNDARIES:
            return text[i + 1:at]
    return text[start:at]


def _resolved(text: str, start: int, end: int, resolved: Resolved) -> bool:
    """Whether the occurrence's sentence says the matter was fixed, and not that it is not."""
    sentence = _sentence(text, start, end)
    return (any(cue in sentence for cue in resolved.cues)
            and not any(cue in sentence for cue in resolved.still))


def _sentence(text: str, start: int, end: int) -> str:
    first = max(0, start - 2 * _LOOKBACK)
    for i in range(start - 1, first - 1, -1):
        if text[i] in _SENTENCE_ENDS or text.startswith(". ", i):
            first = i + 1
            break
    last = min(len(text), end + 2 * _LOOKBACK)
    for i in range(end, last):
        if text[i] in _SENTENCE_ENDS or text.startswith(". ", i):
            last = i
            break
    return text[first:last]
