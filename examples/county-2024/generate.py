#!/usr/bin/env python3
"""Generate the bundled example ``examples/county-2024/``: a fictional county for the year 2024.

示例数据生成器：虚构的“某某县”2024 年度名册与履责活动记录。人名、单位均为虚构。

Writes, next to this script:

* ``roster.yaml``    organisations, people and their posts (roles, portfolio areas, terms);
* ``records.jsonl``  one activity record per line, sorted by date then id;
* ``waivers.yaml``   the example's waivers (one in force, one expired);
* ``GAPS.md``        the deliberate gaps planted in the records, and what each should trip.

Deterministic: stdlib + PyYAML only, one ``random.Random(2024)`` consumed in a fixed order, no
set iteration, no clock. Running it again rewrites the four files byte-identically.

    python examples/county-2024/generate.py
"""

# ruff: noqa: E501  (long Chinese data and report strings)
from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
RULES = HERE.parent.parent / "rules"

YEAR = 2024
D = dt.date
YEAR_START, YEAR_END = D(YEAR, 1, 1), D(YEAR, 12, 31)
H1 = (D(YEAR, 1, 1), D(YEAR, 6, 30))
H2 = (D(YEAR, 7, 1), D(YEAR, 12, 31))
MOVE_END, MOVE_START = D(YEAR, 6, 30), D(YEAR, 7, 1)
BAD_DATE = "2024-13-05"  # the one malformed record (月份 13 不存在)

# Public holidays of 2024 (法定节假日); meetings and visits fall on other weekdays.
HOLIDAYS: list[tuple[D, D]] = [
    (D(2024, 1, 1), D(2024, 1, 1)),
    (D(2024, 2, 10), D(2024, 2, 17)),
    (D(2024, 4, 4), D(2024, 4, 6)),
    (D(2024, 5, 1), D(2024, 5, 5)),
    (D(2024, 6, 10), D(2024, 6, 10)),
    (D(2024, 9, 15), D(2024, 9, 17)),
    (D(2024, 10, 1), D(2024, 10, 7)),
]

SECRETARY, DEPUTY, MEMBER = "secretary", "deputy_secretary", "member"
FOUR = ["亲自部署", "亲自过问", "亲自协调", "亲自督办"]

rng = random.Random(2024)


# ---------------------------------------------------------------------------------------------
# Calendar helpers
# ---------------------------------------------------------------------------------------------


def workday(day: D) -> bool:
    if day.weekday() >= 5:
        return False
    return not any(lo <= day <= hi for lo, hi in HOLIDAYS)


def pick(lo: D, hi: D) -> D:
    """A random working day in [lo, hi] (inclusive)."""
    days = [lo + dt.timedelta(days=i) for i in range((hi - lo).days + 1)]
    days = [d for d in days if workday(d)]
    if not days:
        raise ValueError(f"no working day in {lo}..{hi}")
    return rng.choice(days)


def next_workday(day: D) -> D:
    while not workday(day):
        day += dt.timedelta(days=1)
    return day


def clip(lo: D, hi: D, a: D, b: D) -> tuple[D, D] | None:
    lo2, hi2 = max(lo, a), min(hi, b)
    return (lo2, hi2) if lo2 <= hi2 else None


def cn_date(day: D) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# ---------------------------------------------------------------------------------------------
# Organisations
# ---------------------------------------------------------------------------------------------

ORGS: list[dict] = [
    {
        "id": "county",
        "name": "某某县委",
        "kind": "local_committee",
        "level": "county",
        "parent": None,
        "body": "县委常委会会议",
        "sys": "全县",
    },
    {
        "id": "edu-pg",
        "name": "县教育局党组",
        "kind": "party_group",
        "level": "county-department",
        "parent": "county",
        "body": "局党组会议",
        "sys": "全县教育系统",
    },
    {
        "id": "health-pg",
        "name": "县卫生健康委员会党组",
        "kind": "party_group",
        "level": "county-department",
        "parent": "county",
        "body": "委党组会议",
        "sys": "全县卫生健康系统",
    },
    {
        "id": "finance-pg",
        "name": "县财政局党组",
        "kind": "party_group",
        "level": "county-department",
        "parent": "county",
        "body": "局党组会议",
        "sys": "全县财政系统",
    },
    {
        "id": "twn-chengguan",
        "name": "城关镇党委",
        "kind": "township",
        "level": "township",
        "parent": "county",
        "body": "镇党委会议",
        "sys": "全镇",
    },
    {
        "id": "twn-qingshan",
        "name": "青山镇党委",
        "kind": "township",
        "level": "township",
        "parent": "county",
        "body": "镇党委会议",
        "sys": "全镇",
    },
    {
        "id": "twn-liuhe",
        "name": "柳河乡党委",
        "kind": "township",
        "level": "township",
        "parent": "county",
        "body": "乡党委会议",
        "sys": "全乡",
    },
    {
        "id": "twn-shiqiao",
        "name": "石桥镇党委",
        "kind": "township",
        "level": "township",
        "parent": "county",
        "body": "镇党委会议",
        "sys": "全镇",
    },
]
ORG = {o["id"]: o for o in ORGS}
ORG_INDEX = {o["id"]: i for i, o in enumerate(ORGS)}

VILLAGES = {
    "twn-chengguan": ["东关社区", "西关社区", "南街社区", "北坛村", "河湾村", "新城社区"],
    "twn-qingshan": ["青山村", "松林村", "石门村", "上坪村", "桃园村", "龙潭村"],
    "twn-liuhe": ["柳河村", "前营村", "后营村", "杨树湾村", "沙坝村"],
    "twn-shiqiao": ["石桥村", "王庄村", "李寨村", "枣林村", "高岭村", "黄土坡村"],
}

PACK_AREAS = [
    "组织人事",
    "宣传思想",
    "纪检监察",
    "政法",
    "经济发展",
    "社会事业",
    "农业农村",
    "城乡建设",
    "生态环境",
    "统战",
]

# Seats: (title, role, portfolio areas). "MOVER" marks the seat the mover takes on 2024-07-01.
SEATS: dict[str, list[tuple[str, str, list[str]]]] = {
    "county": [
        ("县委书记", SECRETARY, []),
        ("县委副书记、县长", DEPUTY, ["经济发展", "生态环境"]),
        ("县委副书记", DEPUTY, ["农业农村", "社会事业"]),
        ("县委常委、县纪委书记、县监委主任", MEMBER, ["纪检监察"]),
        ("县委常委、组织部部长", MEMBER, ["组织人事"]),
        ("县委常委、宣传部部长", MEMBER, ["宣传思想"]),
        ("县委常委、政法委书记", MEMBER, ["政法"]),
        ("县委常委、统战部部长", MEMBER, ["统战"]),
        ("县委常委、常务副县长", MEMBER, ["经济发展", "城乡建设"]),
        ("县委常委、县委办公室主任", MEMBER, ["社会事业"]),
    ],
    "edu-pg": [
        ("党组书记、局长", SECRETARY, []),
        ("党组成员、副局长", MEMBER, ["基础教育", "招生考试"]),
        ("党组成员、副局长", MEMBER, ["人事师资", "机关党建"]),
        ("党组成员、副局长", MEMBER, ["财务审计", "校园安全"]),
        ("党组成员、副局长", MEMBER, ["职业教育", "学前教育"]),
        ("党组成员、县教育督导室主任", MEMBER, ["教育督导"]),
        ("党组成员、县教师发展中心主任", MEMBER, ["教研教改"]),
    ],
    "health-pg": [
        ("党组书记、主任", SECRETARY, []),
        ("党组副书记、副主任", DEPUTY, ["机关党建", "人口家庭"]),
        ("党组成员、副主任", MEMBER, ["医政医管", "中医药"]),
        ("党组成员、副主任", MEMBER, ["公共卫生", "疾病预防控制"]),
        ("党组成员、副主任", MEMBER, ["基层卫生"]),
        ("党组成员、副主任", MEMBER, ["财务审计", "基建项目"]),
        ("党组成员、县人民医院党委书记", MEMBER, ["公立医院党建"]),
        ("党组成员、县卫生健康综合监督执法局局长", MEMBER, ["卫生监督"]),
    ],
    "finance-pg": [
        ("党组书记、局长", SECRETARY, []),
        ("党组副书记、副局长", DEPUTY, ["机关党建", "财政监督"]),
        ("党组成员、副局长", MEMBER, ["预算管理", "债务管理"]),
        ("党组成员、副局长", MEMBER, ["国库支付", "政府采购"]),
        ("党组成员、副局长", MEMBER, ["国有资产管理"]),
        ("党组成员、副局长", MEMBER, ["农业农村财务"]),
        ("党组成员、县会计核算中心主任", MEMBER, ["会计管理"]),
        ("党组成员、县非税收入管理局局长", MEMBER, ["非税收入"]),
    ],
    "twn-chengguan": [
        ("镇党委书记", SECRETARY, []),
        ("镇党委副书记、镇长", DEPUTY, ["经济发展", "城乡建设"]),
        ("镇党委副书记", DEPUTY, ["组织人事", "宣传思想"]),
        ("镇党委委员、纪委书记", MEMBER, ["纪检监察"]),
        ("镇党委委员、组织委员", MEMBER, ["组织人事"]),
        ("镇党委委员、宣传委员", MEMBER, ["宣传思想", "统战"]),
        ("镇党委委员、政法委员", MEMBER, ["政法"]),
        ("镇党委委员、人大主席", MEMBER, ["社会事业"]),
        ("镇党委委员、副镇长", MEMBER, ["生态环境", "农业农村"]),
    ],
    "twn-qingshan": [
        ("镇党委书记", SECRETARY, []),  # the mover, until 2024-06-30
        ("镇党委副书记、镇长", DEPUTY, ["经济发展", "农业农村"]),
        ("镇党委副书记", DEPUTY, ["组织人事", "社会事业"]),
        ("镇党委委员、纪委书记", MEMBER, ["纪检监察"]),
        ("镇党委委员、组织委员", MEMBER, ["组织人事"]),
        ("镇党委委员、宣传委员", MEMBER, ["宣传思想"]),
        ("镇党委委员、政法委员", MEMBER, ["政法"]),
        ("镇党委委员、副镇长", MEMBER, ["城乡建设", "生态环境"]),
    ],
    "twn-liuhe": [
        ("乡党委书记", SECRETARY, []),
        ("乡党委副书记、乡长", DEPUTY, ["经济发展", "农业农村"]),
        ("乡党委委员、纪委书记", MEMBER, ["纪检监察"]),
        ("乡党委委员、组织委员", MEMBER, ["组织人事", "宣传思想"]),
        ("乡党委委员、政法委员", MEMBER, ["政法", "统战"]),
        ("乡党委委员、人武部部长", MEMBER, ["社会事业"]),
        ("乡党委委员、副乡长", MEMBER, ["生态环境", "城乡建设"]),
    ],
    "twn-shiqiao": [
        ("镇党委书记", SECRETARY, []),
        ("镇党委副书记、镇长", DEPUTY, ["经济发展", "城乡建设"]),
        ("镇党委副书记", DEPUTY, ["组织人事", "农业农村"]),
        ("镇党委委员、纪委书记", MEMBER, ["纪检监察"]),
        ("镇党委委员、组织委员", MEMBER, ["组织人事"]),
        ("镇党委委员、宣传委员", MEMBER, ["宣传思想", "统战"]),
        ("镇党委委员、政法委员", MEMBER, ["政法", "社会事业"]),
        ("镇党委委员、副镇长", MEMBER, ["生态环境"]),
    ],
}
MOVER_COUNTY_SEAT = ("县委常委、副县长", MEMBER, ["农业农村", "城乡建设"])
NEW_SEC_TITLE = "镇党委书记"

