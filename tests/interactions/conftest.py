from pathlib import Path

import pytest

from interactions.engine import load_knowledge_base

FIXTURE_KB = Path(__file__).parent / "fixture_kb"


@pytest.fixture(scope="session")
def kb():
    """A small, stable knowledge base for testing the engine's mechanics."""
    return load_knowledge_base(FIXTURE_KB)
