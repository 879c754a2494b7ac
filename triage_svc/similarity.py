"""Near-duplicate complaint text, for group-complaint detection (no I/O).

A text becomes the set of its content shingles: Chinese character bigrams that hold no
function character (的了是不没三天…, so "三天了" or "没人管" say nothing) and are not
complaint boilerplate (投诉, 解决, 小区…), and the words of other scripts minus stop words.
Paraphrases share their content bigrams ("自来水发黄有异味" / "小区的水发黄，有异味");
unrelated complaints about the same target share almost none.

Triage keeps a fingerprint, not the text: the sorted 32-bit hashes of the shingles, at most
`FINGERPRINT_SIZE` of them (the smallest, a bottom-k MinHash sample, for long texts).
Similarity is the overlap coefficient |A ∩ B| / min(|A|, |B|): a short complaint that says
the same as part of a long one matches it.
"""

from __future__ import annotations

import itertools
import re
import zlib
from array import array
from collections.abc import Sequence

FINGERPRINT_SIZE = 128
MIN_SHINGLES = 2  # below this a text says too little to be matched

_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")
_FUNCTION_CHARS = frozenset(
    "的了是在有和与及就都也还又很太更最被把给让向从到着过吗呢吧啊呀么这那哪我你他她它们个"
    "一二两三四五六七八九十百千几天周月年日号点分钟时候已经没不无人说要想能会对再才只但而且"
    "并或请您该此其每些"
)
_BOILERPLATE = frozenset({
    "投诉", "反映", "公司", "希望", "要求", "请求", "问题", "情况", "现在", "今天", "昨天", "但是",
    "因为", "所以", "如果", "就是", "可以", "处理", "解决", "一直", "持续", "连续", "星期", "小时",
    "上午", "下午", "晚上", "物业", "小区", "客服", "电话",
})
_STOP_WORDS = frozenset("""
a an the and or but of to in on at for with from by is are was were be been being it its this
that these those i me my we our you your he she they them their his her there here as not no
so if than then too very can could would should will just have has had do does did please
complaint complain still again also about into over after before since when what which who
days day now week weeks hours today yesterday nobody anyone has been get got
""".split())


def shingles(text: str) -> set[str]:
    """The content shingles of a text (see the module's docstring)."""
    lowered = text.lower()
    found: set[str] = set()
    for run in _CJK_RUN.findall(lowered):
        found.update(
            pair for pair in (run[i:i + 2] for i in range(len(run) - 1))
            if pair[0] not in _FUNCTION_CHARS and pair[1] not in _FUNCTION_CHARS
            and pair not in _BOILERPLATE
        )
    found.update(_stem(w) for w in _WORD.findall(lowered)
                 if w not in _STOP_WORDS and len(w) > 1 and not w.isdigit())
    return found


def fingerprint(text: str, size: int = FINGERPRINT_SIZE) -> list[int]:
    """Sorted hashes of the text's shingles, the `size` smallest at most."""
    return sorted({zlib.crc32(s.encode()) for s in shingles(text)})[:size]


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Overlap coefficient of two fingerprints, 0.0 to 1.0 (0.0 when one says too little)."""
    return overlap(set(a), b)


def overlap(probe: set[int], other: Sequence[int]) -> float:
    """`similarity` with the first fingerprint already a set: one set per probe, not one
    per pair, when a probe is compared with thousands of candidates."""
    if len(probe) < MIN_SHINGLES or len(other) < MIN_SHINGLES:
        return 0.0
    return len(probe.intersection(other)) / min(len(probe), len(other))


class Fingerprints:
    """Fingerprints by case id, kept by the process that read them (at most `capacity`, the
    oldest dropped first). A case's fingerprint is written once, with the case, so a kept
    one never goes stale: group detection reads only its candidates' ids, and the
    fingerprints it has not seen, instead of up to `max_candidates` JSON lists for every
    new complaint (issue 18)."""

    def __init__(self, capacity: int = 20_000) -> None:
        self._capacity = capacity
        self._kept: dict[str, array[int]] = {}  # in insertion order: the oldest first

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, case_id: str) -> Sequence[int] | None:
        return self._kept.get(case_id)

    def keep(self, case_id: str, hashes: Sequence[int]) -> None:
        if len(self._kept) >= self._capacity:
            for oldest in list(itertools.islice(self._kept, max(1, self._capacity // 2))):
                del self._kept[oldest]
        self._kept[case_id] = array("I", hashes)  # 4 bytes a hash (crc32), not a list of ints


def _stem(word: str) -> str:
    """Crude English plural and tense folding, enough for "smells"/"smelly"/"smell"."""
    for suffix in ("ing", "ed", "es", "s", "y"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word
