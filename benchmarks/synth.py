#!/usr/bin/env python3
"""Synthetic province for benchmarks: a roster of N organisations and M activity records for 2024.

合成数据生成器（基准测试用）：N 个党组织的领导班子名册与 M 条 2024 年履责活动记录。

    python benchmarks/synth.py --orgs 1000 --records 100000 --out out/bench/1000x100000

Writes ``roster.yaml`` (or ``roster.json`` with ``--roster-format json``) and ``records.jsonl`` into
``--out``. Standard library only; one ``random.Random(seed)`` consumed in a fixed order, so the same
arguments give byte-identical files.

Shape of the data:

* organisations: local_committee / party_group / department_committee / township, each with a
  leading team of 9 (secretary, deputy secretary, 7 members); the deputy and members hold 1-2
  portfolio areas from ``rules/zhuti-zeren-2020/pack.yaml``. A few organisations change secretary on
  1 July, a few members join in September, 1 % of members have no portfolio registered.
* records: working days of 2024, day by day (sorted by date), spread over the organisations (a tenth
  of them much less active) and over every record type the rule packs declare. Each organisation
  neglects some duties (a secretary who never 亲自督办, a member who never supervises one portfolio,
  a half-year without a dedicated meeting, a democratic life meeting with too few present, inspection
  feedback with a late or missing rectification report), and some records are near misses (wrong
  chair or portfolio), so the evaluation gives a realistic mix of fulfilled and violated findings.
* calendar duties: each organisation's year also has its planned events, drawn at the start and
  taken out of the same record budget: the year-end 述责述廉 meeting, the secretary's 述职评议 and
  党课, a 意识形态 session per half-year, the leaders' 双重组织生活 each quarter, and a 谈心谈话
  between every two team members other than the secretary. Most take place; some are missed or
  are near misses (only the secretary reports, the deputy reports or lectures instead, both
  ideology sessions in the first half, a leader absent, a talk recorded with one of the two).
* organisation ids are ``o00000``, ``o00001``, ...; ids that an overlay pack names
  (``overlay: organisations:``, e.g. rules/mouxian-shishi-2024) are never used, so no overlay
  applies to the synthetic province.

Streaming: only the roster, the calendar of planned events (one int each, about 34 per
organisation) and the follow-ups scheduled for the coming weeks are held in memory; records are
formatted as JSON text and written through a buffered file.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import heapq
import json
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"

YEAR = 2024
D = dt.date
H2_START = D(YEAR, 7, 1).toordinal()
YEAR_END = D(YEAR, 12, 31).toordinal()

FOUR = ("亲自部署", "亲自过问", "亲自协调", "亲自督办")
DEFAULT_AREAS = [
    "组织人事", "宣传思想", "纪检监察", "政法", "经济发展", "社会事业", "农业农村", "城乡建设", "生态环境", "统战",
]  # fmt: skip

# Record types this generator knows how to produce, with their share of the randomly drawn records.
# (zhenggai_baogao also arrives as the scheduled follow-up of ducha_fankui.)
WEIGHTS = {
    "zhuanti_huiyi": 7,
    "qinzi_lvze": 12,
    "tanxin_tanhua": 20,
    "dingqi_dudao": 20,
    "geibie_zhidao": 14,
    "yuetan_tixing": 12,
    "ducha_fankui": 5,
    "zhenggai_baogao": 1,
    "minzhu_shenghuohui": 2,
}

# Record types that come from each organisation's calendar of planned events (not drawn at random);
# they share the same budget of --records. tanxin_tanhua between two members (SH-02) is planned too.
PLANNED = ("shuze_shulian", "shuzhi_pingyi", "jiang_dangke", "yishixingtai_zhuanti", "shuangchong_zuzhi_shenghuo")
# At most this share of the records goes to planned events; below it, events are thinned at random.
PLANNED_SHARE = 0.4

# Planned event kinds (bits 8-11 of a calendar entry; bits 0-7 carry an argument, the rest the org index).
K_TALK, K_TALK_ONE, K_SHUZE, K_SHUZE_SEC, K_SHUZE_ONE, K_SHUZHI, K_DANGKE, K_YISHI, K_ZUZHI = range(9)

KINDS = [("local_committee", 10), ("party_group", 35), ("department_committee", 15), ("township", 40)]
LEVEL = {"local_committee": "county", "party_group": "county-department",
         "department_committee": "county-department", "township": "township"}  # fmt: skip
SUFFIX = {"local_committee": "县委", "party_group": "局党组", "department_committee": "工委", "township": "镇党委"}
PLACES = "东西南北中青白红金银石柳河山湖溪林桥安平宁和丰泰昌明新兴"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "建国新民家栋玉梅文静云峰华斌爱民庆丰立新志强海燕春梅秀英明辉振宇晓东国强红霞丽娟伟东永刚桂兰德胜学军"

TEXT = {
    "zhuanti_huiyi": "召开会议专题研究全面从严治党工作，听取班子成员履行“一岗双责”情况汇报",
    "qinzi_lvze": "书记{tag}相关工作",
    "tanxin_tanhua": "谈心谈话，交流思想、工作和作风情况",
    "dingqi_dudao": "赴分管单位开展{area}领域全面从严治党定期督导",
    "geibie_zhidao": "对分管单位{area}工作开展个别指导",
    "yuetan_tixing": "就{area}领域苗头性问题开展约谈提醒",
    "ducha_fankui": "采取“四不两直”方式开展督查，反馈问题并提出整改要求",
    "zhenggai_baogao": "报告督查反馈问题整改落实情况",
    "minzhu_shenghuohui": "召开年度领导班子民主生活会，开展批评和自我批评",
    "shuze_shulian": "在党委（扩大）会议上述责述廉，接受评议",
    "shuze_shulian_one": "离任前在党委（扩大）会议上述责述廉",
    "shuzhi_pingyi": "向上级党委述职抓基层党建工作，接受评议考核",
    "jiang_dangke": "为基层党员讲专题党课",
    "yishixingtai_zhuanti": "召开会议专题研究意识形态工作，分析研判意识形态领域情况",
    "shuangchong_zuzhi_shenghuo": "以普通党员身份参加所在党支部主题党日和组织生活会",
    "tanxin_tanhua_one": "与{name}谈心谈话",
}


@dataclass(slots=True)
class Member:
    pid: str
    name: str
    role: str
    portfolios: list[str]
    start: int  # date ordinals
    end: int | None
    # duties this person neglects: (record type, portfolio) for portfolio duties
    neglect: set[tuple[str, str]] = field(default_factory=set)
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (record type, portfolio) not neglected


@dataclass(slots=True)
class Org:
    oid: str
    name: str
    kind: str
    parent: str | None
    team: list[Member]
    static: bool  # nobody joins or leaves during 2024
    skip_half: tuple[bool, bool]  # no dedicated meeting in H1 / H2
    four: list[str]  # the 亲自 tags the secretary does record
    talk_skip: set[str]  # members the secretary never talks to
    skip_mz: bool
    poor_attendance: bool
    followup: tuple[float, float]  # P(report in time), P(report late); else none
    team_ids_json: str = ""


def read_areas() -> list[str]:
    pack = RULES / "zhuti-zeren-2020" / "pack.yaml"
    try:
        text = pack.read_text(encoding="utf-8")
    except OSError:
        return DEFAULT_AREAS
    m = re.search(r"^portfolio_areas:\s*\[(.*)\]\s*$", text, re.M)
    if not m:
        return DEFAULT_AREAS
    return [a.strip() for a in m.group(1).split(",") if a.strip()]


def declared_types() -> list[str]:
    """Record types declared in rules/*/pack.yaml (a line scan; stdlib has no YAML parser)."""
    out: list[str] = []
    for pack in sorted(RULES.glob("*/pack.yaml")):
        inside = False
        for line in pack.read_text(encoding="utf-8").splitlines():
            if re.match(r"^record_types:\s*$", line):
                inside = True
                continue
            if inside:
                if line and not line.startswith(" ") and not line.startswith("#"):
                    inside = False
                    continue
                m = re.match(r"^  ([A-Za-z_][A-Za-z0-9_]*):", line)
                if m:
                    out.append(m.group(1))
    return out


