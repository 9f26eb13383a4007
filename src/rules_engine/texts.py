"""The sentences users read about inputs and duties, in Chinese and English, keyed by a stable reason code.

One table, :data:`TEXTS`, holds every text: why an input row was rejected, excluded or warned about
(``row.*``), why a duty does not apply (``na.*``) or cannot be determined (``unk.*``, and ``duty.*`` in
the duties list), and why a record was not counted for a duty (``candidate.*``). A text is a pair of
:meth:`str.format` templates; :func:`text` fills both from the same arguments, and an argument given as
a ``(zh, en)`` pair fills each language with its own part. ``tests/test_texts.py`` checks that every
code the source uses has a text here and that no text is left unused.

This module imports nothing of the package at run time, so every stage (the readers included) can use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .compile import CompiledRule
    from .periods import Period
    from .plan import Why

#: A value for a text's placeholder: one value for both languages, or ``(zh, en)``.
Arg = str | int | tuple[str, str]

TEXTS: dict[str, tuple[str, str]] = {
    # ------------------------------------------------------------ input rows: records
    "row.not_object": ("记录不是 JSON 对象", "record is not a JSON object"),
    "row.field.unknown": ("未知字段 '{name}'{hint}", "unknown field '{name}'{hint}"),
    "row.field.missing": ("缺少必填字段 '{name}'", "missing required field '{name}'"),
    "row.field.not_string": ("字段 '{name}' 应为字符串", "field '{name}' must be a string"),
    "row.field.too_long": ("字段 '{name}' 过长", "field '{name}' is too long"),
    "row.field.bad_unicode": (
        "字段 '{name}' 含有无效的 Unicode 文本（孤立代理项）",
        "field '{name}' is not valid Unicode text (a lone surrogate)",
    ),
    "row.date.invalid": ("日期无效，应为 YYYY-MM-DD", "invalid date, expected YYYY-MM-DD"),
    "row.chair.invalid": ("主持人应为人员编号字符串", "chair must be a person id string"),
    "row.participants.invalid": ("参加人员应为人员编号列表", "participants must be a list of person ids"),
    "row.tags.invalid": ("标签应为字符串列表", "tags must be a list of strings"),
    "row.portfolio.invalid": ("分管领域应为字符串", "portfolio must be a string"),
    "row.text.invalid": ("说明应为字符串", "text must be a string"),
    "row.line.too_long": ("行过长（超过 {limit} 字节）", "line longer than {limit} bytes"),
    "row.json.not_utf8": (
        "不是有效的 UTF-8 文本（第 {byte} 字节起）；JSON Lines 文件须为 UTF-8",
        "not valid UTF-8 text (from byte {byte}); a JSON Lines file must be UTF-8",
    ),
    "row.json.malformed": ("JSON 格式错误: {error}", "malformed JSON: {error}"),
    "row.columns.count": ("列数不符（应为 {width} 列，实为 {found} 列）", "expected {width} columns, found {found}"),
    "row.columns.unclosed_quote": (
        "列数不符（应为 {width} 列，实为 {found} 列）；"
        "第 {first}–{last} 行被读成一行：可能是引号未闭合，其间的行均未读取",
        "expected {width} columns, found {found}; lines {first}-{last} were read as one row: probably an unclosed"
        " quote, none of them read",
    ),
    "row.cell.swallowed": (
        "{column} 列的单元格跨第 {first}–{last} 行，且含有像记录行的内容："
        "可能是引号未闭合，吞并了其后的行；这些行均未读取",
        "the cell in column {column} spans lines {first}-{last} and holds what look like record rows: probably an"
        " unclosed quote that swallowed the rows after it; none of them was read",
    ),
    "row.cell.no_header": ("{column} 列有值但没有表头", "column {column} has a value but no header"),
    # checked against the roster and the rules (intake)
    "row.org.unknown": ("未知组织 '{org_id}'（名册中没有）{hint}", "unknown organisation '{org_id}'{hint}"),
    "row.type.unknown": ("未知记录类型 '{record_type}'{hint}", "unknown record type '{record_type}'{hint}"),
    "row.duplicate.identical": (
        "重复记录（与 {first} 相同，只计一次）",
        "duplicate of {first} (identical, counted once)",
    ),
    "row.duplicate.conflict": (
        "记录编号重复但内容不同（见 {first}），本行未采用",
        "record id already used at {first} with different content; this row is not used",
    ),
    "row.date.outside_span": (
        "日期不在任何评价期间内（{start}..{end}）",
        "date outside every period evaluated ({start}..{end})",
    ),
    "row.date.after_as_of": (
        "日期晚于评价日期 {as_of}，不作为证据",
        "dated after the evaluation date {as_of}: not evidence",
    ),
    "row.people.unknown": (
        "人员不在名册中：{names}（可能是编号写错）",
        "people not on the roster: {names} (possibly a mistyped id)",
    ),
    # rows that make a duty undeterminable (tally)
    "row.people.mistyped": (
        "记录中有不在名册中的人员，其编号与责任人相近（可能写错）",
        "the record names people not on the roster whose id is close to the subject's (a mistyped id?)",
    ),
    "row.date.no_team": (
        "记录日期名册中无班子成员，无法计算到会比例",
        "no team members on the roster on the record's date: attendance cannot be computed",
    ),
    # ------------------------------------------------------------ input rows: roster
    "row.roster.invalid": ("名册条目无效: {error}", "invalid roster entry: {error}"),
    "row.roster.unknown_key": ("名册中的未知键 '{key}'", "unknown roster key '{key}'"),
    "row.org.duplicate_id": ("组织编号重复", "duplicate organisation id"),
    "row.org.unknown_parent": (
        "上级组织 '{parent}' 不在名册中（组织 {org_id}，仍采用）",
        "parent '{parent}' of {org_id} is not in the roster (organisation still used)",
    ),
    "row.person.duplicate_id": ("人员编号重复", "duplicate person id"),
    "row.person.no_id": ("缺少人员编号", "missing person id"),
    "row.person.name_differs": (
        "同一人员编号 {person} 的姓名不一致（前面为 {earlier}）",
        "name differs from an earlier row of person {person} ({earlier})",
    ),
    "row.posts.not_list": ("任职应为列表", "posts must be a list"),
    "row.post.unknown_org": (
        "任职组织 '{org_id}' 不在名册中（人员 {person}）",
        "post in unknown organisation '{org_id}' (person {person})",
    ),
    "row.post.overlap": (
        "与同一组织的另一任职（{role}，{start}起）时间重叠（人员 {person}）",
        "overlaps another post in the same organisation ({role} from {start}) (person {person})",
    ),
    # ------------------------------------------------------------ input rows: waivers
    "row.waiver.unmatched": (
        "豁免 {waiver} 未匹配任何结论（请核对规则、组织、对象与期间）",
        "waiver {waiver} matched no finding (check its rule, organisation, subject and dates)",
    ),
    # ------------------------------------------------------------ duties: not applicable
    "na.retired": ("该规则已被本地实施规则包停用", "retired here by a local overlay pack"),
    "na.kind_not_covered": ("该规则不适用于此类组织", "the rule does not cover this kind of organisation"),
    "na.not_in_force": ("规则在该期间未施行", "the rule was not in force in this period"),
    "na.outside_deadline_window": (
        "该期间不含规则的时限区间",
        "the period has no part inside the rule's deadline window",
    ),
    "na.too_short_in_post": ("在岗时间短于规则要求的最少天数", "held the post for fewer days than the rule's minimum"),
    "na.not_in_post": ("该期间未任职", "not in post in this period"),
    # ------------------------------------------------------------ duties: undeterminable
    "unk.bad_trigger": (
        "触发记录数据无效（见输入中的拒收记录），无法判定其引起的义务",
        "the triggering record is invalid (see the input rejections), so the duty it starts cannot be judged",
    ),
    "unk.no_holder": ("名册中该期间无此职务的任职记录，无法判定", "the roster has nobody in this role for the period"),
    "unk.no_portfolio": ("名册未登记其分管领域，无法判定", "the roster lists no portfolio area for this person"),
    # the same, as a note in the duties list (nothing is judged there)
    "duty.no_holder": ("名册中该期间无此职务的任职记录", "the roster has nobody in this role for the window"),
    "duty.no_portfolio": ("名册未登记其分管领域", "the roster lists no portfolio area for this person"),
    # ------------------------------------------------------------ candidates: why a record did not count
    "candidate.outside": (
        "日期不在评判区间 {window} 内（任职、施行或时限）",
        "date outside the judged window {window} (post, in force or deadline)",
    ),
    "candidate.tags_any": ("缺少标签（需含其一：{tags}）", "missing tag (needs one of: {tags})"),
    "candidate.tags_all": ("缺少标签（需全部含有：{tags}）", "missing tags (needs all of: {tags})"),
    "candidate.chair": ("主持人为 {who}，不是{ref}", "chaired by {who}, not the {ref}"),
    "candidate.participant": ("{ref}不在参加人员中", "the {ref} is not among the participants"),
    "candidate.portfolio": ("分管领域为 {found}，不是 {wanted}", "portfolio is {found}, not {wanted}"),
    "candidate.attendance": ("到会 {present}，低于 {needed}", "attendance {present} is below {needed}"),
    "candidate.no_team": ("记录日期名册中无班子成员，无法计算到会比例", "no team members on the roster on that date"),
}


def text(code: str, **args: Arg) -> tuple[str, str]:
    """The Chinese and English text of `code`, its placeholders filled from `args` (a ``(zh, en)`` pair
    fills each language with its part). An unknown code is a :class:`KeyError`: a reason is never shown
    with some other reason's text."""
    zh, en = TEXTS[code]
    if not args:
        return zh, en
    zh_args = {k: v[0] if isinstance(v, tuple) else v for k, v in args.items()}
    en_args = {k: v[1] if isinstance(v, tuple) else v for k, v in args.items()}
    return zh.format(**zh_args), en.format(**en_args)