# ---------------------------------------------------------------------------------------------
# Names (虚构人名)
# ---------------------------------------------------------------------------------------------

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶贺顾毛郝龚邵万严覃武戴孔向汤"
)
GIVEN = [
    "建军",
    "志刚",
    "海波",
    "丽娟",
    "晓燕",
    "卫东",
    "志强",
    "海燕",
    "丽华",
    "红梅",
    "国庆",
    "晓东",
    "文军",
    "春生",
    "玉兰",
    "德明",
    "永强",
    "红霞",
    "立新",
    "宏伟",
    "俊杰",
    "海涛",
    "桂芳",
    "新华",
    "振华",
    "学军",
    "爱民",
    "建华",
    "晓明",
    "文斌",
    "亚军",
    "卫华",
    "国华",
    "玉梅",
    "鹏飞",
    "伟",
    "静",
    "敏",
    "磊",
    "勇",
    "军",
    "涛",
    "斌",
    "鹏",
    "艳",
    "平",
    "刚",
    "丹",
    "浩",
    "超",
    "明辉",
    "少华",
    "家栋",
    "光明",
    "金凤",
    "秋菊",
    "雪梅",
    "长青",
    "永红",
    "庆丰",
    "世杰",
    "开山",
    "瑞琴",
    "文静",
    "志远",
    "晓光",
    "雨霞",
    "云峰",
    "树林",
    "正刚",
    "向东",
    "继红",
    "春燕",
    "宏亮",
    "新民",
    "国栋",
    "小军",
    "利民",
    "翠萍",
    "凤英",
]


class NameBook:
    def __init__(self) -> None:
        self.used: list[str] = ["王建国"]

    def new(self) -> str:
        while True:
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            if name not in self.used:
                self.used.append(name)
                return name


# ---------------------------------------------------------------------------------------------
# Roster
# ---------------------------------------------------------------------------------------------


class Post:
    def __init__(self, org: str, role: str, portfolios: list[str], start: D, end: D | None, title: str):
        self.org, self.role, self.portfolios = org, role, list(portfolios)
        self.start, self.end, self.title = start, end, title

    def holds_on(self, day: D) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def in_year(self) -> tuple[D, D] | None:
        return clip(YEAR_START, YEAR_END, self.start, self.end or YEAR_END)


class Person:
    def __init__(self, pid: str, name: str):
        self.id, self.name, self.posts = pid, name, []  # type: ignore[var-annotated]

    def post_in(self, org: str, day: D) -> Post | None:
        for post in self.posts:
            if post.org == org and post.holds_on(day):
                return post
        return None


PEOPLE: list[Person] = []
names = NameBook()


def new_person(name: str | None = None) -> Person:
    person = Person(f"p{len(PEOPLE) + 1:03d}", name or names.new())
    PEOPLE.append(person)
    return person


def start_date(role: str) -> D:
    if role == SECRETARY:
        return pick(D(2020, 9, 1), D(2023, 6, 30))
    return pick(D(2016, 3, 1), D(2023, 11, 30))


SEAT_HOLDER: dict[tuple[str, int], Person] = {}
for org in ORGS:
    for index, (title, role, areas) in enumerate(SEATS[org["id"]]):
        person = new_person("王建国" if not PEOPLE else None)
        person.posts.append(Post(org["id"], role, areas, start_date(role), None, title))
        SEAT_HOLDER[(org["id"], index)] = person
        if org["id"] == "twn-qingshan" and index == 0:
            # 年中调整：青山镇党委书记 2024-06-30 离任，2024-07-01 任县委常委、副县长。
            person.posts[0].end = MOVE_END
            person.posts.append(
                Post("county", MOVER_COUNTY_SEAT[1], MOVER_COUNTY_SEAT[2], MOVE_START, None, MOVER_COUNTY_SEAT[0])
            )
            MOVER = person
    if org["id"] == "twn-qingshan":
        NEW_SEC = new_person()
        NEW_SEC.posts.append(Post("twn-qingshan", SECRETARY, [], MOVE_START, None, NEW_SEC_TITLE))

# 新增班子成员：青山镇 2024-11-18 起增设统战委员。在岗不足 60 天，按年计的职责不评判（min_days_in_post）。
# A new Qingshan member from 2024-11-18: fewer than 60 days in post, so yearly duties are not judged.
NEWCOMER_START = D(2024, 11, 18)
assert "易海峰" not in names.used
NEWCOMER = new_person("易海峰")
names.used.append(NEWCOMER.name)
NEWCOMER.posts.append(Post("twn-qingshan", MEMBER, ["统战"], NEWCOMER_START, None, "镇党委委员、统战委员"))

PERSON = {p.id: p for p in PEOPLE}


def holder(org: str, title_part: str) -> Person:
    for index, (title, _role, _areas) in enumerate(SEATS[org]):
        if title_part in title:
            return SEAT_HOLDER[(org, index)]
    raise KeyError((org, title_part))


def seat_holder_with(org: str, area: str) -> Person:
    for index, (_title, _role, areas) in enumerate(SEATS[org]):
        if area in areas:
            return SEAT_HOLDER[(org, index)]
    raise KeyError((org, area))


def team(org: str, day: D) -> list[tuple[Person, Post]]:
    """Team on a day: the secretary first, then in roster order."""
    out = []
    for person in PEOPLE:
        post = person.post_in(org, day)
        if post is not None:
            out.append((person, post))
    out.sort(key=lambda pp: (pp[1].role != SECRETARY, pp[0].id))
    return out


def secretary(org: str, day: D) -> Person:
    sec = [p for p, post in team(org, day) if post.role == SECRETARY]
    assert len(sec) == 1, (org, day, sec)
    return sec[0]


def posts_of(org: str) -> list[tuple[Person, Post]]:
    out = []
    for person in PEOPLE:
        for post in person.posts:
            if post.org == org and post.in_year():
                out.append((person, post))
    return out


# Named people in the deliberate gaps (see GAPS.md).
COUNTY_SEC = holder("county", "县委书记")
NO_TALK = [holder("county", "政法委书记"), holder("county", "统战部部长")]
FIN_SEC = holder("finance-pg", "党组书记")
FIN_DEPUTY = holder("finance-pg", "党组副书记")
LIUHE_SEC = holder("twn-liuhe", "乡党委书记")
SHIQIAO_SEC = holder("twn-shiqiao", "镇党委书记")
HEALTH_SEC = holder("health-pg", "党组书记")
NO_DUDAO_H2 = (seat_holder_with("edu-pg", "财务审计"), "财务审计")
NO_YUETAN = (seat_holder_with("twn-chengguan", "统战"), "统战")
DC_LATE_ORG, DC_LATE_FEEDBACK, DC_LATE_DAYS = "twn-chengguan", D(2024, 5, 10), 42
DC_OPEN_ORG, DC_OPEN_FEEDBACK = "edu-pg", D(2024, 12, 16)
MZ_LOW_ORG = "health-pg"
COUNTY_OFFICE = holder("county", "县委办公室主任")  # leads the county's 督查 of departments and townships
CG_SEC = holder("twn-chengguan", "镇党委书记")
EDU_SEC = holder("edu-pg", "党组书记")

# Gaps planted for the packs added later (see GAPS.md, items 11 onward).
# 书记“四个亲自”缺项 / a secretary with no record of one of the four in-person duties
QINZI_GAPS = [(HEALTH_SEC, "亲自督办"), (LIUHE_SEC, "亲自部署"), (FIN_SEC, "亲自过问"), (CG_SEC, "亲自协调")]
# 分管领域缺项 (person, area, record type, half-year or None for the whole year)
YG_GAPS: list[tuple[Person, str, str, tuple[D, D] | None]] = [
    (*NO_DUDAO_H2, "dingqi_dudao", H2),
    (*NO_YUETAN, "yuetan_tixing", None),  # retired in the townships by the county's overlay pack
    (NO_DUDAO_H2[0], "校园安全", "geibie_zhidao", None),  # second area of the same member: ZZ-ESC-01
    # 财政局党组：书记之外，7 名班子成员中 4 人各有一个领域缺项 -> ZZ-ESC-02
    (seat_holder_with("finance-pg", "债务管理"), "债务管理", "dingqi_dudao", H1),
    (seat_holder_with("finance-pg", "政府采购"), "政府采购", "geibie_zhidao", None),
    (seat_holder_with("finance-pg", "国有资产管理"), "国有资产管理", "yuetan_tixing", None),
    (seat_holder_with("finance-pg", "农业农村财务"), "农业农村财务", "dingqi_dudao", H2),
]
# 乡镇专题会议：县实施细则要求每半年至少 2 次；城关镇上半年只开 1 次（按全国规则仍为已履行）
DW_OVERLAY_GAP = ("twn-chengguan", 1)  # (organisation, meeting window index) not held
SHIQIAO_DEPUTY = SEAT_HOLDER[("twn-shiqiao", 2)]  # 镇党委副书记（专职）
SH02_GAP = (SEAT_HOLDER[("twn-shiqiao", 1)], SEAT_HOLDER[("twn-shiqiao", 2)])  # the two deputies never talk
SH01_GAP = (holder("county", "常务副县长"), 3)  # (person, quarter) with no dual organisational life
JD_GAP = holder("county", "宣传部部长")  # absent from the county's 述责述廉 (its waiver expired)
SZPY_GAP = EDU_SEC  # a member reported in the secretary's place
ZB_GAP = SHIQIAO_SEC  # the township's Party lecture was given by the deputy secretary
YS_GAP = ("health-pg", H2)  # no session dedicated to ideological work in H2
SZPY_WAIVED = NEW_SEC  # took office 2024-07-01; no report in 2024; waived (waivers.yaml)

# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------

RECORDS: list[dict] = []


def add(
    org: str,
    rtype: str,
    day: D,
    chair: Person | None,
    participants: list[Person] | tuple = (),
    portfolio: str | None = None,
    tags: list[str] | tuple = (),
    text: str = "",
) -> None:
    assert YEAR_START <= day <= YEAR_END, day
    if chair is not None:
        assert any(post.holds_on(day) for post in chair.posts), (chair.id, day)
    ids: list[str] = []
    for p in participants:
        if (chair is None or p.id != chair.id) and p.id not in ids:
            ids.append(p.id)
    RECORDS.append(
        {
            "org": org,
            "type": rtype,
            "date": day.isoformat(),
            "chair": chair.id if chair else None,
            "participants": ids,
            "portfolio": portfolio,
            "tags": list(tags),
            "text": text,
        }
    )


