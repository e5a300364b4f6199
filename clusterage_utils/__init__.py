"""clusterage_utils: the helper package behind the *clusterage* executable book.

Modules are named after concepts:

- :mod:`~clusterage_utils.reference`  shipped tables (Table 1, age distribution, SSP grid, the study's numbers)
- :mod:`~clusterage_utils.profiles`   named compute profiles (``smoke``, ``laptop``, ``paper``)
- :mod:`~clusterage_utils.mock`       the mock PHANGS-HST survey with known truth
- :mod:`~clusterage_utils.photometry` aperture photometry and SSP fitting (reference ages)
- :mod:`~clusterage_utils.products`   PHANGS-HST product names, discovery and catalogue reading
- :mod:`~clusterage_utils.cutouts`    the cutout file (HDF5, the study's schema) and ``open_cutouts``
- :mod:`~clusterage_utils.curation`   products (real or mock) to a cutout file
- :mod:`~clusterage_utils.preprocessing`, :mod:`~clusterage_utils.model`, :mod:`~clusterage_utils.training`,
  :mod:`~clusterage_utils.metrics`, :mod:`~clusterage_utils.experiments`, :mod:`~clusterage_utils.store`,
  :mod:`~clusterage_utils.execution`  the experiment engine
- :mod:`~clusterage_utils.attribution` integrated gradients, occlusion maps, radial profiles
- :mod:`~clusterage_utils.analyses`   the chapters beyond the study (truth tests, splits, significance ...)
- :mod:`~clusterage_utils.plotting`   figures
- :mod:`~clusterage_utils.book`       which experiments each chapter needs, and the book build
"""
import os as _os
import warnings as _warnings

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up log would clutter every page
# Jupyter without ipywidgets: tqdm.auto falls back to text bars (fine) but warns on every page
_warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"

BANDS: tuple[str, ...] = ("F275W", "F336W", "F438W", "F555W", "F814W")
"""Band order of every image stack in this project (the study's order)."""

PIXEL_SCALE_ARCSEC: float = 0.04
"""Drizzled pixel scale of the study's cutouts, arcsec/px (PHANGS-HST mosaics are 0.03962"; the study rounds)."""
