"""Test-suite settings.

Property tests (hypothesis) draw the same examples on every run by default, so that a CI run
cannot fail on an example no earlier run saw; set ``HYPOTHESIS_PROFILE=explore`` to search
new examples locally (and keep what they find with ``@example``).
"""

import os

from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
