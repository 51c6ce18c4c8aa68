"""Constants of lazyplug-sklearn's tests (a module of its own, not conftest: other plugins' test folders
have a conftest too, and ``from conftest import`` would find whichever pytest imported first)."""

from __future__ import annotations

from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / 'examples' / 'digits.py'
FLOOR = 0.9  # a trained classifier of the digits reaches ~0.98; one that ignores the images ~0.1
