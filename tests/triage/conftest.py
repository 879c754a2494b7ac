"""Fixtures of the triage tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.bus import MemoryBroker
from shared.migrations import prepare_schema
from shared.runtime import ServiceRuntime
from triage_svc.models import metadata
from triage_svc.settings import TriageSettings


async def _runtime(folder: Path) -> ServiceRuntime:
    runtime = ServiceRuntime("triage", TriageSettings(data_dir=folder), metadata,
                             migrations="triage_svc.migrations", broker=MemoryBroker())
    await prepare_schema(runtime.db, metadata, "triage_svc.migrations", "triage")
    return runtime


@pytest.fixture
async def two_triages(tmp_path: Path) -> AsyncIterator[tuple[ServiceRuntime, ServiceRuntime]]:
    """Two triage services on SQLite files of their own, to compare two ways of doing one
    thing."""
    folders = tmp_path / "first", tmp_path / "second"
    for folder in folders:
        folder.mkdir()
    runtimes = (await _runtime(folders[0]), await _runtime(folders[1]))
    try:
        yield runtimes
    finally:
        for runtime in runtimes:
            await runtime.db.dispose()
