import pytest

from bot.nlp import pipeline


@pytest.fixture(scope="session")
def nlp():
    """The pipeline built fresh from data/lexicon (the same code `make spacy` runs)."""
    return pipeline.create()
