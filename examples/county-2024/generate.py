#!/usr/bin/env python3
"""Generate the bundled example ``examples/county-2024/``: a fictional county for the year 2024.

示例数据生成器：虚构的“某某县”2024 年度名册与履责活动记录。人名、单位均为虚构。

Writes, next to this script:

* ``roster.yaml``    organisations, people and their posts (roles, portfolio areas, terms);
* ``records.jsonl``  one activity record per line, sorted by date then id;
* ``GAPS.md``        the deliberate gaps planted in the records, and what each should trip.

Deterministic: stdlib + PyYAML only, one ``random.Random(2024)`` consumed in a fixed order, no
set iteration, no clock. Running it again rewrites the three files byte-identically.

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
        # the county meets every quarter; others at least once per half-year, sometimes twice
        held = oid == "county" or w_index in (0, 2) or rng.random() < 0.5
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
            if person is HEALTH_SEC and tag == "亲自督办":
                continue  # GAP: no 亲自督办 all year
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
        if overlap:
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
                if (person, area) == NO_DUDAO_H2 and half is H2:
                    continue  # GAP: no supervision visit in this area in H2
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
                day = pick(lo, hi)
                add(
                    oid,
                    "geibie_zhidao",
                    day,
                    person,
                    portfolio=area,
                    text=f"对{place(oid, area)}{area}工作开展个别指导，{rng.choice(GUIDES)}",
                )
            if (person, area) == NO_YUETAN:
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


def who(person: Person) -> str:
    return f"{person.id} {person.name}"


def record_ids(pred) -> list[str]:
    return [r["id"] for r in OUT if pred(r)]


def write_gaps(path: Path) -> None:
    fin_h1 = record_ids(
        lambda r: r["org"] == "finance-pg" and r["type"] == "zhuanti_huiyi" and r["date"] < "2024-07-01"
    )
    mz_low = record_ids(lambda r: r["org"] == MZ_LOW_ORG and r["type"] == "minzhu_shenghuohui")
    late_fb = record_ids(
        lambda r: r["org"] == DC_LATE_ORG and r["type"] == "ducha_fankui" and r["date"] == DC_LATE_FEEDBACK.isoformat()
    )
    late_rep = record_ids(
        lambda r: (
            r["org"] == DC_LATE_ORG
            and r["type"] == "zhenggai_baogao"
            and r["date"] == (DC_LATE_FEEDBACK + dt.timedelta(days=DC_LATE_DAYS)).isoformat()
        )
    )
    open_fb = record_ids(
        lambda r: r["org"] == DC_OPEN_ORG and r["type"] == "ducha_fankui" and r["date"] == DC_OPEN_FEEDBACK.isoformat()
    )
    mz_rec = next(r for r in OUT if r["id"] == mz_low[0])
    mz_present = 1 + len(mz_rec["participants"])
    mz_due = len(team(MZ_LOW_ORG, D.fromisoformat(mz_rec["date"])))
    nd_person, nd_area = NO_DUDAO_H2
    ny_person, ny_area = NO_YUETAN
    qs_members = [p for p, post in posts_of("twn-qingshan") if post.role != SECRETARY]
    delays = []
    for fb in OUT:
        if fb["type"] != "ducha_fankui" or fb["id"] in late_fb + open_fb:
            continue
        report = min(
            r["date"]
            for r in OUT
            if r["org"] == fb["org"] and r["type"] == "zhenggai_baogao" and r["date"] >= fb["date"]
        )
        delays.append((D.fromisoformat(report) - D.fromisoformat(fb["date"])).days)
    assert max(delays) <= 30

    text = f"""# county-2024 示例中的预设缺口 / Deliberate gaps in the county-2024 example

由 `generate.py` 生成（随机种子 2024），请勿手工修改。所有单位、人名均为虚构。
Generated by `generate.py` (seed 2024); do not edit by hand. All units and names are fictional.

评估期间按 2024 年全年、评估日 2025-01-15 理解。除下列各项外，其余规则对所有对象应为“已履行”
（或因在岗不足规定天数而“不适用/不评判”）。
Evaluate for the period 2024 as of 2025-01-15. Apart from the items below, every rule should be
fulfilled for every subject (or not judged where the subject was in post too briefly).

## 缺口清单 / Gaps

1. **ZZ-DW-01、ZZ-08-01 — 柳河乡党委 twn-liuhe，书记 {who(LIUHE_SEC)}，2024-H2**
   - 下半年未召开全面从严治党专题会议（上半年最后一次在 2024-06-28）。预期：ZZ-DW-01（组织，2024-H2）未履行；ZZ-08-01（书记，2024-H2）未履行。
   - Liuhe township held no dedicated strict-governance meeting in H2 (its last one was on 2024-06-28, still H1). Expected: ZZ-DW-01 (organisation, 2024-H2) violated; ZZ-08-01 (secretary, 2024-H2) violated.