def overlay_orgs() -> set[str]:
    """Organisation ids named by overlay packs (``overlay: organisations: [...]``); synth never uses them."""
    out: set[str] = set()
    for pack in sorted(RULES.glob("*/pack.yaml")):
        inside = False
        for line in pack.read_text(encoding="utf-8").splitlines():
            if re.match(r"^overlay:\s*$", line):
                inside = True
                continue
            if inside:
                if line and not line.startswith(" ") and not line.startswith("#"):
                    inside = False
                    continue
                m = re.match(r"^\s+organisations:\s*\[(.*)\]", line)
                if m:
                    out.update(a.strip().strip("'\"") for a in m.group(1).split(",") if a.strip())
    return out


def org_ids(n: int, reserved: set[str]) -> list[str]:
    """``o00000``, ``o00001``, ... skipping any id in ``reserved``."""
    out: list[str] = []
    serial = 0
    while len(out) < n:
        oid = f"o{serial:05d}"
        serial += 1
        if oid not in reserved:
            out.append(oid)
    return out


def workdays() -> list[tuple[int, str]]:
    day, out = D(YEAR, 1, 2), []
    while day.year == YEAR:
        if day.weekday() < 5:
            out.append((day.toordinal(), day.isoformat()))
        day += dt.timedelta(days=1)
    return out


