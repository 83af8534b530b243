"""Errors every engine raises the same way, so that the web and the CLI answer them alike."""

from __future__ import annotations


class IndexMissing(Exception):
    """There is no built index to search (answered as 503, with what to run)."""


class IndexIncompatible(IndexMissing):
    """The index was written by a version of searchsvc this one cannot read."""


class EngineUnavailable(Exception):
    """The engine cannot answer now (a cluster unreachable, red or refusing us): 503."""