2. **ZZ-08-01 — 县财政局党组 finance-pg，书记 {who(FIN_SEC)}，2024-H1**
   - 上半年唯一一次专题会议（{", ".join(fin_h1)}）由党组副书记 {who(FIN_DEPUTY)} 受委托主持，书记未参会。预期：ZZ-DW-01（组织，2024-H1）已履行；ZZ-08-01（书记，2024-H1）未履行。
   - The finance bureau's only H1 dedicated meeting ({", ".join(fin_h1)}) was chaired by deputy secretary {who(FIN_DEPUTY)}; the secretary was absent. Expected: ZZ-DW-01 (organisation, H1) fulfilled; ZZ-08-01 (secretary, H1) violated.

3. **ZZ-08-06 — 某某县委 county，书记 {who(COUNTY_SEC)}，2024**
   - 书记全年未与 {who(NO_TALK[0])}（政法委书记）、{who(NO_TALK[1])}（统战部部长）谈心谈话；二人各有一次与县长 {who(holder("county", "县委副书记、县长"))} 的谈话，不应计入。预期：ZZ-08-06 两个书记—成员对未履行。
   - The county secretary held no heart-to-heart talk with {who(NO_TALK[0])} (political-legal committee) or {who(NO_TALK[1])} (united front). Each of them had a talk with the county head, which must not count. Expected: ZZ-08-06 violated for these two (secretary, member) pairs.