def q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


# ---------------------------------------------------------------- roster


def build_orgs(rng: random.Random, n: int, areas: list[str], reserved: set[str] | None = None) -> list[Org]:
    ids = org_ids(n, reserved or set())
    kinds = [k for k, _ in KINDS]
    kind_cw = list(_cumulative([w for _, w in KINDS]))
    orgs: list[Org] = []
    committees: list[str] = []
    person = 0

    def new_member(role: str, oid: str, start: int, end: int | None, nports: int) -> Member:
        nonlocal person
        person += 1
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        ports = rng.sample(areas, nports) if nports else []
        return Member(f"p{person:07d}", name, role, ports, start, end)

    for i in range(n):
        oid = ids[i]
        kind = "local_committee" if i == 0 else kinds[bisect.bisect_right(kind_cw, rng.random() * kind_cw[-1])]
        parent = None if i == 0 else rng.choice(committees)
        if kind == "local_committee":
            committees.append(oid)
        name = f"{rng.choice(PLACES)}{rng.choice(PLACES)}{SUFFIX[kind]}{i}"
        base = D(rng.randint(2016, 2023), rng.randint(1, 12), rng.randint(1, 28)).toordinal()
        team: list[Member] = []
        static = True
        if rng.random() < 0.03:  # secretary changes on 1 July
            team.append(new_member("secretary", oid, base, H2_START - 1, 0))
            team.append(new_member("secretary", oid, H2_START, None, 0))
            static = False
        else:
            team.append(new_member("secretary", oid, base, None, 0))
        team.append(new_member("deputy_secretary", oid, base, None, rng.randint(1, 2)))
        for j in range(7):
            start = base
            if j == 6 and rng.random() < 0.05:  # joins in September
                start = D(YEAR, 9, 16).toordinal()
                static = False
            nports = 0 if rng.random() < 0.01 else rng.randint(1, 2)
            team.append(new_member("member", oid, start, None, nports))
        for m in team[1:] if team[0].end is None else team[2:]:
            for rtype, p_neglect in (("dingqi_dudao", 0.10), ("geibie_zhidao", 0.15), ("yuetan_tixing", 0.25)):
                for area in m.portfolios:
                    if rng.random() < p_neglect:
                        m.neglect.add((rtype, area))
                    else:
                        m.pairs.append((rtype, area))
        four = [t for t in FOUR if rng.random() >= 0.12]
        others = [m.pid for m in team if m.role != "secretary"]
        talk_skip = {pid for pid in others if rng.random() < 0.08}
        r = rng.random()
        followup = (0.9, 0.07) if r < 0.6 else (0.6, 0.2) if r < 0.9 else (0.2, 0.3)
        org = Org(
            oid,
            name,
            kind,
            parent,
            team,
            static,
            (rng.random() < 0.08, rng.random() < 0.08),
            four,
            talk_skip,
            rng.random() < 0.08,
            rng.random() < 0.10,
            followup,
        )
        org.team_ids_json = "[" + ",".join(f'"{m.pid}"' for m in team if m.end is None) + "]"
        orgs.append(org)
    return orgs


