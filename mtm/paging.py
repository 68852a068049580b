"""Pages of long lists whose count stays cheap whatever the organisation holds."""

from functools import cached_property

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

COUNT_CAP = 1000


def count_at_most(rows: QuerySet, limit: int) -> int:
    """How many rows there are, counting no further than `limit` (`SELECT COUNT(*)` over a
    `LIMIT` subquery): a bounded scan, whatever the organisation holds."""
    return rows[:limit].count()


class CappedPaginator(Paginator):
    """Django's paginator, counting at most COUNT_CAP rows (`SELECT COUNT(*)` over a `LIMIT`
    subquery): a list past that says "1,000+" and is narrowed with its filters rather than paged
    through. The pages within the cap work as usual."""

    def __init__(self, object_list, per_page, cap: int = COUNT_CAP, **kwargs):
        self.cap = cap
        super().__init__(object_list, per_page, **kwargs)

    @cached_property
    def counted(self) -> int:
        """Rows counted, at most cap + 1 (one more than the cap says "more")."""
        limit = self.cap + 1
        if isinstance(self.object_list, QuerySet):
            return count_at_most(self.object_list, limit)
        if isinstance(self.object_list, list | tuple):
            return len(self.object_list[:limit])
        return self.object_list.count(at_most=limit)  # a list of its own kind, counted in SQL

    @cached_property
    def count(self) -> int:
        return min(self.counted, self.cap)

    @property
    def more_than_cap(self) -> bool:
        return self.counted > self.cap

    @property
    def count_label(self) -> str:
        return f"{self.cap:,}+" if self.more_than_cap else f"{self.count:,}"


def page_of(request, object_list, *, per_page: int, param: str = "page") -> Page:
    """The page asked for by `?<param>=` (the first for anything that is not a page number, the
    last one past the end)."""
    return CappedPaginator(object_list, per_page).get_page(request.GET.get(param))