def topic_for(day: D) -> str:
    m = day.month
    if m <= 2:
        return "审议2024年度全面从严治党主体责任清单和工作要点"
    if m == 3:
        return "听取2023年度全面从严治党主体责任落实情况报告，研究部署今年重点任务"
    if m in (4, 5):
        return "研究部署党纪学习教育，分析研判党风廉政建设形势"
    if m == 6:
        return "听取党纪学习教育阶段性进展和上半年党风廉政建设情况汇报"
    if m in (7, 8):
        return "传达学习党的二十届三中全会精神，听取上半年主体责任落实情况汇报并研究下半年重点任务"
    if m in (9, 10):
        return "研究督查、巡察反馈问题整改工作，部署作风建设专项整治"
    return "研究年度全面从严治党主体责任落实情况报告和考核工作"


def present(org: str, day: D, absent_chance: float = 0.35) -> list[Person]:
    members = [p for p, _ in team(org, day)]
    if len(members) > 4 and rng.random() < absent_chance:
        absent = rng.choice(members[1:])
        members = [p for p in members if p is not absent]
    return members


# ---- 1. Dedicated strict-governance meetings (zhuanti_huiyi) --------------------------------

MEETING_WINDOWS = {
    "county": [
        (D(2024, 1, 15), D(2024, 2, 8)),
        (D(2024, 4, 8), D(2024, 5, 24)),
        (D(2024, 7, 15), D(2024, 8, 30)),
        (D(2024, 12, 2), D(2024, 12, 27)),
    ],
    "party_group": [
        (D(2024, 2, 19), D(2024, 3, 29)),
        (D(2024, 5, 6), D(2024, 6, 21)),
        (D(2024, 7, 22), D(2024, 9, 13)),
        (D(2024, 11, 4), D(2024, 12, 20)),
    ],
    "township": [
        (D(2024, 2, 19), D(2024, 4, 3)),
        (D(2024, 5, 6), D(2024, 6, 28)),
        (D(2024, 7, 15), D(2024, 9, 27)),
        (D(2024, 11, 4), D(2024, 12, 20)),
    ],
}


def meeting_text(org: str, day: D, note: str = "") -> str:
    return f"{ORG[org]['body']}专题研究全面从严治党工作：{topic_for(day)}{note}"


for org in ORGS:
    oid = org["id"]
    windows = MEETING_WINDOWS["county" if oid == "county" else org["kind"]]
    for w_index, (lo, hi) in enumerate(windows):
        h2 = lo >= H2[0]
        # the county meets every quarter; departments at least once per half-year, sometimes twice;
        # townships twice per half-year, as the county's implementing rules (overlay pack) ask
        if org["kind"] == "township":
            held = (oid, w_index) != DW_OVERLAY_GAP
        else:
            held = oid == "county" or w_index in (0, 2) or rng.random() < 0.5
        if oid == "twn-liuhe" and w_index == 1:
            continue  # its second H1 meeting is the one on 2024-06-28 (below)
        if oid == "finance-pg" and not h2:
            continue  # handled below: one H1 meeting, chaired by the deputy secretary
        if oid == "twn-liuhe" and h2:
            continue  # GAP: no dedicated meeting in H2
        if oid == "twn-shiqiao" and h2:
            continue  # its only H2 meeting is the malformed record
        if not held:
            continue
        day = pick(lo, hi)
        if oid == "twn-qingshan" and not h2:
            day = pick(lo, min(hi, D(2024, 6, 21)))
        chair = secretary(oid, day)
        add(oid, "zhuanti_huiyi", day, chair, present(oid, day), tags=[], text=meeting_text(oid, day))

# finance-pg: the only H1 meeting is chaired by the deputy secretary while the secretary is away.
day = pick(D(2024, 4, 15), D(2024, 5, 17))
att = [p for p in present("finance-pg", day, 0.0) if p is not FIN_SEC]
add(
    "finance-pg",
    "zhuanti_huiyi",
    day,
    FIN_DEPUTY,
    att,
    text=meeting_text("finance-pg", day, "（党组书记外出学习，受其委托由党组副书记主持）"),
)

# twn-liuhe: add an H1 meeting right at the end of the half-year (boundary date, still H1).
add(
    "twn-liuhe",
    "zhuanti_huiyi",
    D(2024, 6, 28),
    LIUHE_SEC,
    present("twn-liuhe", D(2024, 6, 28), 0.0),
    text=meeting_text("twn-liuhe", D(2024, 6, 28)),
)

# twn-shiqiao: one valid H2 meeting, chaired by the deputy secretary while the secretary is away; the
# secretary's own H2 meeting is the malformed last line. With the county's 2 per half-year, whether
# the township met its duty depends on that line.
SHIQIAO_H2_DAY = pick(D(2024, 9, 2), D(2024, 9, 27))
add(
    "twn-shiqiao",
    "zhuanti_huiyi",
    SHIQIAO_H2_DAY,
    SHIQIAO_DEPUTY,
    [p for p in present("twn-shiqiao", SHIQIAO_H2_DAY, 0.0) if p is not SHIQIAO_SEC],
    text=meeting_text("twn-shiqiao", SHIQIAO_H2_DAY, "（党委书记外出参加培训，受其委托由党委副书记主持）"),
)

# ---- 2. Secretaries' in-person duties (qinzi_lvze) -------------------------------------------

QINZI = {
    "county": {
        "亲自部署": [
            "主持召开全县全面从严治党工作会议，亲自部署2024年度重点任务",
            "主持召开全县党纪学习教育动员部署会议",
            "亲自部署县委第五轮巡察工作，听取巡察工作方案汇报",
            "亲自部署整治群众身边不正之风和腐败问题集中整治工作",
        ],
        "亲自过问": [
            "亲自过问农村集体“三资”管理突出问题",
            "亲自过问群众反映强烈的信访积案化解情况",
            "亲自过问县经济开发区项目建设中的廉政风险",
            "亲自过问乡村振兴衔接资金使用情况",
        ],
        "亲自协调": [
            "亲自协调巡察反馈问题整改中的跨部门事项",
            "亲自协调解决城区老旧小区改造推进中的堵点",
            "亲自协调纪检监察机关与审计、财政部门贯通协作",
        ],
        "亲自督办": [
            "亲自督办县委巡察移交问题线索办理",
            "亲自督办群众反映的惠民资金截留问题线索",
            "亲自督办审计发现问题整改和追责问责",
        ],
    },
    "party_group": {
        "亲自部署": [
            "主持召开{sys}全面从严治党工作会议并部署年度任务",
            "亲自部署{sys}党纪学习教育",
            "亲自部署{sys}廉政风险点排查和防控工作",
        ],
        "亲自过问": ["亲自过问{issue}", "亲自过问巡察、审计反馈问题整改进展"],
        "亲自协调": ["亲自协调解决{issue}中的难点问题", "亲自协调派驻纪检监察组与机关各股室贯通协作"],
        "亲自督办": ["亲自督办{issue}相关问题线索", "亲自督办信访举报件办理"],
    },
    "township": {
        "亲自部署": [
            "主持召开{sys}全面从严治党暨党风廉政建设工作会议并部署年度任务",
            "亲自部署{sys}党纪学习教育",
            "亲自部署村级换届后“村务监督”规范化工作",
        ],
        "亲自过问": [
            "亲自过问{village}集体经济收益分配情况",
            "亲自过问{village}群众反映的低保评定问题",
            "亲自过问高标准农田建设项目质量问题",
        ],
        "亲自协调": ["亲自协调解决{village}人居环境整治中的矛盾纠纷", "亲自协调镇村两级巡察整改中的具体事项"],
        "亲自督办": ["亲自督办{village}村干部优亲厚友问题线索", "亲自督办群众反映的涉农补贴发放问题"],
    },
}
ISSUES = {
    "edu-pg": ["校外培训治理", "教辅材料征订", "学校食堂食品安全", "教师招聘"],
    "health-pg": ["医保基金使用", "药品耗材集中采购", "医疗领域不正之风整治", "县人民医院新院区建设"],
    "finance-pg": ["惠民惠农财政补贴“一卡通”管理", "政府采购代理机构管理", "地方政府债务风险化解", "预算单位违规支出"],
}


def qinzi_text(oid: str, tag: str) -> str:
    org = ORG[oid]
    key = "county" if oid == "county" else org["kind"]
    text = rng.choice(QINZI[key][tag])
    return text.format(
        sys=org["sys"], issue=rng.choice(ISSUES.get(oid, ["—"])), village=rng.choice(VILLAGES.get(oid, ["—"]))
    )


for org in ORGS:
    oid = org["id"]
    for person, post in posts_of(oid):
        if post.role != SECRETARY:
            continue
        lo, hi = post.in_year()
        for tag in FOUR:
            if (person, tag) in QINZI_GAPS:
                continue  # GAP: no record of this in-person duty all year
            for _ in range(rng.randint(1, 3)):
                day = pick(lo, hi)
                others = [p for p, pp in team(oid, day) if pp.role != SECRETARY]
                company = rng.sample(others, rng.randint(0, 2))
                add(oid, "qinzi_lvze", day, person, company, tags=[tag], text=qinzi_text(oid, tag))

# ---- 3. Heart-to-heart talks (tanxin_tanhua) ---------------------------------------------------

TALK_TOPICS = [
    "交流思想和工作情况，提醒严守政治纪律和政治规矩",
    "征求对领导班子建设的意见建议",
    "就分管领域“一岗双责”落实情况交换意见",
    "谈工作思路，提醒把好廉洁关、家风关",
]
MZ_DATES: dict[str, D] = {}
for org in ORGS:
    if org["kind"] in ("local_committee", "party_group"):
        MZ_DATES[org["id"]] = pick(D(2024, 1, 22), D(2024, 2, 7))


def talk_topic(day: D, oid: str) -> str:
    if oid in MZ_DATES and day < MZ_DATES[oid]:
        return "开展民主生活会会前谈心谈话，相互提醒、交换意见"
    if D(2024, 4, 15) <= day <= D(2024, 7, 31) and rng.random() < 0.5:
        return "结合党纪学习教育谈心谈话，交流学纪知纪明纪守纪体会"
    return rng.choice(TALK_TOPICS)


def talk(oid: str, a: Person, b: Person, day: D) -> None:
    chair, other = (a, b) if rng.random() < 0.8 else (b, a)
    add(oid, "tanxin_tanhua", day, chair, [other], text=f"{chair.name}与{other.name}谈心谈话，{talk_topic(day, oid)}")