def hint(zh: str, en: str, zh_sep: str = "", en_sep: str = " ") -> tuple[str, str]:
    """A did-you-mean hint as a ``{hint}`` argument: each language's text after its separator, or nothing."""
    return (zh_sep + zh if zh else "", en_sep + en if en else "")


#: Not applicable: reason code (``Obligation.na``) -> (zh, en), the ``na.*`` texts.
NA: dict[str, tuple[str, str]] = {k[3:]: v for k, v in TEXTS.items() if k.startswith("na.")}
#: Undeterminable: reason code (``Obligation.unk``) -> (zh, en), the ``unk.*`` texts.
UNK: dict[str, tuple[str, str]] = {k[4:]: v for k, v in TEXTS.items() if k.startswith("unk.")}

#: Who a record filter names, as Chinese text (the English is the reference's own name).
REF_ZH = {"subject": "责任人本人", "first": "第一方", "second": "第二方", "secretary": "书记"}


def _ref(ref: str) -> tuple[str, str]:
    return REF_ZH[ref], ref


def describe(rule: CompiledRule, why: Why, window: Period | None, portfolio: str | None) -> tuple[str, str]:
    """The Chinese and English text of a rejected candidate's reason under `rule` (`why`: the
    ``candidate.*`` code without its prefix and its details; `window`: the obligation's judged window,
    read for ``outside``; `portfolio`: its portfolio area, read for ``portfolio``)."""
    code = why[0]
    match = rule.match
    if code == "outside":
        assert window is not None
        return text("candidate.outside", window=f"{window.start.isoformat()}..{window.end.isoformat()}")
    if code == "tags_any":
        return text("candidate.tags_any", tags=("、".join(match.tags_any), ", ".join(match.tags_any)))
    if code == "tags_all":
        return text("candidate.tags_all", tags=("、".join(match.tags_all), ", ".join(match.tags_all)))
    if code == "chair":
        return text("candidate.chair", who=why[1] or "无 none", ref=_ref(why[2]))
    if code == "participant":
        return text("candidate.participant", ref=_ref(why[1]))
    if code == "portfolio":
        return text("candidate.portfolio", found=(why[1] or "空", why[1] or "empty"), wanted=str(portfolio))
    if code == "attendance":
        return text("candidate.attendance", present=why[1], needed=why[2])
    return text(f"candidate.{code}")