4. **ZZ-YG-01 — 县教育局党组 edu-pg，成员 {who(nd_person)}，分管“{nd_area}”，2024-H2**
   - 下半年未对“{nd_area}”开展定期督导（上半年有；另一分管领域各半年均有）。预期：ZZ-YG-01（{nd_area}，2024-H2）未履行，2024-H1 已履行。
   - No supervision visit in portfolio “{nd_area}” in H2 (there is one in H1, and the member's other area is covered in both halves). Expected: ZZ-YG-01 ({nd_area}, 2024-H2) violated; H1 fulfilled.

5. **ZZ-YG-03 — 城关镇党委 twn-chengguan，成员 {who(ny_person)}，分管“{ny_area}”，2024**
   - 全年未就“{ny_area}”领域开展约谈提醒（另一分管领域有）。预期：ZZ-YG-03（{ny_area}，2024）未履行。
   - No reminder talk all year in portfolio “{ny_area}” (the member's other area has one). Expected: ZZ-YG-03 ({ny_area}, 2024) violated.

6. **MZ-01 — 县卫生健康委员会党组 health-pg，2024**
   - 民主生活会（{", ".join(mz_low)}，{mz_rec["date"]}）应到 {mz_due} 人、实到 {mz_present} 人（{mz_present}/{mz_due} < 2/3），不计为有效召开；全年无其他民主生活会。预期：MZ-01 未履行。其他单位：某某县委全到，教育局党组 6/7，财政局党组全到，均已履行。
   - The democratic life meeting ({", ".join(mz_low)}, {mz_rec["date"]}) had {mz_present} of {mz_due} present ({mz_present}/{mz_due} < 2/3), so it does not count, and there is no other. Expected: MZ-01 violated. Others: county all present, edu-pg 6/7, finance-pg all present: fulfilled.

7. **ZZ-DC-01（逾期）— 城关镇党委 twn-chengguan，书记 {who(secretary("twn-chengguan", DC_LATE_FEEDBACK))}**
   - {DC_LATE_FEEDBACK.isoformat()} 督查反馈（{", ".join(late_fb)}），整改报告 {(DC_LATE_FEEDBACK + dt.timedelta(days=DC_LATE_DAYS)).isoformat()} 才报送（{", ".join(late_rep)}，第 {DC_LATE_DAYS} 天），超过 30 日。预期：ZZ-DC-01（该反馈）未履行。
   - Feedback on {DC_LATE_FEEDBACK.isoformat()} ({", ".join(late_fb)}); the report came on day {DC_LATE_DAYS} ({", ".join(late_rep)}), past the 30 days. Expected: ZZ-DC-01 for that trigger violated.

8. **ZZ-DC-01（期限未到）— 县教育局党组 edu-pg**
   - {DC_OPEN_FEEDBACK.isoformat()} 督查反馈（{", ".join(open_fb)}），30 日期限至 {(DC_OPEN_FEEDBACK + dt.timedelta(days=30)).isoformat()}，跨过年底，2024 年内无整改报告。预期：按 2025-01-15 评估为“期限未到”（pending），而非未履行。
   - Feedback on {DC_OPEN_FEEDBACK.isoformat()} ({", ".join(open_fb)}); its 30 days run to {(DC_OPEN_FEEDBACK + dt.timedelta(days=30)).isoformat()}, past year-end, and there is no report in 2024. Expected as of 2025-01-15: pending, not violated.

9. **ZZ-08-05 — 县卫生健康委员会党组 health-pg，书记 {who(HEALTH_SEC)}，2024**
   - 书记全年有“亲自部署/亲自过问/亲自协调”记录，无“亲自督办”记录。预期：ZZ-08-05 未履行；ZZ-08-02/03/04 已履行。
   - The secretary has 亲自部署/亲自过问/亲自协调 records but none tagged 亲自督办. Expected: ZZ-08-05 violated; ZZ-08-02/03/04 fulfilled.

10. **格式错误记录 / malformed record — 石桥镇党委 twn-shiqiao，书记 {who(SHIQIAO_SEC)}，2024-H2**
    - {BAD_ID}（records.jsonl 最后一行）为专题会议记录，日期为不存在的 “{BAD_DATE}”。该镇下半年没有其他专题会议，因此该记录是否落在 H2 无法确定。预期：该行被报告为数据错误；ZZ-DW-01（组织，2024-H2）与 ZZ-08-01（书记，2024-H2）为“无法判定”（undeterminable），而非未履行；2024-H1 已履行。
    - {BAD_ID} (the last line of records.jsonl) is a dedicated meeting dated “{BAD_DATE}”, which cannot exist. Shiqiao has no other H2 dedicated meeting, so whether the duty was met cannot be told. Expected: the line is reported as a data error; ZZ-DW-01 (organisation, 2024-H2) and ZZ-08-01 (secretary, 2024-H2) undeterminable, not violated; H1 fulfilled.

## 边界情形（非缺口）/ Boundary cases (not gaps)

- **年中调整 / mid-year move — {who(MOVER)}**：2024-01-01 至 2024-06-30 任青山镇党委书记，2024-07-01 起任县委常委、副县长（分管{"、".join(MOVER_COUNTY_SEAT[2])}）。
  青山镇书记职责（ZZ-08-01 H1、ZZ-08-02..05、与青山镇成员的 ZZ-08-06）均在上半年履行；县委成员职责（ZZ-YG-01 H2、ZZ-YG-02/03、与县委书记的 ZZ-08-06）均在下半年履行。预期全部已履行；其 2024-H1 的 ZZ-YG-01 与下半年的青山镇书记职责不评判。
  Qingshan township secretary until 2024-06-30, county standing-committee member and deputy county head from 2024-07-01. Secretary duties are met in H1, member duties in H2; all expected fulfilled. Not judged: ZZ-YG-01 for H1 (not yet a member), Qingshan secretary duties in H2.
- **新任书记 / new secretary — {who(NEW_SEC)}**：2024-07-01 起任青山镇党委书记，下半年有本人主持的专题会议、四类亲自履责记录、与每名成员的谈心谈话，预期 ZZ-08-01（H2）、ZZ-08-02..06 已履行；ZZ-08-01（H1）不评判。
  Qingshan secretary from 2024-07-01 with own H2 meeting, all four in-person records and a talk with each member: expected fulfilled; ZZ-08-01 for H1 not judged.
- **县委常委会人数 / county team size**：上半年 10 人（1 名常委职位空缺），2024-07-01 起 11 人。民主生活会（1 月）按 10 人计。
  The county standing committee has 10 members in H1 (one vacancy) and 11 from 2024-07-01; the January democratic life meeting is judged against 10.
- **青山镇成员 / Qingshan members**（{"、".join(who(p) for p in qs_members)}）：上半年与 {MOVER.name}、下半年与 {NEW_SEC.name} 各有谈心谈话，ZZ-08-06 的两组书记—成员对均应已履行。
  Each Qingshan member talked with {MOVER.name} in H1 and with {NEW_SEC.name} in H2: both sets of pairs fulfilled.
- **乡镇不适用 MZ-01 / MZ-01 not for townships**：MZ-01 的 org_kinds 不含 township，乡镇无民主生活会记录。
  MZ-01 does not cover townships; they have no democratic life meeting records.
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
    write_gaps(out / "GAPS.md")
    print(f"wrote {len(PEOPLE)} people, {len(OUT)} records ({BAD_ID} malformed) to {out}")


if __name__ == "__main__":
    main()
