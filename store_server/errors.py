"""The one exception of the store server meant for the client: :class:`ApiProblem`.

Storage and endpoints both raise it; the application answers it as ``application/problem+json``
(:mod:`store_server.problem_responses`). It lives apart from both so that the storage modules
need no web framework.
"""

from __future__ import annotations


class ApiProblem(Exception):
    """An error for the client, with its HTTP status and the contract's problem slug."""

    def __init__(self, status: int, problem_type: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.problem_type = problem_type
        self.detail = detail
