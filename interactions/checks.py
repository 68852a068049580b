from django.core.checks import Error, register

from interactions.engine.knowledge import KnowledgeBaseError, load_knowledge_base


@register()
def knowledge_base_is_valid(app_configs, **kwargs):
    """Runs with every manage.py command that checks (runserver, migrate, check): a broken knowledge
    base stops the app at start instead of screening with half its rules."""
    try:
        load_knowledge_base()
    except KnowledgeBaseError as error:
        return [Error(problem, id="interactions.E001") for problem in error.problems[:50]]
    return []
