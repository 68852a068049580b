"""The screening engine: plain Python, data in, findings out. No Django, no database."""

from interactions.engine.knowledge import KnowledgeBase, KnowledgeBaseError, load_knowledge_base
from interactions.engine.screening import ScreeningInputError, screen

__all__ = ["KnowledgeBase", "KnowledgeBaseError", "ScreeningInputError", "load_knowledge_base", "screen"]
