"""Discovery: from a table to a closed-form law, within a time budget."""

from ._discover import DiscoveryError as DiscoveryError
from ._discover import discover as discover
from ._problem import Problem as Problem
from ._problem import make_problem as make_problem
from ._result import Discovery as Discovery

__all__ = ["Discovery", "DiscoveryError", "Problem", "discover", "make_problem"]
