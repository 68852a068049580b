"""The API's pages: as DRF's page-number pages, with a count that stays cheap (mtm.paging)."""

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from mtm.paging import COUNT_CAP, CappedPaginator


class CappedPageNumberPagination(PageNumberPagination):
    """`count` counts at most COUNT_CAP rows; `count_capped` says when there are more (narrow the
    list with its filters to reach them). `next` is there while there are more pages to read."""

    django_paginator_class = CappedPaginator

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.paginator.count,
                "count_capped": self.page.paginator.more_than_cap,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["count"]["description"] = f"Rows counted, at most {COUNT_CAP:,}."
        paginated["properties"]["count_capped"] = {
            "type": "boolean",
            "description": f"True when there are more than {COUNT_CAP:,} rows.",
        }
        paginated["required"] = [*paginated["required"], "count_capped"]
        return paginated