for org in ORGS:
    oid = org["id"]
    everyone = posts_of(oid)
    for sec, sec_post in everyone:
        if sec_post.role != SECRETARY:
            continue
        s_lo, s_hi = sec_post.in_year()
        for other, o_post in everyone:
            if o_post.role == SECRETARY:
                continue
            o_lo, o_hi = o_post.in_year()
            overlap = clip(s_lo, s_hi, o_lo, o_hi)
            if overlap is None:
                continue
            if sec is COUNTY_SEC and other in NO_TALK:
                continue  # GAP: the county secretary never talks with these two members
            n = 1 + (rng.random() < 0.35)
            for k in range(n):
                if k == 0 and oid in MZ_DATES and overlap[0] < MZ_DATES[oid] and rng.random() < 0.7:
                    day = pick(max(overlap[0], D(2024, 1, 8)), MZ_DATES[oid] - dt.timedelta(days=1))
                else:
                    day = pick(*overlap)
                talk(oid, sec, other, day)
    # talks between other team members (not checked by ZZ-08-06, but part of a real year)
    others = [(p, post) for p, post in everyone if post.role != SECRETARY]
    for _ in range(len(others) // 2 + rng.randint(0, 2)):
        (a, ap), (b, bp) = rng.sample(others, 2)
        overlap = clip(*ap.in_year(), *bp.in_year())
        if overlap and {a.id, b.id} != {p.id for p in SH02_GAP}:  # GAP: these two never talk
            talk(oid, a, b, pick(*overlap))

# the two county members the secretary never talks with do talk with other members
for victim in NO_TALK:
    day = pick(D(2024, 3, 1), D(2024, 11, 29))
    add(
        "county",
        "tanxin_tanhua",
        day,
        holder("county", "县委副书记、县长"),
        [victim],
        text=f"{holder('county', '县委副书记、县长').name}与{victim.name}谈心谈话，{rng.choice(TALK_TOPICS)}",
    )

# ---- 4. Portfolio duties: supervision, guidance, reminder talks -------------------------------

COUNTY_PLACES = {
    "组织人事": ["县委组织部", "县人社局", "县委编办", "城关镇", "青山镇"],
    "宣传思想": ["县委宣传部", "县融媒体中心", "县文化馆", "县文化和旅游局"],
    "纪检监察": ["县纪委监委派驻第一纪检监察组", "县纪委监委第二审查调查室", "县委巡察办", "石桥镇纪委"],
    "政法": ["县公安局", "县人民法院", "县人民检察院", "县司法局", "县信访局"],
    "经济发展": ["县发展和改革局", "县工业和信息化局", "县经济开发区管委会", "县商务局", "县统计局"],
    "社会事业": ["县民政局", "县医疗保障局", "县退役军人事务局", "县人社局"],
    "农业农村": ["县农业农村局", "县乡村振兴服务中心", "县水利局", "柳河乡", "青山镇"],
    "城乡建设": ["县住房和城乡建设局", "县自然资源局", "县城市管理局", "县交通运输局"],
    "生态环境": ["县生态环境分局", "县林业局", "县水利局", "石桥镇"],
    "统战": ["县委统战部", "县工商联", "县民族宗教事务局", "县侨联"],
}
TOWNSHIP_PLACES = {
    "组织人事": ["党政综合办公室", "{v}党支部", "{v}党总支"],
    "宣传思想": ["综合文化站", "新时代文明实践所", "{v}新时代文明实践站"],
    "纪检监察": ["镇纪委", "{v}村务监督委员会"],
    "政法": ["综治中心", "司法所", "{v}网格服务站"],
    "经济发展": ["经济发展办公室", "{v}股份经济合作社", "集镇商贸区"],
    "社会事业": ["社会事务办公室", "中心小学", "卫生院", "{v}养老服务站"],
    "农业农村": ["农业综合服务中心", "{v}", "乡村振兴工作站"],
    "城乡建设": ["村镇建设办公室", "{v}", "集镇改造项目"],
    "生态环境": ["生态环境办公室", "{v}", "河长制办公室"],
    "统战": ["统战办公室", "{v}"],
}
DEPT_PLACES = {
    "基础教育": ["县第一中学", "县第二中学", "城关镇中心小学", "青山镇中学", "县实验小学"],
    "招生考试": ["县招生考试中心", "县第一中学考点"],
    "人事师资": ["人事股", "县教师发展中心"],
    "机关党建": ["机关党支部", "机关各股室"],
    "财务审计": ["计划财务股", "县教育会计核算中心", "县第一中学"],
    "校园安全": ["县第二中学", "石桥镇中心小学", "县职业教育中心"],
    "职业教育": ["县职业教育中心"],
    "学前教育": ["县第一幼儿园", "城关镇中心幼儿园"],
    "教育督导": ["县教育督导室", "柳河乡中心学校"],
    "教研教改": ["县教师发展中心", "县实验小学"],
    "人口家庭": ["人口监测与家庭发展股", "县妇幼保健院"],
    "医政医管": ["县人民医院", "县中医院"],
    "中医药": ["县中医院", "城关镇社区卫生服务中心"],
    "公共卫生": ["县疾病预防控制中心", "城关镇卫生院"],
    "疾病预防控制": ["县疾病预防控制中心", "青山镇卫生院"],
    "基层卫生": ["青山镇卫生院", "柳河乡卫生院", "石桥镇卫生院"],
    "基建项目": ["县人民医院新院区建设项目", "县中医院住院楼改造项目"],
    "公立医院党建": ["县人民医院党委", "县中医院党委"],
    "卫生监督": ["县卫生健康综合监督执法局"],
    "财政监督": ["财政监督股"],
    "预算管理": ["预算股", "县直预算单位"],
    "债务管理": ["债务管理股", "县城市建设投资有限公司"],
    "国库支付": ["国库股", "县财政国库支付中心"],
    "政府采购": ["政府采购股", "县公共资源交易中心"],
    "国有资产管理": ["资产管理股", "县国有资本投资运营有限公司"],
    "农业农村财务": ["农业农村股", "柳河乡财政所", "青山镇财政所"],
    "会计管理": ["会计股", "县会计核算中心"],
    "非税收入": ["综合股", "县非税收入管理局"],
}
CHECKS = [
    "主体责任清单和“一岗双责”落实情况",
    "廉政风险点排查及防控措施落实情况",
    "中央八项规定精神落实情况",
    "上次督导发现问题整改情况",
    "“三重一大”事项集体决策执行情况",
    "作风建设和群众身边不正之风整治情况",
]
GUIDES = [
    "指导完善廉政风险防控台账",
    "指导修订内部管理制度、堵塞管理漏洞",
    "帮助研究解决责任落实中的具体问题",
    "指导抓好督查反馈问题整改",
    "指导规范“三重一大”事项议事程序",
]
REMINDS = [
    "工作推进不力、作风不实问题",
    "群众反映的办事拖沓问题",
    "资金管理不规范问题",
    "督导中发现的苗头性、倾向性问题",
    "整改进度滞后问题",
    "落实中央八项规定精神不到位问题",
]


def place(oid: str, area: str) -> str:
    if oid == "county":
        return rng.choice(COUNTY_PLACES[area])
    if ORG[oid]["kind"] == "township":
        return rng.choice(TOWNSHIP_PLACES[area]).format(v=rng.choice(VILLAGES[oid]))
    return rng.choice(DEPT_PLACES[area])


for org in ORGS:
    oid = org["id"]
    for person, post in posts_of(oid):
        if post.role == SECRETARY:
            continue
        lo, hi = post.in_year()
        for area in post.portfolios:
            for half in (H1, H2):
                span = clip(lo, hi, *half)
                if span is None:
                    continue
                if (person, area, "dingqi_dudao", half) in YG_GAPS:
                    continue  # GAP: no supervision visit in this area in this half-year
                for _ in range(1 + (rng.random() < 0.5)):
                    day = pick(*span)
                    check = rng.choice(CHECKS)
                    if D(2024, 4, 15) <= day <= D(2024, 7, 31) and rng.random() < 0.4:
                        check = "党纪学习教育开展情况"
                    add(
                        oid,
                        "dingqi_dudao",
                        day,
                        person,
                        portfolio=area,
                        text=f"赴{place(oid, area)}开展{area}领域全面从严治党定期督导，检查{check}",
                    )
            for _ in range(1 + (rng.random() < 0.4)):
                if (person, area, "geibie_zhidao", None) in YG_GAPS:
                    break  # GAP: no individual guidance in this area all year
                day = pick(lo, hi)
                add(
                    oid,
                    "geibie_zhidao",
                    day,
                    person,
                    portfolio=area,
                    text=f"对{place(oid, area)}{area}工作开展个别指导，{rng.choice(GUIDES)}",
                )
            if (person, area, "yuetan_tixing", None) in YG_GAPS:
                continue  # GAP: never a reminder talk in this area
            for _ in range(1 + (rng.random() < 0.25)):
                day = pick(lo, hi)
                add(
                    oid,
                    "yuetan_tixing",
                    day,
                    person,
                    portfolio=area,
                    text=f"就{rng.choice(REMINDS)}约谈提醒{place(oid, area)}负责同志（{area}领域）",
                )

# ---- 5. Democratic life meetings (minzhu_shenghuohui) -----------------------------------------

for oid, day in MZ_DATES.items():
    members = [p for p, _ in team(oid, day)]
    due = len(members)
    if oid == MZ_LOW_ORG:
        # GAP: 5 of 8 present (5/8 = 0.625 < 2/3); the secretary chairs, three members absent.
        keep = [members[0], *rng.sample(members[1:], 4)]
        attended = [p for p in members if p in keep]
    elif oid == "edu-pg":
        absent = rng.choice(members[1:])
        attended = [p for p in members if p is not absent]  # 6 of 7
    else:
        attended = members
    add(
        oid,
        "minzhu_shenghuohui",
        day,
        members[0],
        attended,
        text=f"召开2023年度民主生活会，围绕学习贯彻习近平新时代中国特色社会主义思想主题教育成果开展批评和自我批评"
        f"（应到{due}人，实到{len(attended)}人）",
    )

# ---- 6. Inspection feedback and rectification reports (ducha_fankui / zhenggai_baogao) --------

# (org, feedback day or window, days until the report or None for no report in 2024)
DUCHA: list[tuple[str, D | tuple[D, D], int | None]] = [
    ("county", (D(2024, 4, 15), D(2024, 4, 26)), 21),
    ("county", (D(2024, 9, 2), D(2024, 9, 13)), 26),
    ("edu-pg", (D(2024, 3, 18), D(2024, 3, 29)), 18),
    (DC_OPEN_ORG, DC_OPEN_FEEDBACK, None),  # 30 days run past year-end
    ("health-pg", (D(2024, 6, 3), D(2024, 6, 14)), 24),
    ("finance-pg", (D(2024, 9, 23), D(2024, 9, 27)), 15),
    (DC_LATE_ORG, DC_LATE_FEEDBACK, DC_LATE_DAYS),  # late: 42 days
    ("twn-chengguan", (D(2024, 10, 14), D(2024, 10, 25)), 22),
    ("twn-qingshan", (D(2024, 4, 8), D(2024, 4, 19)), 20),
    ("twn-qingshan", (D(2024, 8, 19), D(2024, 8, 30)), 27),
    ("twn-liuhe", (D(2024, 6, 17), D(2024, 6, 21)), 25),
    ("twn-shiqiao", (D(2024, 11, 4), D(2024, 11, 15)), 19),
]

for oid, when, delay in DUCHA:
    day = when if isinstance(when, D) else pick(*when)
    sec = secretary(oid, day)
    n_problems = rng.randint(3, 9)
    if oid == "county":
        add(
            oid,
            "ducha_fankui",
            day,
            None,
            [p for p, _ in team(oid, day)][:3],
            tags=[],
            text=f"市委督查组反馈全面从严治党主体责任落实情况专项督查意见，指出{n_problems}方面问题，要求30日内报告整改情况",
        )
    else:
        add(
            oid,
            "ducha_fankui",
            day,
            COUNTY_OFFICE,
            [sec],
            tags=["四不两直"],
            text=f"县委督查室采取“四不两直”方式开展督查，反馈{n_problems}方面问题，要求30日内报告整改情况",
        )
    if delay is None:
        continue
    report_day = day + dt.timedelta(days=delay)
    if (oid, when) == (DC_LATE_ORG, DC_LATE_FEEDBACK):
        assert workday(report_day)  # the late report keeps its exact delay
    while not workday(report_day):
        report_day -= dt.timedelta(days=1)
    rsec = secretary(oid, report_day)
    to = "市委" if oid == "county" else "县委"
    add(
        oid,
        "zhenggai_baogao",
        report_day,
        rsec,
        [],
        text=f"向{to}报送{cn_date(day)}督查反馈问题整改情况报告，{n_problems}项问题已完成整改{rng.randint(max(1, n_problems - 3), n_problems)}项",
    )

# ---- 7. Responsibility-and-integrity reports (shuze_shulian, JD-01) ---------------------------
# Each leading team holds its 述责述廉 at an enlarged meeting in December; everyone who reports is a
# participant. The mover reported at Qingshan before leaving (June) and at the county in December.

JD_DAYS: dict[str, D] = {}
for org in ORGS:
    oid = org["id"]
    day = pick(D(2024, 12, 2), D(2024, 12, 27))
    JD_DAYS[oid] = day
    reporters = [p for p, _ in team(oid, day) if p is not JD_GAP]  # GAP: one county member absent
    add(
        oid,
        "shuze_shulian",
        day,
        secretary(oid, day),
        reporters,
        text=f"召开{org['body']}（扩大会议），领导班子成员{len(reporters)}人逐一述责述廉并接受评议",
    )
MOVER_JD_DAY = pick(D(2024, 6, 17), D(2024, 6, 28))
add(
    "twn-qingshan",
    "shuze_shulian",
    MOVER_JD_DAY,
    MOVER,
    [],
    text=f"镇党委扩大会议：党委书记{MOVER.name}离任前述责述廉并接受评议",
)

# ---- 8. Secretaries' reports on grassroots Party building (shuzhi_pingyi, SZPY-01) ------------
# The county secretary reports to the city committee; department and township secretaries report at
# the county committee's evaluation meeting (chaired by the county secretary). Recorded under the
# reporting secretary's organisation.

SZPY_COUNTY_DAY = pick(D(2024, 1, 15), D(2024, 1, 31))
add(
    "county",
    "shuzhi_pingyi",
    SZPY_COUNTY_DAY,
    None,
    [COUNTY_SEC],
    text=f"县委书记{COUNTY_SEC.name}在市委2023年度抓基层党建工作述职评议会上述职，接受评议考核",
)
SZPY_DAY = pick(D(2024, 2, 19), D(2024, 2, 29))
SZPY_STAND_IN = SEAT_HOLDER[("edu-pg", 1)]
for org in ORGS[1:]:
    oid = org["id"]
    sec = secretary(oid, SZPY_DAY)
    if sec is SZPY_GAP:  # GAP: a member reported in the secretary's place; does not count
        add(
            oid,
            "shuzhi_pingyi",
            SZPY_DAY,
            COUNTY_SEC,
            [SZPY_STAND_IN],
            text=f"县委2023年度抓基层党建工作述职评议会：党组书记外出，委托{SZPY_STAND_IN.name}代为书面述职",
        )
        continue
    add(
        oid,
        "shuzhi_pingyi",
        SZPY_DAY,
        COUNTY_SEC,
        [sec],
        text=f"{sec.name}在县委2023年度抓基层党建工作述职评议会上述职，接受评议考核",
    )
# (青山镇新任书记 SZPY_WAIVED 2024 年内无述职：豁免，见 waivers.yaml)

# ---- 9. Party lectures (jiang_dangke, ZB-01) ---------------------------------------------------

LECTURES = [
    "讲党纪学习教育专题党课：学纪、知纪、明纪、守纪",
    "讲专题党课：学习贯彻党的二十届三中全会精神",
    "讲专题党课：以严的基调强化正风肃纪",
    "讲专题党课：发扬斗争精神，推动全面从严治党向基层延伸",
]
for org in ORGS:
    oid = org["id"]
    for sec, post in posts_of(oid):
        if post.role != SECRETARY:
            continue
        lo, hi = post.in_year()
        span = clip(lo, hi, D(2024, 4, 15), D(2024, 7, 31)) or (max(lo, D(2024, 9, 2)), min(hi, D(2024, 11, 29)))
        if sec is MOVER:
            span = (D(2024, 4, 15), D(2024, 6, 21))
        day = pick(*span)
        lecturer = SHIQIAO_DEPUTY if sec is ZB_GAP else sec  # GAP: the deputy lectured, not the secretary
        add(
            oid,
            "jiang_dangke",
            day,
            lecturer,
            present(oid, day),
            text=f"{lecturer.name}为{org['sys']}党员干部{rng.choice(LECTURES)}",
        )

# ---- 10. Sessions dedicated to ideological work (yishixingtai_zhuanti, YS-01) ------------------

IDEOLOGY_TOPICS = [
    "分析研判意识形态领域形势，部署网络意识形态工作",
    "听取意识形态工作责任制落实情况汇报",
    "研究部署理论学习中心组学习和宣传思想文化工作",
    "研究意识形态阵地管理和舆情应对工作",
]
for org in ORGS:
    oid = org["id"]
    for half in (H1, H2):
        if (oid, half) == YS_GAP:
            continue  # GAP: no session dedicated to ideological work in this half-year
        lo, hi = (D(2024, 3, 4), D(2024, 6, 21)) if half is H1 else (D(2024, 7, 15), D(2024, 12, 20))
        day = pick(lo, hi)
        add(
            oid,
            "yishixingtai_zhuanti",
            day,
            secretary(oid, day),
            present(oid, day),
            text=f"{org['body']}专题研究意识形态工作：{rng.choice(IDEOLOGY_TOPICS)}",
        )

# ---- 11. Dual organisational life (shuangchong_zuzhi_shenghuo, SH-01) --------------------------
# Every leading cadre, every quarter in post, takes part in their own branch's organisational life as
# an ordinary member. Recorded under the leading team's organisation; the branch is in the text.

QUARTERS = [
    (D(2024, 1, 1), D(2024, 3, 31)),
    (D(2024, 4, 1), D(2024, 6, 30)),
    (D(2024, 7, 1), D(2024, 9, 30)),
    (D(2024, 10, 1), D(2024, 12, 31)),
]
COUNTY_BRANCHES = [
    ("县委书记", "县委办公室机关第一党支部"),
    ("县长", "县政府办公室机关第一党支部"),
    ("县委副书记", "县委办公室机关第一党支部"),
    ("纪委", "县纪委监委机关第一党支部"),
    ("组织部", "县委组织部机关党支部"),
    ("宣传部", "县委宣传部机关党支部"),
    ("政法委", "县委政法委机关党支部"),
    ("统战部", "县委统战部机关党支部"),
    ("县委办公室主任", "县委办公室机关第二党支部"),
    ("副县长", "县政府办公室机关第二党支部"),
]
ACTIVITIES = ["主题党日活动", "支部党员大会", "党小组会", "支部集中学习", "组织生活会"]


def branch_of(person: Person, post: Post) -> str:
    oid = post.org
    if oid == "county":
        return next(branch for key, branch in COUNTY_BRANCHES if key in post.title)
    name = ORG[oid]["name"]
    if ORG[oid]["kind"] == "township":
        if post.role != MEMBER:
            return f"{name[:3]}机关党支部"
        return f"{VILLAGES[oid][int(person.id[1:]) % len(VILLAGES[oid])]}党支部（联系村）"
    unit = name.removesuffix("党组")
    return f"{unit}机关第{'一' if post.role != MEMBER or int(person.id[1:]) % 2 else '二'}党支部"


for org in ORGS:
    oid = org["id"]
    for person, post in posts_of(oid):
        lo, hi = post.in_year()
        for q_index, quarter in enumerate(QUARTERS, start=1):
            span = clip(lo, hi, *quarter)
            if span is None:
                continue
            if (person, q_index) == SH01_GAP:
                continue  # GAP: no dual organisational life this quarter
            day = pick(*span)
            activity = "组织生活会" if q_index == 1 else rng.choice(ACTIVITIES)
            add(
                oid,
                "shuangchong_zuzhi_shenghuo",
                day,
                None,
                [person],
                text=f"{person.name}以普通党员身份参加{branch_of(person, post)}{activity}",
            )

# ---- 12. Talks between team members other than the secretary (tanxin_tanhua, SH-02) ------------
# Every two deputies / members talk at least once a year. Part of that is already in section 3 (the
# random member talks); the pairs not yet covered get a talk here. Pairs that overlap fewer than 60
# days are not judged and get none.

for org in ORGS:
    oid = org["id"]
    others = [(p, post) for p, post in posts_of(oid) if post.role != SECRETARY]
    talked: list[tuple[str, str, str]] = []
    for rec in RECORDS:
        if rec["org"] == oid and rec["type"] == "tanxin_tanhua":
            people = [rec["chair"], *rec["participants"]]
            talked.extend((a, b, rec["date"]) for a in people for b in people if a != b)
    for i, (a, ap) in enumerate(others):
        for b, bp in others[i + 1 :]:
            overlap = clip(*ap.in_year(), *bp.in_year())
            if overlap is None or (overlap[1] - overlap[0]).days + 1 < 60:
                continue
            if {a.id, b.id} == {p.id for p in SH02_GAP}:
                continue  # GAP: these two never talk
            lo, hi = overlap[0].isoformat(), overlap[1].isoformat()
            if any(x == a.id and y == b.id and lo <= day <= hi for x, y, day in talked):
                continue
            talk(oid, a, b, pick(*overlap))

# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------

TYPE_ORDER = [
    "zhuanti_huiyi",
    "minzhu_shenghuohui",
    "qinzi_lvze",
    "ducha_fankui",
    "zhenggai_baogao",
    "tanxin_tanhua",
    "dingqi_dudao",
    "geibie_zhidao",
    "yuetan_tixing",
    "shuze_shulian",
    "shuzhi_pingyi",
    "jiang_dangke",
    "yishixingtai_zhuanti",
    "shuangchong_zuzhi_shenghuo",
]

RECORDS.sort(
    key=lambda r: (
        r["date"],
        ORG_INDEX[r["org"]],
        TYPE_ORDER.index(r["type"]),
        r["chair"] or "",
        r["portfolio"] or "",
        r["text"],
        r["participants"],
    )
)
OUT: list[dict] = []
for index, rec in enumerate(RECORDS, start=1):
    OUT.append({"id": f"R{index:04d}", **rec})

# The malformed line: an H2 dedicated meeting of 石桥镇 whose date cannot exist.
BAD_ID = f"R{len(OUT) + 1:04d}"
bad_team = [p for p, _ in team("twn-shiqiao", D(2024, 12, 5))]
OUT.append(
    {
        "id": BAD_ID,
        "org": "twn-shiqiao",
        "type": "zhuanti_huiyi",
        "date": BAD_DATE,
        "chair": SHIQIAO_SEC.id,
        "participants": [p.id for p in bad_team if p is not SHIQIAO_SEC],
        "portfolio": None,
        "tags": [],
        "text": "镇党委会议专题研究全面从严治党工作：" + topic_for(D(2024, 12, 5)),
    }
)


def yaml_scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, D):
        return value.isoformat()
    return str(value)


