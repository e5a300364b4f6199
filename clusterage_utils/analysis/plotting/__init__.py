"""Figures of the book, by subject. Every function takes arrays or tables and returns a matplotlib Figure (no file
reading here); a ``mock`` flag stamps figures made from synthetic data, and :func:`stamp_real` names the owner of
real data.

- :mod:`.style`       stamps, colours, panel names
- :mod:`.images`      colour composites, mosaics, cutout galleries
- :mod:`.scores`      the study's figures from scores (Figs. 2-8) and comparisons
- :mod:`.real_data`   the study's own released runs on real PHANGS-HST clusters
- :mod:`.truth`       figures that need the mock survey's truth
- :mod:`clusterage_utils.analysis.attribution` attribution maps and physical-scale masks
"""
from .attribution import *  # noqa: F401,F403
from .images import *  # noqa: F401,F403
from .real_data import *  # noqa: F401,F403
from .scores import *  # noqa: F401,F403
from .style import *  # noqa: F401,F403
from .style import PANEL_TITLES, PANELS, SET_COLOURS  # noqa: F401
from .truth import *  # noqa: F401,F403
