"""Stories and topics.

A *story* is one text and its reposts and near-copies: MinHash over character 3-gram
shingles, banded LSH to find candidates, then the estimated Jaccard decides. A *topic*
groups stories about one matter: each new story joins the most similar topic centroid
(cosine over hashed, IDF-weighted character 2-3-grams) or opens a new topic. Both are
incremental, so an id once given never changes; the service persists them so a restart
keeps them.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import HashingVectorizer

# 60 permutations in 20 bands of 3: a pair at Jaccard 0.5 is a candidate with p≈0.93, at 0.2
# with p≈0.15, so candidates are few and near-copies are rarely missed.
NUM_PERM, BANDS = 60, 20
ROWS = NUM_PERM // BANDS
DUPLICATE_JACCARD = 0.5
# Measured on the labelled mentions: unrelated pairs stay below ~0.08 (99.9th percentile)
# once boilerplate is out (the highest, 0.16, two posts about "这家店"); texts about one
# story, worded apart, share ~0.15-0.3. A thin margin: see the README on embeddings.
TOPIC_COSINE = 0.15
CENTROID_TERMS = 300
N_FEATURES = 2**18
_PRIME = np.uint64((1 << 61) - 1)
_MAX32 = np.uint64(0xFFFFFFFF)

_rng = np.random.RandomState(1)  # fixed: signatures must match across processes and restarts
_A = _rng.randint(1, 2**31 - 1, NUM_PERM).astype(np.uint64)
_B = _rng.randint(0, 2**31 - 1, NUM_PERM).astype(np.uint64)

_URL = re.compile(r"https?://\S+")
_HANDLE = re.compile(r"//@[^:：\s]{1,30}[:：]|@[\w\u4e00-\u9fff-]{1,30}")
_REPOST = re.compile(r"转发微博|轉發微博|^rt\b|\brt @", re.IGNORECASE)
_NOISE = re.compile(r"[\W_]+")

_HASHER = HashingVectorizer(analyzer="char", ngram_range=(2, 3), n_features=N_FEATURES,
                            alternate_sign=False, norm=None, dtype=np.float32)


def normalise(text: str) -> str:
    """Lower case without URLs, @handles, repost markers, punctuation or spaces."""
    text = _REPOST.sub("", _HANDLE.sub("", _URL.sub("", text.lower())))
    return _NOISE.sub("", text)


def shingles(text: str, k: int = 3) -> set[bytes]:
    norm = normalise(text)
    if len(norm) <= k:
        return {norm.encode()} if norm else set()
    return {norm[i:i + k].encode() for i in range(len(norm) - k + 1)}


def signature(text: str) -> NDArray[np.uint32]:
    """MinHash signature: per permutation the least (a·h + b) mod p over the shingles' crc32."""
    grams = shingles(text)
    if not grams:
        return np.full(NUM_PERM, 0xFFFFFFFF, np.uint32)
    hashes = np.fromiter((zlib.crc32(g) for g in grams), np.uint64, len(grams))
    permuted = (np.outer(hashes, _A) + _B) % _PRIME & _MAX32
    out: NDArray[np.uint32] = permuted.min(axis=0).astype(np.uint32)
    return out


def band_keys(sig: NDArray[np.uint32]) -> list[bytes]:
    return [bytes([band]) + sig[band * ROWS:(band + 1) * ROWS].tobytes()
            for band in range(BANDS)]


def jaccard(a: NDArray[np.uint32], b: NDArray[np.uint32]) -> float:
    return int(np.count_nonzero(a == b)) / len(a)


@dataclass
class StoryIndex:
    """Banded LSH over story signatures, in memory."""

    buckets: dict[bytes, list[str]] = field(default_factory=dict)
    signatures: dict[str, NDArray[np.uint32]] = field(default_factory=dict)

    def add(self, story_id: str, sig: NDArray[np.uint32]) -> None:
        if story_id in self.signatures:
            return
        self.signatures[story_id] = sig
        for key in band_keys(sig):
            self.buckets.setdefault(key, []).append(story_id)

    def find(self, sig: NDArray[np.uint32]) -> str | None:
        """The most similar known story at or above DUPLICATE_JACCARD, if any."""
        best, best_sim = None, DUPLICATE_JACCARD
        seen: set[str] = set()
        for key in band_keys(sig):
            for story_id in self.buckets.get(key, ()):
                if story_id in seen:
                    continue
                seen.add(story_id)
                sim = jaccard(sig, self.signatures[story_id])
                if sim >= best_sim:
                    best, best_sim = story_id, sim
        return best

    def __len__(self) -> int:
        return len(self.signatures)


