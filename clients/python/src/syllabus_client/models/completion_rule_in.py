from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.completion_rule_name import CompletionRuleName
from ..types import UNSET, Unset

T = TypeVar("T", bound="CompletionRuleIn")


@_attrs_define
class CompletionRuleIn:
    """How a student completes the post. ``submit`` and ``min_score`` only on gradable
    kinds (assignment, quiz); ``min_score`` with ``0 < min_score <= max_points``, and
    ``min_score`` with no other rule.

        Attributes:
            rule (CompletionRuleName):
            min_score (float | None | Unset): only (and required) with min_score
    """

    rule: CompletionRuleName
    min_score: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        rule = self.rule.value

        min_score: float | None | Unset
        if isinstance(self.min_score, Unset):
            min_score = UNSET
        else:
            min_score = self.min_score

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "rule": rule,
            }
        )
        if min_score is not UNSET:
            field_dict["min_score"] = min_score

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        rule = CompletionRuleName(d.pop("rule"))

        def _parse_min_score(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        min_score = _parse_min_score(d.pop("min_score", UNSET))

        completion_rule_in = cls(
            rule=rule,
            min_score=min_score,
        )

        return completion_rule_in
