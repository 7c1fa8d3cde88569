"""Parsed query options (odata/options.py): a ``$filter`` text of a known shape reuses that
shape's parse, and its clause, when asked for, carries the text's own literals."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from odyssee.model.registry import registry
from odyssee.odata import options
from odyssee.odata.options import QueryOptions, parse_options


@pytest.fixture(autouse=True)
def _no_remembered_queries() -> Iterator[None]:
    options._parse_cached.cache_clear()
    options._SHAPES.clear()
    yield
    options._parse_cached.cache_clear()
    options._SHAPES.clear()


def _literals(clause: Any) -> set[Any]:
    return {node.value for node in sa.sql.visitors.iterate(clause) if isinstance(node, sa.BindParameter)}


def _company_filter(text: str) -> QueryOptions:
    return parse_options(registry().by_table("company"), {"$filter": text})


def test_a_text_of_a_known_shape_has_its_own_literals_in_its_clause() -> None:
    first = _company_filter("credit_limit gt 10")
    second = _company_filter("credit_limit gt 25")
    assert second.template is first
    assert 25 in _literals(second.where) and 10 not in _literals(second.where)
    assert 10 in _literals(first.where) and 25 not in _literals(first.where)
    assert second.where is second.where  # copied once, on first use


def test_revalued_options_copied_without_their_template_refuse_to_give_a_clause() -> None:
    """``dataclasses.replace`` drops the template: the copy must not fall back to the template's literals."""
    _company_filter("credit_limit gt 10")
    copy = dataclasses.replace(_company_filter("credit_limit gt 25"), top=3)
    with pytest.raises(AssertionError, match="without their template"):
        _ = copy.where
