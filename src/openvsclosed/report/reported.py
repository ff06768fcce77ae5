"""Kept so `from openvsclosed.report.reported import load_reported` still works.

The loader lives in report/published.py (DESIGN.md's name for it).
"""

from openvsclosed.report.published import CONFIDENCE_ORDER, load_reported

__all__ = ["CONFIDENCE_ORDER", "load_reported"]
