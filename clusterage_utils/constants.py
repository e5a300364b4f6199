"""Constants of the study that every layer shares: band order, pixel scale, cutout size, photometric aperture."""
from __future__ import annotations

__all__ = ["__version__", "BANDS", "PIXEL_SCALE_ARCSEC", "CUTOUT_SIZE_PX", "APERTURE_RADIUS_PX",
           "APERTURE_DIAMETER_PX"]

__version__ = "0.1.0"

BANDS: tuple[str, ...] = ("F275W", "F336W", "F438W", "F555W", "F814W")
"""Band order of every image stack in this project (the study's order)."""

PIXEL_SCALE_ARCSEC: float = 0.04
"""Drizzled pixel scale of the study's cutouts, arcsec/px (PHANGS-HST mosaics are 0.03962"; the study rounds)."""

CUTOUT_SIZE_PX: int = 112
"""Width of the study's cutouts, px (112 px = 4.48")."""

APERTURE_RADIUS_PX: float = 4.0
"""Radius of the photometric aperture of the reference ages, px (PHANGS-HST's 4-px aperture)."""

APERTURE_DIAMETER_PX: float = 2 * APERTURE_RADIUS_PX
"""Diameter of that aperture, px: where a masking sweep marks it."""
