"""The words users write in inputs, in one place: Chinese and English names of roles and organisation
kinds, and the column names of record and roster tables.

Shared by the roster model (YAML, JSON, Python dicts), the spreadsheet and text-table readers and the
BDD steps, so that a word accepted in one input is accepted in all of them. Column names are compared
after trimming spaces and case-folding (:func:`column_name`); role and kind values likewise
(:func:`role_value`, :func:`kind_value`).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic_core import PydanticCustomError

from ..errors import did_you_mean
from ..texts import hint
from .refusal import refuse
from .rules import ORG_KIND_ZH, OrgKind, Role

#: Chinese names of roles, as the guide lists them (rule-authoring.md, input-formats.md §4.3).
ROLE_ZH: dict[str, Role] = {
    "书记": Role.secretary,
    "党委书记": Role.secretary,
    "党组书记": Role.secretary,
    "党支部书记": Role.secretary,
    "支部书记": Role.secretary,
    "副书记": Role.deputy_secretary,
    "党委副书记": Role.deputy_secretary,
    "党组副书记": Role.deputy_secretary,
    "党支部副书记": Role.deputy_secretary,
    "支部副书记": Role.deputy_secretary,
    "班子成员": Role.member,
    "委员": Role.member,
    "党委委员": Role.member,
    "党组成员": Role.member,
    "支部委员": Role.member,
    "支委": Role.member,
}
#: Values of a role: the Chinese names above and the English codes.
ROLE_WORDS: dict[str, str] = {**{zh: role.value for zh, role in ROLE_ZH.items()}, **{r.value: r.value for r in Role}}

#: Chinese names of organisation kinds (the ones the rule packs use).
KIND_ZH: dict[str, OrgKind] = {
    **{zh: kind for kind, zh in ORG_KIND_ZH.items()},
    "部门（单位）党委": OrgKind.department_committee,
    "乡镇（街道）党委": OrgKind.township,
    "街道党工委": OrgKind.township,
}
#: Values of an organisation kind: Chinese names and the English codes.
KIND_WORDS: dict[str, str] = {
    **{zh: kind.value for zh, kind in KIND_ZH.items()},
    **{k.value: k.value for k in OrgKind},
}

#: Column names of activity-record tables (CSV, tab-separated text, spreadsheets, BDD tables).
RECORD_COLUMNS: dict[str, str] = {
    "编号": "id",
    "记录编号": "id",
    "活动编号": "id",
    "组织": "org",
    "组织编号": "org",
    "organisation": "org",
    "organization": "org",
    "类型": "type",
    "记录类型": "type",
    "活动类型": "type",
    "日期": "date",
    "活动日期": "date",
    "主持人": "chair",
    "组织者": "chair",
    "参加人员": "participants",
    "参会人员": "participants",
    "出席人员": "participants",
    "分管领域": "portfolio",
    "标签": "tags",
    "内容": "text",
    "说明": "text",
    "备注": "text",
}
RECORD_FIELDS = ("id", "org", "type", "date", "chair", "participants", "portfolio", "tags", "text")

#: Column names of organisation tables (the 组织 sheet, the BDD organisations table).
ORG_COLUMNS: dict[str, str] = {
    "编号": "id",
    "组织编号": "id",
    "名称": "name",
    "组织名称": "name",
    "类型": "kind",
    "组织类型": "kind",
    "type": "kind",
    "层级": "level",
    "上级组织": "parent",
    "上级": "parent",
    "上级组织编号": "parent",
}
ORG_FIELDS = ("id", "name", "kind", "level", "parent")

#: Column names of people tables (the 人员 sheet, the BDD people table; one row per post).
PEOPLE_COLUMNS: dict[str, str] = {
    "编号": "id",
    "人员": "id",
    "人员编号": "id",
    "姓名": "name",
    "组织": "org",
    "组织编号": "org",
    "任职组织": "org",
    "organisation": "org",
    "organization": "org",
    "职务": "role",
    "分管领域": "portfolios",
    "分管": "portfolios",
    "portfolio": "portfolios",
    "任职开始": "start",
    "开始日期": "start",
    "任职结束": "end",
    "结束日期": "end",
}
PEOPLE_FIELDS = ("id", "name", "org", "role", "portfolios", "start", "end")


def column_table(aliases: Mapping[str, str], fields: tuple[str, ...]) -> dict[str, str]:
    """Header lookup keyed by case-folded name: the aliases and the field names themselves."""
    return {a.casefold(): f for a, f in aliases.items()} | {f: f for f in fields}


def column_name(header: str, table: Mapping[str, str]) -> str:
    """The field a header cell names (`table` from :func:`column_table`), or the header case-folded."""
    key = header.strip().casefold()
    return table.get(key, key)


def _value(table: Mapping[str, str], text: str) -> str | None:
    key = text.strip()
    return table.get(key) or table.get(key.casefold())


def role_value(text: str) -> str | None:
    """The role code for a Chinese or English role name, or None."""
    return _value(ROLE_WORDS, text)


def kind_value(text: str) -> str | None:
    """The organisation-kind code for a Chinese or English kind name, or None."""
    return _value(KIND_WORDS, text)


def unknown_value(key: str, word: str, table: Mapping[str, str], common: tuple[str, ...]) -> PydanticCustomError:
    """The refusal `key` of a value that is not in `table` (``row.role.unknown``): its text shows the word and a
    "did you mean" when a known word is close, else the common choices (Chinese words and the codes)."""
    shown = word if len(word) <= 40 else word[:37] + "..."
    zh, en = did_you_mean(word[:100], table, "zh"), did_you_mean(word[:100], table, "en")
    if "'" not in zh:
        listed = f"{'、'.join(common)} / {', '.join(sorted(set(table.values())))}"
        zh, en = f"可选：{listed}", f"expected one of: {listed}"
    return refuse(key, "", word=shown, hint=hint(zh, en, "；", "; "))


def role_problem(word: str) -> PydanticCustomError:
    """An unknown role in a roster (``row.role.unknown``)."""
    return unknown_value("row.role.unknown", word, ROLE_WORDS, ("书记", "副书记", "班子成员", "委员"))


def kind_problem(word: str, key: str = "row.kind.unknown") -> PydanticCustomError:
    """An unknown organisation kind: in a roster (``row.kind.unknown``), or under `key` (a scoring file's
    ``scoring.groups.unknown_kind``)."""
    return unknown_value(key, word, KIND_WORDS, tuple(ORG_KIND_ZH.values()))
