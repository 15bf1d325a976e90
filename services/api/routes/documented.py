"""OpenAPI hints for query parameters that the routes parse themselves.

The parameters are declared as plain strings so that `services.api.params`
answers a bad value with an error naming it (400 `bad_parameter`); these hints
only tell clients, and the schemathesis fuzz test, what a good value looks like.
"""

from __future__ import annotations

from typing import Any

#: a division code of 2, 4, 6, 9 or 12 digits
CODE = r"^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$"
#: a whole number
UINT = r"^[0-9]{1,12}$"


def documented(**schema: Any) -> dict[str, Any]:
    """JSON Schema keywords for the OpenAPI document (not enforced by FastAPI)."""
    return schema