def write_roster(path: Path) -> None:
    lines = [
        "# 某某县 2024 年度领导班子名册（虚构示例，由 generate.py 生成，请勿手工修改）",
        "# Roster of a fictional county, 2024 (generated by generate.py; do not edit by hand).",
        "# 注释中的职务仅供阅读 / job titles in comments are for readers only.",
        "organisations:",
    ]
    for org in ORGS:
        lines.append(
            f"  - {{id: {org['id']}, name: {org['name']}, kind: {org['kind']}, level: {org['level']}, "
            f"parent: {yaml_scalar(org['parent'])}}}"
        )
    lines.append("people:")
    for person in PEOPLE:
        titles = "；".join(
            f"{ORG[post.org]['name']} {post.title}"
            + (f"（{post.start.isoformat()}起）" if post.start.year == YEAR else "")
            + (f"（至{post.end.isoformat()}）" if post.end else "")
            for post in person.posts
        )
        lines.append(f"  - id: {person.id}  # {titles}")
        lines.append(f"    name: {person.name}")
        lines.append("    posts:")
        for post in person.posts:
            lines.append(
                f"      - {{org: {post.org}, role: {post.role}, portfolios: [{', '.join(post.portfolios)}], "
                f"start: {yaml_scalar(post.start)}, end: {yaml_scalar(post.end)}}}"
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_records(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for rec in OUT:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


WAIVER_IN_FORCE = {
    "id": "MX-2024-001",
    "rule": "SZPY-01",
    "org": "twn-qingshan",
    "subject": SZPY_WAIVED.id,
    "from": MOVE_START,
    "to": YEAR_END,
    "justification": f"{SZPY_WAIVED.name}于2024-07-01任青山镇党委书记；该镇2023年度抓基层党建述职评议已由前任书记于2024年2月完成，本人首次述职安排在2025年1月县委述职评议会",
    "approved_by": "中共某某县委组织部",
    "approved_on": D(2024, 7, 15),
    "expires": D(2025, 6, 30),
}
WAIVER_EXPIRED = {
    "id": "MX-2024-002",
    "rule": "JD-01",
    "org": "county",
    "subject": JD_GAP.id,
    "from": YEAR_START,
    "to": YEAR_END,
    "justification": f"{JD_GAP.name}参加省委党校秋季主体班，缺席12月县委常委会扩大会议，批准于2024年12月31日前另行书面述责述廉",
    "approved_by": "中共某某县委",
    "approved_on": D(2024, 12, 10),
    "expires": YEAR_END,
}


def write_waivers(path: Path) -> None:
    lines = [
        "# 某某县 2024 年度豁免清单（虚构示例，由 generate.py 生成，请勿手工修改）",
        "# Waivers of the fictional county, 2024 (generated by generate.py; do not edit by hand).",
        "# 格式见 src/rules_engine/model/waivers.py。评估：rules-engine evaluate ... --waivers 本文件，",
        "# 或 Python rules_engine.evaluate(..., waivers=[本文件])。",
        "# MX-2024-001 有效：SZPY-01 的“未履行”变为“已豁免”(waived)。",
        "# MX-2024-002 已于 2024-12-31 失效（评价日 2025-01-15）：不起作用，结论仍为“未履行”，并注明 expired: true。",
        "waivers:",
    ]
    for waiver, note in (
        (WAIVER_IN_FORCE, "在有效期内 / in force on 2025-01-15"),
        (WAIVER_EXPIRED, "已失效、未补述 / expired, and no report was made"),
    ):
        lines.append(f"  # {note}")
        first = True
        for key, value in waiver.items():
            lines.append(f"  {'- ' if first else '  '}{key}: {yaml_scalar(value)}")
            first = False
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def who(person: Person) -> str:
    return f"{person.id} {person.name}"


def record_ids(pred) -> list[str]:
    return [r["id"] for r in OUT if pred(r)]


def write_gaps(path: Path) -> None:
    def ids(pred) -> str:
        return ", ".join(record_ids(pred))

    fin_h1 = ids(lambda r: r["org"] == "finance-pg" and r["type"] == "zhuanti_huiyi" and r["date"] < "2024-07-01")
    mz_low = record_ids(lambda r: r["org"] == MZ_LOW_ORG and r["type"] == "minzhu_shenghuohui")
    late_fb = ids(
        lambda r: r["org"] == DC_LATE_ORG and r["type"] == "ducha_fankui" and r["date"] == DC_LATE_FEEDBACK.isoformat()
    )
    late_rep = ids(
        lambda r: (
            r["org"] == DC_LATE_ORG
            and r["type"] == "zhenggai_baogao"
            and r["date"] == (DC_LATE_FEEDBACK + dt.timedelta(days=DC_LATE_DAYS)).isoformat()
        )
    )
    open_fb = ids(
        lambda r: r["org"] == DC_OPEN_ORG and r["type"] == "ducha_fankui" and r["date"] == DC_OPEN_FEEDBACK.isoformat()
    )
    shiqiao_h2 = ids(
        lambda r: r["org"] == "twn-shiqiao" and r["type"] == "zhuanti_huiyi" and r["date"] == SHIQIAO_H2_DAY.isoformat()
    )
    cg_h1 = ids(lambda r: r["org"] == "twn-chengguan" and r["type"] == "zhuanti_huiyi" and r["date"] < "2024-07-01")
    liuhe_h1 = ids(lambda r: r["org"] == "twn-liuhe" and r["type"] == "zhuanti_huiyi" and r["date"] < "2024-07-01")
    jd_county = ids(lambda r: r["org"] == "county" and r["type"] == "shuze_shulian")
    jd_mover = ids(lambda r: r["type"] == "shuze_shulian" and r["date"] == MOVER_JD_DAY.isoformat())
    szpy_stand_in = ids(lambda r: r["type"] == "shuzhi_pingyi" and r["participants"] == [SZPY_STAND_IN.id])
    zb_deputy = ids(lambda r: r["type"] == "jiang_dangke" and r["chair"] == SHIQIAO_DEPUTY.id)
    mz_rec = next(r for r in OUT if r["id"] == mz_low[0])
    mz_present = 1 + len(mz_rec["participants"])
    mz_due = len(team(MZ_LOW_ORG, D.fromisoformat(mz_rec["date"])))
    nd_person, nd_area = NO_DUDAO_H2
    ny_person, ny_area = NO_YUETAN
    qs_members = [p for p, post in posts_of("twn-qingshan") if post.role != SECRETARY and p is not NEWCOMER]
    fin_team = [p for p, post in posts_of("finance-pg") if post.role != SECRETARY]
    fin_gaps = [gap for gap in YG_GAPS if gap[0] in fin_team]
    rule_of = {"dingqi_dudao": "ZZ-YG-01", "geibie_zhidao": "ZZ-YG-02", "yuetan_tixing": "ZZ-YG-03"}
    what_zh = {"dingqi_dudao": "定期督导", "geibie_zhidao": "个别指导", "yuetan_tixing": "约谈提醒"}
    what_en = {
        "dingqi_dudao": "supervision visit",
        "geibie_zhidao": "individual guidance",
        "yuetan_tixing": "reminder talk",
    }

    def when(half: tuple[D, D] | None) -> str:
        return "2024" if half is None else ("2024-H1" if half is H1 else "2024-H2")

    fin_lines_zh = "；".join(
        f"{who(p)}“{area}”{when(half)} 无{what_zh[t]}（{rule_of[t]}）" for p, area, t, half in fin_gaps
    )
    fin_lines_en = "; ".join(
        f"{who(p)}, “{area}”, no {what_en[t]} in {when(half)} ({rule_of[t]})" for p, area, t, half in fin_gaps
    )
    qinzi_new = QINZI_GAPS[1:]
    qinzi_rule = {"亲自部署": "ZZ-08-02", "亲自过问": "ZZ-08-03", "亲自协调": "ZZ-08-04", "亲自督办": "ZZ-08-05"}
    delays = []
    skip = set(
        record_ids(
            lambda r: (
                r["type"] == "ducha_fankui"
                and r["date"] in (DC_LATE_FEEDBACK.isoformat(), DC_OPEN_FEEDBACK.isoformat())
            )
        )
    )
    for fb in OUT:
        if fb["type"] != "ducha_fankui" or fb["id"] in skip:
            continue
        report = min(
            r["date"]
            for r in OUT
            if r["org"] == fb["org"] and r["type"] == "zhenggai_baogao" and r["date"] >= fb["date"]
        )
        delays.append((D.fromisoformat(report) - D.fromisoformat(fb["date"])).days)
    assert max(delays) <= 30
    newcomer_days = (YEAR_END - NEWCOMER_START).days + 1

    text = f"""# county-2024 示例中的预设缺口 / Deliberate gaps in the county-2024 example

由 `generate.py` 生成（随机种子 2024），请勿手工修改。所有单位、人名均为虚构。
Generated by `generate.py` (seed 2024); do not edit by hand. All units and names are fictional.

评估期间按 2024 年全年、评估日 2025-01-15 理解，规则为 `rules/` 下全部规则包（含虚构的县实施细则覆盖包
`mouxian-shishi-2024`：四个乡镇 ZZ-DW-01 每半年至少 2 次、停用 ZZ-YG-03），豁免文件为 `waivers.yaml`。
除下列各项外，其余规则对所有对象应为“已履行”（或因在岗不足规定天数而“不适用/不评判”）。
Evaluate for the period 2024 as of 2025-01-15 with every pack under `rules/` (including the fictional
county overlay `mouxian-shishi-2024`: in the four townships ZZ-DW-01 needs 2 per half-year and ZZ-YG-03
is retired) and the waivers in `waivers.yaml`. Apart from the items below, every rule should be
fulfilled for every subject (or not judged where the subject was in post too briefly).

## 缺口清单 / Gaps

1. **ZZ-DW-01、ZZ-08-01 — 柳河乡党委 twn-liuhe，书记 {who(LIUHE_SEC)}，2024-H2**
   - 下半年未召开全面从严治党专题会议（上半年两次：{liuhe_h1}，最后一次在 2024-06-28）。预期：ZZ-DW-01（组织，2024-H2，县实施细则要求 2 次）未履行；ZZ-08-01（书记，2024-H2）未履行。
   - Liuhe township held no dedicated strict-governance meeting in H2 (two in H1: {liuhe_h1}, the last on 2024-06-28, still H1). Expected: ZZ-DW-01 (organisation, 2024-H2; the county overlay asks for 2) violated; ZZ-08-01 (secretary, 2024-H2) violated.

2. **ZZ-08-01 — 县财政局党组 finance-pg，书记 {who(FIN_SEC)}，2024-H1**
   - 上半年唯一一次专题会议（{fin_h1}）由党组副书记 {who(FIN_DEPUTY)} 受委托主持，书记未参会。预期：ZZ-DW-01（组织，2024-H1）已履行；ZZ-08-01（书记，2024-H1）未履行。
   - The finance bureau's only H1 dedicated meeting ({fin_h1}) was chaired by deputy secretary {who(FIN_DEPUTY)}; the secretary was absent. Expected: ZZ-DW-01 (organisation, H1) fulfilled; ZZ-08-01 (secretary, H1) violated.

3. **ZZ-08-06 — 某某县委 county，书记 {who(COUNTY_SEC)}，2024**
   - 书记全年未与 {who(NO_TALK[0])}（政法委书记）、{who(NO_TALK[1])}（统战部部长）谈心谈话；二人各有一次与县长 {who(holder("county", "县委副书记、县长"))} 的谈话，不应计入（但计入 SH-02 的成员之间谈话）。预期：ZZ-08-06 两个书记—成员对未履行。
   - The county secretary held no heart-to-heart talk with {who(NO_TALK[0])} (political-legal committee) or {who(NO_TALK[1])} (united front). Each of them had a talk with the county head, which must not count here (it does count for SH-02, talks between members). Expected: ZZ-08-06 violated for these two (secretary, member) pairs.

4. **ZZ-YG-01 — 县教育局党组 edu-pg，成员 {who(nd_person)}，分管“{nd_area}”，2024-H2**
   - 下半年未对“{nd_area}”开展定期督导（上半年有）。预期：ZZ-YG-01（{nd_area}，2024-H2）未履行，2024-H1 已履行。另见第 13 项。
   - No supervision visit in portfolio “{nd_area}” in H2 (there is one in H1). Expected: ZZ-YG-01 ({nd_area}, 2024-H2) violated; H1 fulfilled. See also item 13.

5. **ZZ-YG-03（已停用）— 城关镇党委 twn-chengguan，成员 {who(ny_person)}，分管“{ny_area}”，2024**
   - 全年未就“{ny_area}”领域开展约谈提醒（另一分管领域有）。县实施细则（覆盖包 mouxian-shishi-2024）在四个乡镇停用 ZZ-YG-03，因此该缺口不产生未履行：预期城关镇 ZZ-YG-03 为一条“不适用”（已被 mouxian-shishi-2024@1.0.0 停用）。不加载该覆盖包时为未履行。
   - No reminder talk all year in portfolio “{ny_area}” (the member's other area has one). The county's implementing rules (overlay pack mouxian-shishi-2024) retire ZZ-YG-03 in the four townships, so this gap is not a violation: expected one not_applicable ZZ-YG-03 finding for Chengguan (retired by mouxian-shishi-2024@1.0.0). Without the overlay it would be violated.

6. **MZ-01 — 县卫生健康委员会党组 health-pg，2024**
   - 民主生活会（{", ".join(mz_low)}，{mz_rec["date"]}）应到 {mz_due} 人、实到 {mz_present} 人（{mz_present}/{mz_due} < 2/3），不计为有效召开；全年无其他民主生活会。预期：MZ-01 未履行。其他单位：某某县委全到，教育局党组 6/7，财政局党组全到，均已履行。
   - The democratic life meeting ({", ".join(mz_low)}, {mz_rec["date"]}) had {mz_present} of {mz_due} present ({mz_present}/{mz_due} < 2/3), so it does not count, and there is no other. Expected: MZ-01 violated. Others: county all present, edu-pg 6/7, finance-pg all present: fulfilled.

7. **ZZ-DC-01（逾期）— 城关镇党委 twn-chengguan，书记 {who(secretary("twn-chengguan", DC_LATE_FEEDBACK))}**
   - {DC_LATE_FEEDBACK.isoformat()} 督查反馈（{late_fb}），整改报告 {(DC_LATE_FEEDBACK + dt.timedelta(days=DC_LATE_DAYS)).isoformat()} 才报送（{late_rep}，第 {DC_LATE_DAYS} 天），超过 30 日。预期：ZZ-DC-01（该反馈）未履行。
   - Feedback on {DC_LATE_FEEDBACK.isoformat()} ({late_fb}); the report came on day {DC_LATE_DAYS} ({late_rep}), past the 30 days. Expected: ZZ-DC-01 for that trigger violated.

8. **ZZ-DC-01（期限未到）— 县教育局党组 edu-pg**
   - {DC_OPEN_FEEDBACK.isoformat()} 督查反馈（{open_fb}），30 日期限至 {(DC_OPEN_FEEDBACK + dt.timedelta(days=30)).isoformat()}，跨过年底，2024 年内无整改报告。预期：按 2025-01-15 评估为“期限未到”（pending），而非未履行。
   - Feedback on {DC_OPEN_FEEDBACK.isoformat()} ({open_fb}); its 30 days run to {(DC_OPEN_FEEDBACK + dt.timedelta(days=30)).isoformat()}, past year-end, and there is no report in 2024. Expected as of 2025-01-15: pending, not violated.

9. **ZZ-08-05 — 县卫生健康委员会党组 health-pg，书记 {who(HEALTH_SEC)}，2024**
   - 书记全年有“亲自部署/亲自过问/亲自协调”记录，无“亲自督办”记录。预期：ZZ-08-05 未履行；ZZ-08-02/03/04 已履行。
   - The secretary has 亲自部署/亲自过问/亲自协调 records but none tagged 亲自督办. Expected: ZZ-08-05 violated; ZZ-08-02/03/04 fulfilled.

10. **格式错误记录 / malformed record — 石桥镇党委 twn-shiqiao，书记 {who(SHIQIAO_SEC)}，2024-H2**
    - {BAD_ID}（records.jsonl 最后一行）为书记主持的专题会议记录，日期为不存在的 “{BAD_DATE}”。该镇下半年另有一次有效的专题会议（{shiqiao_h2}，书记外出，由副书记 {who(SHIQIAO_DEPUTY)} 主持）。县实施细则要求乡镇每半年 2 次：有效的只有 1 次，第 2 次是否存在取决于这条坏记录；书记本人主持的也只有这条坏记录。预期：该行被报告为数据错误；ZZ-DW-01（组织，2024-H2）与 ZZ-08-01（书记，2024-H2）为“无法判定”（undeterminable），而非未履行；2024-H1 已履行。
    - {BAD_ID} (the last line of records.jsonl) is a dedicated meeting chaired by the secretary and dated “{BAD_DATE}”, which cannot exist. The township has one valid H2 meeting ({shiqiao_h2}, chaired by deputy secretary {who(SHIQIAO_DEPUTY)} while the secretary was away). The county overlay asks for 2 per half-year: one is valid, and whether there was a second depends on the bad line; it is also the only one the secretary chaired. Expected: the line is reported as a data error; ZZ-DW-01 (organisation, 2024-H2) and ZZ-08-01 (secretary, 2024-H2) undeterminable, not violated; H1 fulfilled.

11. **ZZ-08-02/03/04 — 书记“四个亲自”缺项 / a secretary missing one in-person duty, 2024**
{chr(10).join(f"    - {qinzi_rule[tag]}：{ORG[p.posts[0].org]['name']} {p.posts[0].org}，书记 {who(p)}，全年无“{tag}”记录，其余三项均有。预期：{qinzi_rule[tag]} 未履行。" for p, tag in qinzi_new)}
{chr(10).join(f"    - {qinzi_rule[tag]}: {p.posts[0].org}, secretary {who(p)}, no record tagged {tag} all year (the other three are there). Expected: {qinzi_rule[tag]} violated." for p, tag in qinzi_new)}

12. **ZZ-YG-01/02/03 → ZZ-ESC-02 — 县财政局党组 finance-pg，2024**
    - 书记 {who(FIN_SEC)} 有未履行（第 2、11 项），班子其他 {len(fin_team)} 名成员中 {len(fin_gaps)} 人各有一个分管领域缺项：{fin_lines_zh}。预期：以上各项未履行；ZZ-ESC-02（组织）升级（violated）：书记本人有未履行且 {len(fin_gaps)}/{len(fin_team)} ≥ 1/2。每人只有一个领域缺项，ZZ-ESC-01 均不升级。
    - The secretary {who(FIN_SEC)} has violations (items 2 and 11), and {len(fin_gaps)} of the {len(fin_team)} other team members each miss one portfolio duty: {fin_lines_en}. Expected: each of these violated; ZZ-ESC-02 (organisation) raised (violated): the secretary has a violation and {len(fin_gaps)}/{len(fin_team)} ≥ 1/2. Nobody misses more than one area, so ZZ-ESC-01 is not raised for any of them.

13. **ZZ-YG-02 → ZZ-ESC-01 — 县教育局党组 edu-pg，成员 {who(nd_person)}，2024**
    - 该成员的另一分管领域“校园安全”全年无个别指导。连同第 4 项，他在 2 个分管领域有未履行。预期：ZZ-YG-02（校园安全，2024）未履行；ZZ-ESC-01（该成员）升级（violated）。教育局党组只有他 1 人（共 6 人）有未履行，ZZ-ESC-02 不升级。
    - The member's other area “校园安全” has no individual guidance all year. With item 4 he has violations in 2 portfolio areas. Expected: ZZ-YG-02 (校园安全, 2024) violated; ZZ-ESC-01 (this member) raised (violated). He is the only one of the 6 other edu-pg members with a violation, so ZZ-ESC-02 is not raised there.

14. **ZZ-DW-01（县实施细则）— 城关镇党委 twn-chengguan，2024-H1**
    - 上半年只召开 1 次专题会议（{cg_h1}）。全国规则包要求每半年 1 次，县实施细则（mouxian-shishi-2024）要求乡镇 2 次。预期：ZZ-DW-01（2024-H1）未履行，结论的 params.at_least 为 {{value: 2, set_by: mouxian-shishi-2024@1.0.0}}；ZZ-08-01（书记，H1）已履行。县委、县直部门每半年只开 1 次的仍按全国规则（set_by zhuti-zeren-2020@1.0.0）为已履行。
    - Only one dedicated meeting in H1 ({cg_h1}). The national pack asks for 1 per half-year, the county's implementing rules (mouxian-shishi-2024) for 2 in townships. Expected: ZZ-DW-01 (2024-H1) violated, with params.at_least = {{value: 2, set_by: mouxian-shishi-2024@1.0.0}}; ZZ-08-01 (secretary, H1) fulfilled. Departments with a single meeting in a half-year are still fulfilled under the national value (set_by zhuti-zeren-2020@1.0.0).

15. **JD-01（豁免已失效）— 某某县委 county，成员 {who(JD_GAP)}，2024**
    - 12 月县委常委会扩大会议述责述廉（{jd_county}）时缺席，未另行述责述廉。豁免 {WAIVER_EXPIRED["id"]}（批准于 2024-12-31 前补述）已于 {WAIVER_EXPIRED["expires"].isoformat()} 失效。预期：JD-01 未履行，结论附该豁免且 expired: true。
    - Absent from the county's enlarged meeting for responsibility-and-integrity reports in December ({jd_county}) and no report later. Waiver {WAIVER_EXPIRED["id"]} (report by 2024-12-31) expired on {WAIVER_EXPIRED["expires"].isoformat()}. Expected: JD-01 violated, with the waiver attached and expired: true.

16. **SZPY-01 — 县教育局党组 edu-pg，书记 {who(SZPY_GAP)}，2024**
    - 县委述职评议会上由党组成员 {who(SZPY_STAND_IN)} 代为书面述职（{szpy_stand_in}），书记本人未述职。预期：SZPY-01 未履行；该记录列于 rejected（责任人本人不在参加人员中）。
    - At the county's evaluation meeting member {who(SZPY_STAND_IN)} reported in the secretary's place ({szpy_stand_in}). Expected: SZPY-01 violated; that record is listed under rejected (the subject is not among the participants).

17. **SZPY-01（已豁免）— 青山镇党委 twn-qingshan，书记 {who(SZPY_WAIVED)}，2024**
    - 2024-07-01 到任，2024 年内没有述职评议记录（该镇 2 月的述职由前任书记完成）。豁免 {WAIVER_IN_FORCE["id"]}（{WAIVER_IN_FORCE["approved_by"]}批准，{WAIVER_IN_FORCE["expires"].isoformat()} 前有效）。预期：SZPY-01 为“已豁免”（waived），不加豁免时为未履行。
    - In office from 2024-07-01, no report in 2024 (the township's February report was the predecessor's). Waiver {WAIVER_IN_FORCE["id"]} (approved by {WAIVER_IN_FORCE["approved_by"]}, valid until {WAIVER_IN_FORCE["expires"].isoformat()}). Expected: SZPY-01 waived; violated without the waiver.

18. **ZB-01 — 石桥镇党委 twn-shiqiao，书记 {who(ZB_GAP)}，2024**
    - 该镇唯一的党课（{zb_deputy}）由副书记 {who(SHIQIAO_DEPUTY)} 主讲。预期：ZB-01 未履行；该记录列于 rejected（主讲人不是书记本人）。
    - The township's only Party lecture ({zb_deputy}) was given by deputy secretary {who(SHIQIAO_DEPUTY)}. Expected: ZB-01 violated; that record is listed under rejected (chaired by someone other than the subject).

19. **YS-01 — 县卫生健康委员会党组 health-pg，2024-H2**
    - 下半年未专题研究意识形态工作（上半年有）。预期：YS-01（2024-H2）未履行，2024-H1 已履行。
    - No session dedicated to ideological work in H2 (there is one in H1). Expected: YS-01 (2024-H2) violated; H1 fulfilled.

20. **SH-01 — 某某县委 county，成员 {who(SH01_GAP[0])}，2024-Q{SH01_GAP[1]}**
    - 第三季度未以普通党员身份参加所在党支部组织生活（其余三个季度均有）。预期：SH-01（2024-Q{SH01_GAP[1]}）未履行。
    - No dual organisational life in Q{SH01_GAP[1]} (the other three quarters are there). Expected: SH-01 (2024-Q{SH01_GAP[1]}) violated.

21. **SH-02 — 石桥镇党委 twn-shiqiao，{who(SH02_GAP[0])} 与 {who(SH02_GAP[1])}，2024**
    - 两名副书记之间全年无谈心谈话（各自与其他成员均有）。预期：SH-02 该对未履行。
    - The two deputy secretaries never talked all year (each talked with every other member). Expected: SH-02 violated for this pair.

## 边界情形（非缺口）/ Boundary cases (not gaps)

- **年中调整 / mid-year move — {who(MOVER)}**：2024-01-01 至 2024-06-30 任青山镇党委书记，2024-07-01 起任县委常委、副县长（分管{"、".join(MOVER_COUNTY_SEAT[2])}）。
  青山镇书记职责（ZZ-08-01 H1、ZZ-08-02..05、与青山镇成员的 ZZ-08-06、SZPY-01（2 月述职）、ZB-01（6 月 21 日前讲党课）、JD-01（离任前述责述廉 {jd_mover}）、SH-01 Q1–Q2）均在上半年履行；县委成员职责（ZZ-YG-01 H2、ZZ-YG-02/03、与县委书记的 ZZ-08-06、与县委其他成员的 SH-02、JD-01（12 月县委述责述廉）、SH-01 Q3–Q4）均在下半年履行。预期全部已履行；其 2024-H1 的 ZZ-YG-01 与下半年的青山镇书记职责不评判。ZZ-ESC-01（县委成员）的评判区间是整个评价期间（升级规则不按任职期截取），同样不升级。
  Qingshan township secretary until 2024-06-30, county standing-committee member and deputy county head from 2024-07-01. Secretary duties (including SZPY-01 in February, ZB-01 before 21 June, JD-01 at a farewell report {jd_mover}, SH-01 Q1–Q2) are met in H1, member duties (including SH-02 with the other county members, JD-01 at the county's December meeting, SH-01 Q3–Q4) in H2; all expected fulfilled. Not judged: ZZ-YG-01 for H1 (not yet a member), Qingshan secretary duties in H2. ZZ-ESC-01 (county member) is judged over the whole period (escalations are not clipped to the term of office) and is not raised.
- **新任书记 / new secretary — {who(NEW_SEC)}**：2024-07-01 起任青山镇党委书记，下半年有本人主持的专题会议、四类亲自履责记录、与每名成员的谈心谈话、党课、12 月述责述廉、Q3–Q4 双重组织生活，预期 ZZ-08-01（H2）、ZZ-08-02..06、ZB-01、JD-01、SH-01 已履行；SZPY-01 已豁免（第 17 项）；ZZ-08-01（H1）不评判。
  Qingshan secretary from 2024-07-01 with own H2 meeting, all four in-person records, a talk with each member, a Party lecture, the December report and dual organisational life in Q3–Q4: expected fulfilled; SZPY-01 waived (item 17); ZZ-08-01 for H1 not judged.
- **新增成员 / new member — {who(NEWCOMER)}**：{NEWCOMER_START.isoformat()} 起任青山镇党委委员（分管统战），年内在岗 {newcomer_days} 天，少于按年计规则的 60 天：JD-01、ZZ-YG-02（统战）、与书记的 ZZ-08-06、与其他 {len(qs_members)} 名成员的 SH-02 均为“不适用”（在岗时间短于最少天数）。不少于 30 天的 SH-01（Q4）与 ZZ-YG-01（H2，统战）照常评判，均已履行。
  Qingshan member (united front) from {NEWCOMER_START.isoformat()}, {newcomer_days} days in 2024, fewer than the 60 days of the yearly rules: JD-01, ZZ-YG-02 (统战), ZZ-08-06 with the secretary and SH-02 with each of the other {len(qs_members)} members are not_applicable (too short in post). SH-01 (Q4) and ZZ-YG-01 (H2, 统战), with a 30-day minimum, are judged and fulfilled.
- **县委常委会人数 / county team size**：上半年 10 人（1 名常委职位空缺），2024-07-01 起 11 人。民主生活会（1 月）按 10 人计。
  The county standing committee has 10 members in H1 (one vacancy) and 11 from 2024-07-01; the January democratic life meeting is judged against 10.
- **青山镇成员 / Qingshan members**（{"、".join(who(p) for p in qs_members)}）：上半年与 {MOVER.name}、下半年与 {NEW_SEC.name} 各有谈心谈话，ZZ-08-06 的两组书记—成员对均应已履行。
  Each Qingshan member talked with {MOVER.name} in H1 and with {NEW_SEC.name} in H2: both sets of pairs fulfilled.
- **乡镇不适用 MZ-01 / MZ-01 not for townships**：MZ-01 的 org_kinds 不含 township，乡镇无民主生活会记录。
  MZ-01 does not cover townships; they have no democratic life meeting records.
- **ZZ-YG-03 在乡镇停用 / ZZ-YG-03 retired in townships**：覆盖包停用的规则每个乡镇只产生一条“不适用”结论（对象为组织），不逐人列出。
  A rule retired by the overlay gives one not_applicable finding per township (subject: the organisation), not one per person.
- **乡镇专题会议 / township meetings**：除第 1、10、14 项外，四个乡镇每半年均有 2 次专题会议，县实施细则下为已履行；县委每季度 1 次，县直部门每半年 1–2 次，按全国规则为已履行。
  Apart from items 1, 10 and 14, each township holds 2 dedicated meetings per half-year (fulfilled under the county overlay); the county meets every quarter and the departments 1–2 times per half-year (fulfilled under the national value).
- **升级规则不误报 / escalations not raised elsewhere**：柳河乡、城关镇、卫健委党组、县委的书记有未履行，但班子其他成员没有 ZZ-08/ZZ-YG 未履行（SH-01、JD-01 不在 ZZ-ESC-02 读取之列），ZZ-ESC-02 不升级；石桥镇书记 ZZ-08-01（H2）无法判定，但即使计为未履行也不会升级（成员中无未履行），ZZ-ESC-02 为已履行。
  Liuhe, Chengguan, health-pg and the county have secretary violations but no other member with a ZZ-08/ZZ-YG violation (SH-01 and JD-01 are not read by ZZ-ESC-02): not raised. Shiqiao's secretary has an undeterminable ZZ-08-01 (H2), but even as a violation it could not raise ZZ-ESC-02 (no member has one): fulfilled.
- **成员之间谈心谈话 / talks between members (SH-02)**：除第 21 项外，每两名副书记/成员之间全年至少一次谈心谈话（含第 3 项中县长与两名常委的谈话）；与书记的谈话不计入 SH-02。
  Apart from item 21, every two deputies / members talk at least once (including the county head's talks in item 3); talks with the secretary do not count for SH-02.
- **其余督查反馈 / other feedback**：其余 {len(delays)} 次督查反馈均在 30 日内（{min(delays)}–{max(delays)} 天）报送整改报告，同一单位两次反馈间隔超过 30 日，不会互相匹配。
  The other feedback records each get a report within 30 days ({min(delays)}–{max(delays)} days); feedback in the same organisation are more than 30 days apart, so reports cannot match the wrong trigger.
"""
    path.write_text(text, encoding="utf-8")


def check_vocabulary() -> None:
    """Fail loudly if the rule packs no longer declare what the data uses."""
    declared: list[str] = []
    for pack in sorted(RULES.glob("*/pack.yaml")):
        manifest = yaml.safe_load(pack.read_text(encoding="utf-8"))
        declared.extend(manifest.get("record_types", {}))
        if manifest["pack"]["id"] == "zhuti-zeren-2020":
            assert manifest.get("portfolio_areas") == PACK_AREAS, "portfolio_areas changed in pack.yaml"
    for rec in OUT:
        assert rec["type"] in declared, rec["type"]


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: next to this script)")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    if RULES.is_dir():
        check_vocabulary()
    write_roster(out / "roster.yaml")
    write_records(out / "records.jsonl")
    write_waivers(out / "waivers.yaml")
    write_gaps(out / "GAPS.md")
    print(f"wrote {len(PEOPLE)} people, {len(OUT)} records ({BAD_ID} malformed) to {out}")


if __name__ == "__main__":
    main()