# Who reports and how, not what about: hotline and news boilerplate that made unrelated
# mentions look alike ("来电人称…", "群众反映…", "网友不满").
BOILERPLATE = ("来电人", "来电反映", "群众反映", "市民反映", "市民投诉", "网友", "记者",
               "咨询", "反映", "投诉", "据悉", "通报", "回应", "表示", "称", "已转",
               "相关部门", "不满", "这家", "某")


def topic_idf(texts: Iterable[str]) -> NDArray[np.float16]:
    """Smoothed IDF per hashed feature, from the build-time corpus; boilerplate gets 0."""
    counts = _HASHER.transform(list(texts))
    df = np.bincount(counts.indices, minlength=N_FEATURES).astype(np.float64)
    n = counts.shape[0]
    idf: NDArray[np.float16] = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float16)
    boiler = _HASHER.transform([normalise(b) for b in BOILERPLATE])
    idf[np.unique(boiler.indices)] = 0.0
    return idf


def topic_vectors(texts: Sequence[str], idf: NDArray[np.float16]) -> sp.csr_matrix:
    """L2-normalised sublinear-TF × IDF rows, one per text."""
    x = _HASHER.transform([normalise(t) for t in texts]).tocsr()
    x.data = (1.0 + np.log(x.data)) * idf[x.indices].astype(np.float32)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    out: sp.csr_matrix = sp.diags(1.0 / norms) @ x
    return out.tocsr()


Centroid = dict[int, float]


def centroid_add(centroid: Centroid, row: sp.csr_matrix) -> Centroid:
    """The centroid (a sum of unit vectors) with one more member, cut to its top terms."""
    merged = dict(centroid)
    for index, value in zip(row.indices, row.data, strict=True):
        merged[int(index)] = merged.get(int(index), 0.0) + float(value)
    if len(merged) > CENTROID_TERMS:
        merged = dict(sorted(merged.items(), key=lambda kv: -kv[1])[:CENTROID_TERMS])
    return merged


def cosine(row: sp.csr_matrix, centroid: Centroid) -> float:
    norm = float(np.sqrt(sum(v * v for v in centroid.values())))
    if norm == 0.0:
        return 0.0
    dot = sum(float(v) * centroid.get(int(i), 0.0) for i, v in zip(row.indices, row.data,
                                                                   strict=True))
    return dot / norm


@dataclass
class TopicIndex:
    """Topic centroids; `nearest` scans them all, which is fine for thousands of active topics
    (the service keeps only topics seen in the last days)."""

    centroids: dict[str, Centroid] = field(default_factory=dict)
    _matrix: sp.csr_matrix | None = None
    _ids: list[str] = field(default_factory=list)
    _fresh: set[str] = field(default_factory=set)

    def set(self, topic_id: str, centroid: Centroid) -> None:
        self.centroids[topic_id] = centroid
        self._fresh.add(topic_id)

    def nearest(self, row: sp.csr_matrix) -> tuple[str | None, float]:
        best, best_sim = None, TOPIC_COSINE
        matrix = self._stale_matrix()
        if matrix is not None:
            sims = np.asarray((matrix @ row.T).todense()).ravel()
            for pos in np.argsort(-sims)[:3]:
                topic_id = self._ids[int(pos)]
                if topic_id not in self._fresh and sims[pos] >= best_sim:
                    best, best_sim = topic_id, float(sims[pos])
        for topic_id in self._fresh:  # changed since the matrix was built: exact scan
            sim = cosine(row, self.centroids[topic_id])
            if sim >= best_sim:
                best, best_sim = topic_id, sim
        return best, best_sim

    def _stale_matrix(self) -> sp.csr_matrix | None:
        """Row-normalised centroids, rebuilt once many have changed (amortised)."""
        if self._matrix is None or len(self._fresh) > 64:
            self._ids = list(self.centroids)
            self._fresh = set()
            if not self._ids:
                self._matrix = None
                return None
            rows, cols, vals = [], [], []
            for pos, topic_id in enumerate(self._ids):
                centroid = self.centroids[topic_id]
                norm = float(np.sqrt(sum(v * v for v in centroid.values()))) or 1.0
                for index, value in centroid.items():
                    rows.append(pos)
                    cols.append(index)
                    vals.append(value / norm)
            self._matrix = sp.csr_matrix((vals, (rows, cols)),
                                         shape=(len(self._ids), N_FEATURES), dtype=np.float32)
        return self._matrix