def _cumulative(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def iso(ordinal: int) -> str:
    return D.fromordinal(ordinal).isoformat()


def write_roster(path: Path, orgs: list[Org], fmt: str) -> None:
    with path.open("w", encoding="utf-8", buffering=1 << 20) as out:
        if fmt == "json":
            out.write('{"organisations":[\n')
            out.write(
                ",\n".join(
                    f'{{"id":"{o.oid}","name":{q(o.name)},"kind":"{o.kind}","level":"{LEVEL[o.kind]}",'
                    f'"parent":{q(o.parent) if o.parent else "null"}}}'
                    for o in orgs
                )
            )
            out.write('\n],\n"people":[\n')
            first = True
            for o in orgs:
                for m in o.team:
                    if not first:
                        out.write(",\n")
                    first = False
                    ports = ",".join(q(p) for p in m.portfolios)
                    end = f'"{iso(m.end)}"' if m.end is not None else "null"
                    out.write(
                        f'{{"id":"{m.pid}","name":{q(m.name)},"posts":[{{"org":"{o.oid}","role":"{m.role}",'
                        f'"portfolios":[{ports}],"start":"{iso(m.start)}","end":{end}}}]}}'
                    )
            out.write("\n]}\n")
            return
        out.write(f"# 合成名册（benchmarks/synth.py 生成）synthetic roster: {len(orgs)} organisations\n")
        out.write("organisations:\n")
        for o in orgs:
            out.write(
                f"  - {{id: {o.oid}, name: {o.name}, kind: {o.kind}, level: {LEVEL[o.kind]}, "
                f"parent: {o.parent or 'null'}}}\n"
            )
        out.write("people:\n")
        for o in orgs:
            for m in o.team:
                end = iso(m.end) if m.end is not None else "null"
                out.write(
                    f"  - id: {m.pid}\n    name: {m.name}\n    posts:\n"
                    f"      - {{org: {o.oid}, role: {m.role}, portfolios: [{', '.join(m.portfolios)}], "
                    f"start: {iso(m.start)}, end: {end}}}\n"
                )


# ---------------------------------------------------------------- records


class Records:
    def __init__(
        self, rng: random.Random, orgs: list[Org], areas: list[str], bad_per_mille: float, total: int = 0
    ) -> None:
        self.rng = rng
        self.orgs = orgs
        self.areas = areas
        self.bad = bad_per_mille / 1000.0
        self.n = 0
        self.counts: dict[str, int] = {}
        types = list(WEIGHTS)
        self.types = types
        self.type_cw = _cumulative([WEIGHTS[t] for t in types])
        # a tenth of the organisations record much less
        activity = [0.25 if rng.random() < 0.1 else 1.0 for _ in orgs]
        self.org_cw = _cumulative(activity)
        self.pending: list[tuple[int, int, int, str]] = []  # (day, seq, org index, type) follow-ups
        self.seq = 0
        self.days = workdays()
        self.no_branch: set[str] = set()  # leaders who never attend their branch's organisational life
        self.calendar = self.plan(activity, total)

    # ------------------------------------------------ calendar of planned events

    def plan(self, activity: list[float], total: int) -> list[list[int]]:
        """Each organisation's planned events of the year, by working-day index: ``oi << 12 | kind << 8 | arg``.

        Drawn once, organisation by organisation, before any record; at most ``PLANNED_SHARE`` of
        ``total`` (events are thinned at random when the organisations are many for the records)."""
        rng = self.rng
        ords = [o for o, _ in self.days]
        cal: list[list[int]] = [[] for _ in ords]
        first_day, last_day = ords[0], ords[-1]

        def day(lo: int, hi: int) -> int:
            """A random working day between two date ordinals, as an index into the working days."""
            return rng.randint(bisect.bisect_left(ords, lo), bisect.bisect_right(ords, hi) - 1)

        def ordinal(month: int, dom: int) -> int:
            return D(YEAR, month, dom).toordinal()

        teams = [list(range(1 if o.team[0].end is None else 2, len(o.team))) for o in self.orgs]
        planned = sum(
            9 + len(r) * (len(r) - 1) // 2 + 3 * (len(o.team) - len(r) - 1)
            for o, r in zip(self.orgs, teams, strict=True)
        )
        keep = min(1.0, PLANNED_SHARE * total / planned) if planned else 1.0
        events: list[tuple[int, int]] = []  # (working-day index, kind << 8 | arg) of one organisation

        for oi, org in enumerate(self.orgs):
            team, rest = org.team, teams[oi]
            slack = 1.0 if activity[oi] == 1.0 else 2.5  # the less active organisations neglect more
            deputy = rest[0]
            events.clear()
            # 述责述廉: one enlarged meeting in December for the team then in post (an outgoing secretary
            # reports before leaving); 3 % hold none, 4 % have only the secretary report.
            r = rng.random()
            if r >= 0.03 * slack:
                events.append(
                    (day(ordinal(12, 2), ordinal(12, 27)), (K_SHUZE_SEC if r < 0.07 * slack else K_SHUZE) << 8)
                )
            for si, sec in enumerate(team):
                if sec.role != "secretary":
                    continue
                first = max(sec.start, first_day)
                last = min(sec.end if sec.end is not None else last_day, last_day)
                if sec.end is not None:
                    events.append((day(last - 27, last), K_SHUZE_ONE << 8 | si))
                # 述职评议: early in the year (late in it for a secretary who arrived during the year);
                # 3 % have none, 6 % have the deputy report instead.
                r = rng.random()
                if r >= 0.03 * slack:
                    who = deputy if r < 0.09 * slack else si
                    lo, hi = (first, ordinal(3, 29)) if first < H2_START else (ordinal(10, 8), last)
                    events.append((day(lo, hi), K_SHUZHI << 8 | who))
                # 党课: between March and November; 3 % none, 6 % given by the deputy (the secretary listens).
                r = rng.random()
                if r >= 0.03 * slack:
                    who = deputy if r < 0.09 * slack else si
                    when = day(max(first, ordinal(3, 1)), min(last, ordinal(11, 29)))
                    events.append((when, K_DANGKE << 8 | who << 4 | si))
            # 意识形态 sessions, one per half-year; 6 % skip a half (a skipped second half is, in half of
            # the cases, a second session in the first half: a near miss).
            skip1, skip2 = rng.random() < 0.06 * slack, rng.random() < 0.06 * slack
            if not skip1:
                events.append((day(ordinal(1, 15), ordinal(6, 28)), K_YISHI << 8))
            if not skip2:
                events.append((day(ordinal(7, 8), ordinal(12, 27)), K_YISHI << 8))
            elif rng.random() < 0.5:
                events.append((day(ordinal(1, 15), ordinal(6, 28)), K_YISHI << 8))
            # 双重组织生活, each quarter; 3 % of the leaders never attend, 4 % miss a given quarter.
            for m in team:
                if rng.random() < 0.03 * slack:
                    self.no_branch.add(m.pid)
            for month in (1, 4, 7, 10):
                events.append((day(ordinal(month, 10), ordinal(month + 2, 28)), K_ZUZHI << 8))
            # 谈心谈话 between every two team members other than the secretary, once a year on a day both
            # are in post; 8 % of the pairs never talk, 3 % are recorded with only one of the two.
            for x, a in enumerate(rest):
                for b in rest[x + 1 :]:
                    r = rng.random()
                    if r >= 0.08 * slack:
                        when = day(max(team[a].start, team[b].start, first_day), ordinal(12, 27))
                        events.append((when, (K_TALK_ONE if r < 0.11 * slack else K_TALK) << 8 | a << 4 | b))
            base = oi << 12
            for when, code in events:
                if keep >= 1.0 or rng.random() < keep:
                    cal[when].append(base | code)
        return cal

    def planned(self, code: int, day: int, date: str) -> str:
        rng = self.rng
        org = self.orgs[code >> 12]
        kind = (code >> 8) & 15
        arg = code & 255
        team = org.team
        if kind == K_TALK:
            a, b = team[arg >> 4], team[arg & 15]
            return self.line(org, "tanxin_tanhua", date, a.pid, f'["{a.pid}","{b.pid}"]', text=TEXT["tanxin_tanhua"])
        if kind == K_TALK_ONE:  # the other one left out of the record
            a, b = team[arg >> 4], team[arg & 15]
            text = TEXT["tanxin_tanhua_one"].format(name=b.name)
            return self.line(org, "tanxin_tanhua", date, a.pid, f'["{a.pid}"]', text=text)
        if kind == K_SHUZHI:
            return self.line(org, "shuzhi_pingyi", date, None, f'["{team[arg].pid}"]', text=TEXT["shuzhi_pingyi"])
        if kind == K_DANGKE:
            who, sec = team[arg >> 4], team[arg & 15]
            people = f'["{sec.pid}"]' if who is sec else f'["{who.pid}","{sec.pid}"]'
            return self.line(org, "jiang_dangke", date, who.pid, people, text=TEXT["jiang_dangke"])
        if kind == K_SHUZE_ONE:
            sec = team[arg]
            return self.line(org, "shuze_shulian", date, sec.pid, f'["{sec.pid}"]', text=TEXT["shuze_shulian_one"])
        now = self.team(org, day)
        sec = now[0]
        if kind == K_SHUZE_SEC:
            return self.line(org, "shuze_shulian", date, sec.pid, f'["{sec.pid}"]', text=TEXT["shuze_shulian"])
        if kind == K_SHUZE:  # each member reports, 4 % are left out; the chairing secretary counts
            ids = ",".join(f'"{m.pid}"' for m in now if m is sec or rng.random() >= 0.04)
            return self.line(org, "shuze_shulian", date, sec.pid, f"[{ids}]", text=TEXT["shuze_shulian"])
        if kind == K_YISHI:
            chair = sec.pid if rng.random() < 0.8 else now[1].pid
            ids = org.team_ids_json if org.static else "[" + ",".join(f'"{m.pid}"' for m in now) + "]"
            return self.line(org, "yishixingtai_zhuanti", date, chair, ids, text=TEXT["yishixingtai_zhuanti"])
        if kind == K_ZUZHI:
            skip = self.no_branch
            ids = ",".join(f'"{m.pid}"' for m in now if m.pid not in skip and rng.random() >= 0.04)
            return self.line(org, "shuangchong_zuzhi_shenghuo", date, None, f"[{ids}]",
                             text=TEXT["shuangchong_zuzhi_shenghuo"])  # fmt: skip
        raise ValueError(kind)

    def team(self, org: Org, day: int) -> list[Member]:
        if org.static:
            return org.team
        return [m for m in org.team if m.start <= day and (m.end is None or day <= m.end)]

    def line(
        self,
        org: Org,
        rtype: str,
        date: str,
        chair: str | None,
        participants: str = "[]",
        portfolio: str | None = None,
        tags: str = "[]",
        text: str = "",
    ) -> str:
        self.n += 1
        self.counts[rtype] = self.counts.get(rtype, 0) + 1
        if self.bad and self.rng.random() < self.bad:
            date = f"{YEAR}-13-{date[-2:]}"  # an invalid date: the row is rejected, the org's duties tainted
        c = f'"{chair}"' if chair else "null"
        p = f'"{portfolio}"' if portfolio else "null"
        return (
            f'{{"id":"R{self.n:08d}","org":"{org.oid}","type":"{rtype}","date":"{date}","chair":{c},'
            f'"participants":{participants},"portfolio":{p},"tags":{tags},"text":"{text}"}}\n'
        )

    def random_record(self, oi: int, day: int, date: str) -> str:
        rng = self.rng
        rtype = self.types[bisect.bisect_right(self.type_cw, rng.random() * self.type_cw[-1])]
        return self.make(oi, rtype, day, date)

    def make(self, oi: int, rtype: str, day: int, date: str) -> str:
        rng = self.rng
        org = self.orgs[oi]
        team = self.team(org, day)
        sec = team[0]
        rest = team[1:]
        if rtype == "zhuanti_huiyi":
            if org.skip_half[0 if day < H2_START else 1]:
                return self.near_miss(org, sec, date)
            chair = sec.pid if rng.random() < 0.85 else rest[0].pid
            ids = org.team_ids_json if org.static else "[" + ",".join(f'"{m.pid}"' for m in team) + "]"
            return self.line(org, rtype, date, chair, ids, text=TEXT[rtype])
        if rtype == "qinzi_lvze":
            if not org.four:
                return self.line(org, rtype, date, rest[0].pid, tags=f'["{FOUR[3]}"]', text="副书记协调相关工作")
            tag = rng.choice(org.four)
            return self.line(org, rtype, date, sec.pid, tags=f'["{tag}"]', text=TEXT[rtype].format(tag=tag))
        if rtype == "tanxin_tanhua":
            other = rng.choice(rest)
            if other.pid in org.talk_skip:
                # a talk between two other members: counts for nobody's pair with the secretary
                third = rng.choice(rest)
                return self.line(org, rtype, date, other.pid, f'["{other.pid}","{third.pid}"]', text=TEXT[rtype])
            return self.line(org, rtype, date, sec.pid, f'["{sec.pid}","{other.pid}"]', text=TEXT[rtype])
        if rtype in ("dingqi_dudao", "geibie_zhidao", "yuetan_tixing"):
            member = rng.choice(rest)
            pairs = [a for t, a in member.pairs if t == rtype]
            # near miss (5 %): a portfolio area the member may not hold
            area = rng.choice(self.areas) if not pairs or rng.random() < 0.05 else rng.choice(pairs)
            if (rtype, area) in member.neglect:
                return self.near_miss(org, sec, date)
            return self.line(org, rtype, date, member.pid, portfolio=area, text=TEXT[rtype].format(area=area))
        if rtype == "ducha_fankui":
            member = rng.choice(rest)
            area = rng.choice(member.portfolios) if member.portfolios else None
            r = rng.random()
            intime, late = org.followup
            if r < intime:
                self.schedule(day + rng.randint(3, 28), oi)
            elif r < intime + late:
                self.schedule(day + rng.randint(32, 60), oi)
            return self.line(org, rtype, date, member.pid, portfolio=area, text=TEXT[rtype])
        if rtype == "zhenggai_baogao":
            return self.line(org, rtype, date, rest[0].pid, text=TEXT[rtype])
        if rtype == "minzhu_shenghuohui":
            if org.skip_mz:
                return self.near_miss(org, sec, date)
            k = rng.randint(4, 5) if org.poor_attendance else rng.randint(7, len(team))
            present = [sec, *rng.sample(rest, min(k, len(team)) - 1)]
            ids = "[" + ",".join(f'"{m.pid}"' for m in present) + "]"
            return self.line(org, rtype, date, sec.pid, ids, text=TEXT[rtype])
        raise ValueError(rtype)

    def near_miss(self, org: Org, sec: Member, date: str) -> str:
        """A record that evidences nothing: the secretary holding a reminder talk (a team-member duty)."""
        area = self.rng.choice(self.areas)
        text = TEXT["yuetan_tixing"].format(area=area)
        return self.line(org, "yuetan_tixing", date, sec.pid, portfolio=area, text=text)

    def schedule(self, day: int, oi: int) -> None:
        # move to a working day; drop follow-ups that fall after the year
        while D.fromordinal(day).weekday() >= 5:
            day += 1
        if day <= YEAR_END:
            self.seq += 1
            heapq.heappush(self.pending, (day, self.seq, oi, "zhenggai_baogao"))


def write_records(path: Path, gen: Records, total: int) -> None:
    days = gen.days
    calendar = gen.calendar
    rng = gen.rng
    nd = len(days)
    org_cw = gen.org_cw
    top = org_cw[-1]
    emitted = 0
    with path.open("w", encoding="utf-8", buffering=1 << 20) as out:
        for i, (day, date) in enumerate(days):
            target = total * (i + 1) // nd
            pending = gen.pending
            chunk: list[str] = []
            while pending and pending[0][0] <= day and emitted < total:
                _, _, oi, rtype = heapq.heappop(pending)
                chunk.append(gen.make(oi, rtype, day, date))
                emitted += 1
            while pending and pending[0][0] <= day:  # quota exhausted: drop
                heapq.heappop(pending)
            for code in calendar[i]:
                if emitted >= total:  # quota exhausted: drop
                    break
                chunk.append(gen.planned(code, day, date))
                emitted += 1
            calendar[i] = []
            k = max(0, target - emitted)
            if k:
                picks = [bisect.bisect_right(org_cw, rng.random() * top) for _ in range(k)]
                chunk.extend(gen.random_record(oi, day, date) for oi in picks)
                emitted += k
            out.write("".join(chunk))
    assert emitted == total, (emitted, total)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orgs", type=int, default=100, help="number of organisations (default 100)")
    ap.add_argument("--records", type=int, default=10_000, help="total number of records (default 10000)")
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--roster-format", choices=("yaml", "json"), default="yaml")
    ap.add_argument(
        "--bad-per-mille", type=float, default=0.0, help="share of records with an invalid date (default 0)"
    )
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.orgs < 1 or args.records < 0:
        ap.error("--orgs must be >= 1 and --records >= 0")

    known = [*WEIGHTS, *PLANNED]
    declared = declared_types()
    missing = [t for t in declared if t not in known]
    extra = [t for t in known if declared and t not in declared]
    if missing or extra:
        print(f"warning: rule packs declare {missing} (not generated); generated but not declared: {extra}",
              file=sys.stderr)  # fmt: skip

    t0 = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    areas = read_areas()
    orgs = build_orgs(rng, args.orgs, areas, overlay_orgs())
    roster = args.out / f"roster.{args.roster_format}"
    write_roster(roster, orgs, args.roster_format)
    t1 = time.perf_counter()
    gen = Records(rng, orgs, areas, args.bad_per_mille, args.records)
    write_records(args.out / "records.jsonl", gen, args.records)
    t2 = time.perf_counter()
    if not args.quiet:
        people = sum(len(o.team) for o in orgs)
        mix = ", ".join(f"{k} {v}" for k, v in sorted(gen.counts.items()))
        print(
            f"{roster}: {args.orgs} organisations, {people} people ({t1 - t0:.2f} s)\n"
            f"{args.out / 'records.jsonl'}: {args.records} records ({t2 - t1:.2f} s): {mix}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
