"""Mentions to open complaints: same target, similar text, inside a time window.

Only what complaint events carry is used (target department/product, subject, content,
received_at); there is no personal data in them, so none can be matched on. A complaint with
a target matches only mentions that name it (the product, else the department); one without
a target needs a much closer text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from sentiment_svc.clustering import N_FEATURES, topic_vectors

SIMILAR_WITH_TARGET = 0.2
# Similarity of the texts with the target's name taken out: naming the same product is
# required, but it must not be what makes two texts similar.
RESIDUAL_WITH_TARGET = 0.12
SIMILAR_WITHOUT_TARGET = 0.55
WINDOW = timedelta(days=30)
LEAD = timedelta(days=1)  # a mention may precede the complaint it echoes by a little


@dataclass(frozen=True)
class LinkableComplaint:
    """An open complaint a mention may be linked to: what matching needs of it."""

    complaint_id: str
    department: str | None
    product: str | None
    received_at: datetime


@dataclass(frozen=True)
class Link:
    complaint_id: str
    similarity: float


def target_name(complaint: LinkableComplaint) -> str | None:
    """What a mention must name: the product, else the department."""
    name = (complaint.product or complaint.department or "").strip().lower()
    return name or None


def without(text: str, name: str | None) -> str:
    return text.lower().replace(name, " ") if name else text


def in_window(mention_at: datetime, complaint: LinkableComplaint) -> bool:
    return complaint.received_at - LEAD <= mention_at <= complaint.received_at + WINDOW


@dataclass
class ComplaintIndex:
    complaints: list[LinkableComplaint]
    vectors: sp.csr_matrix  # one L2-normalised row per complaint
    residuals: sp.csr_matrix  # the same without the target's name
    idf: NDArray[np.float16] | None = None

    @classmethod
    def empty(cls) -> ComplaintIndex:
        none = sp.csr_matrix((0, N_FEATURES), dtype=np.float32)
        return cls([], none, none)

    @classmethod
    def build(cls, complaints: Sequence[LinkableComplaint], texts: Sequence[str],
              idf: NDArray[np.float16]) -> ComplaintIndex:
        if not complaints:
            return cls.empty()
        stripped = [without(t, target_name(c)) for c, t in zip(complaints, texts, strict=True)]
        return cls(list(complaints), topic_vectors(texts, idf), topic_vectors(stripped, idf), idf)

    def _residual(self, text: str, col: int) -> float:
        complaint = self.complaints[col]
        assert self.idf is not None
        row = topic_vectors([without(text, target_name(complaint))], self.idf)
        return float((row @ self.residuals[col].T).toarray()[0, 0])

    def match(self, texts: Sequence[str], vectors: sp.csr_matrix,
              at: datetime) -> list[list[Link]]:
        """Per mention, the complaints it matches, most similar first."""
        out: list[list[Link]] = [[] for _ in texts]
        if not self.complaints or not texts:
            return out
        sims = (vectors @ self.vectors.T).tocoo()
        for row, col, sim in zip(sims.row, sims.col, sims.data, strict=True):
            if sim < SIMILAR_WITH_TARGET:
                continue
            complaint = self.complaints[int(col)]
            if not in_window(at, complaint):
                continue
            name = target_name(complaint)
            if name is None:
                if sim < SIMILAR_WITHOUT_TARGET:
                    continue
            elif name not in texts[int(row)].lower() or \
                    self._residual(texts[int(row)], int(col)) < RESIDUAL_WITH_TARGET:
                continue
            out[int(row)].append(Link(complaint.complaint_id, round(float(min(sim, 1.0)), 3)))
        for links in out:
            links.sort(key=lambda link: -link.similarity)
        return out
