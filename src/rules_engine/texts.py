"""The sentences users read, in Chinese and English, keyed by reason code: why a duty does not apply,
why it cannot be determined, and why a record was not counted for it."""

from __future__ import annotations

from .compile import CompiledRule
from .periods import Period
from .plan import Why

NA: dict[str, tuple[str, str]] = {  # not applicable: reason code -> (zh, en)
    "retired": ("该规则已被本地实施规则包停用", "retired here by a local overlay pack"),
    "kind_not_covered": ("该规则不适用于此类组织", "the rule does not cover this kind of organisation"),
    "not_in_force": ("规则在该期间未施行", "the rule was not in force in this period"),
    "outside_deadline_window": ("该期间不含规则的时限区间", "the period has no part inside the rule's deadline window"),
    "too_short_in_post": ("在岗时间短于规则要求的最少天数", "held the post for fewer days than the rule's minimum"),
    "not_in_post": ("该期间未任职", "not in post in this period"),
}
UNK: dict[str, tuple[str, str]] = {  # undeterminable: reason code -> (zh, en)
    "bad_trigger": (
        "触发记录数据无效（见输入中的拒收记录），无法判定其引起的义务",
        "the triggering record is invalid (see the input rejections), so the duty it starts cannot be judged",
    ),
    "no_holder": ("名册中该期间无此职务的任职记录，无法判定", "the roster has nobody in this role for the period"),
    "no_portfolio": ("名册未登记其分管领域，无法判定", "the roster lists no portfolio area for this person"),
}

REF_ZH = {"subject": "责任人本人", "first": "第一方", "second": "第二方", "secretary": "书记"}


def describe(rule: CompiledRule, why: Why, window: Period | None, portfolio: str | None) -> tuple[str, str]:
    """The Chinese and English text of a rejection reason under `rule` (`window`: the obligation's judged
    window, read for ``outside``; `portfolio`: its portfolio area, read for ``portfolio``)."""
    code = why[0]
    match = rule.match
    if code == "outside":
        assert window is not None
        w = f"{window.start.isoformat()}..{window.end.isoformat()}"
        return (
            f"日期不在评判区间 {w} 内（任职、施行或时限）",
            f"date outside the judged window {w} (post, in force or deadline)",
        )
    if code == "tags_any":
        return (
            f"缺少标签（需含其一：{'、'.join(match.tags_any)}）",
            f"missing tag (needs one of: {', '.join(match.tags_any)})",
        )
    if code == "tags_all":
        return (
            f"缺少标签（需全部含有：{'、'.join(match.tags_all)}）",
            f"missing tags (needs all of: {', '.join(match.tags_all)})",
        )
    if code == "chair":
        who, ref = why[1] or "无 none", why[2]
        return (f"主持人为 {who}，不是{REF_ZH[ref]}", f"chaired by {who}, not the {ref}")
    if code == "participant":
        return (f"{REF_ZH[why[1]]}不在参加人员中", f"the {why[1]} is not among the participants")
    if code == "portfolio":
        return (
            f"分管领域为 {why[1] or '空'}，不是 {portfolio}",
            f"portfolio is {why[1] or 'empty'}, not {portfolio}",
        )
    if code == "attendance":
        return (f"到会 {why[1]}，低于 {why[2]}", f"attendance {why[1]} is below {why[2]}")
    return ("记录日期名册中无班子成员，无法计算到会比例", "no team members on the roster on that date")
