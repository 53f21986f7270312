"""Discovery: from a table to a closed-form law, within a time budget."""

from ._discover import DiscoveryError as DiscoveryError
from ._discover import discover as discover
from ._multi import Discoveries as Discoveries
from ._problem import Problem as Problem
from ._problem import make_problem as make_problem
from ._result import Discovery as Discovery
from ._tree import LawTree as LawTree
from ._tree import TreeNode as TreeNode

__all__ = ["Discoveries", "Discovery", "DiscoveryError", "LawTree", "Problem", "TreeNode", "discover", "make_problem"]
