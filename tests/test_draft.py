"""``rules-engine draft``: rule skeletons from a regulation's frequency and deadline phrases, refused by
``lint --release`` until a person has reviewed them; every sentence drafted or listed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rules_engine import lint, load_rules
from rules_engine.cli import main
from rules_engine.draft import Phrase, Unencodable, chinese_number, phrases, sentences

from .conftest import RULES

# The duties of the team's domain notes (shared/domain.md, "Checkable duties with numbers"), in the Chinese the
# notes quote or summarise; each comment names the row. The notes hold no article text with article numbers of
# their own beyond Art. 8, so the article headings below are this test's, to check the citation is filled in.
ARTICLE = """\
党委（党组）落实全面从严治党主体责任规定（节选，测试用）
第二章　责任内容
第八条　党委（党组）书记是全面从严治党第一责任人。
重要工作亲自部署、重大问题亲自过问、重点环节亲自协调、重要案件亲自督办。
第三章　责任落实
第十条　党委（党组）常委会会议（党组会议）每半年至少专题研究一次全面从严治党工作。
第十一条　领导班子每年召开一次民主生活会；述责述廉每年１次。
第十二条　班子成员之间的谈心谈话一般每年不少于1次，党委（党组）书记每年至少讲一次党课。
第十三条　党委（党组）每半年至少专题研究一次意识形态工作；党员领导干部至少每季度参加一次所在党支部的组织生活。
第十四条　对班子成员定期督导、个别指导、约谈提醒。
第十五条　每年1月31日前向上级党委报告上一年度履行主体责任情况；督查反馈后应当在三十日内报送整改情况。
第十六条　应当在5个工作日内报告；每两年开展一次评估。
"""
# Rows of domain.md: 第十条 dedicated meeting (at least 1 per half-year); 第十一条 democratic life meeting and
# 述责述廉 (1 per year); 第十二条 heart-to-heart talks ("generally not less than once a year") and the Party
# lecture (at least 1 per year); 第十三条 ideological work (at least 1 per half-year) and dual organisational
# life ("local practice often quarterly"). 第十五条: the annual report deadline the notes say was not found in any
# source (a local practice), and a rectification deadline. 第八条 and 第十四条 (commentary on Art. 8) have no
# number: listed, not drafted. 第十六条: phrases no rule can hold.

ONE_RULE = "subject: organisation\nmatch: {types: [meeting]}\nparams: {period: year, at_least: 1}\n"

EXPECTED = [  # id, article, period, at_least, at_most, window.to, within_days
    ("DRAFT-10-01", 10, "half_year", 1, None, None),
    ("DRAFT-11-01", 11, "year", 1, None, None),
    ("DRAFT-11-02", 11, "year", 1, None, None),
    ("DRAFT-12-01", 12, "year", 1, None, None),
    ("DRAFT-12-02", 12, "year", 1, None, None),
    ("DRAFT-13-01", 13, "half_year", 1, None, None),
    ("DRAFT-13-02", 13, "quarter", 1, None, None),
    ("DRAFT-15-01", 15, "year", 1, "01-31", None),
    ("DRAFT-15-02", 15, None, 1, None, 30),
]


@pytest.mark.parametrize(
    ("sentence", "pattern", "numbers"),
    [
        ("党委（党组）常委会会议（党组会议）每半年至少专题研究一次全面从严治党工作", "at_least", ("half_year", 1)),
        ("党员大会一般每季度召开1次", "at_least", ("quarter", 1)),
        ("支部委员会会议一般每月召开１次", "at_least", ("month", 1)),  # a full-width digit
        ("至少每季度召开一次", "at_least", ("quarter", 1)),
        ("每年至少讲两次党课", "at_least", ("year", 2)),
        ("一般每年不少于十二次", "at_least", ("year", 12)),
        ("每年不超过2次", "at_most", ("year", None, 2)),
        ("每月召开支部委员会", "every", ("month", 1)),
        ("每年1月31日前报告", "by_date", ("year", 1, None, "01-31")),
        ("每年三月底前完成", "by_date", ("year", 1, None, "03-31")),
        ("每年3月前报告", "by_date", ("year", 1, None, "02-29")),
        ("应当在收到通知后十五日内召开会议", "within", (None, None, None, None, 15)),
        ("应当在两周内答复", "within", (None, None, None, None, 14)),
    ],
)
def test_each_phrase_gives_the_numbers_of_a_rule(sentence: str, pattern: str, numbers: tuple[object, ...]) -> None:
    (found,) = phrases(sentence)
    assert isinstance(found, Phrase) and found.pattern == pattern
    wanted = (*numbers, *([None] * (5 - len(numbers))))
    assert (found.period, found.at_least, found.at_most, found.window_to, found.within_days) == wanted
    assert found.text in sentence  # the words as written (full-width digits kept)


@pytest.mark.parametrize(
    ("sentence", "words"),
    [
        ("每两年开展一次评估", "每两年"),
        ("应当在5个工作日内报告", "5个工作日内"),
        ("3个月内完成整改", "3个月内"),
        ("每届任期内", "每届"),
        ("每月10日前报送", "每月10日前"),
    ],
)
def test_a_phrase_no_rule_can_hold_is_found_with_its_reason(sentence: str, words: str) -> None:
    (found,) = phrases(sentence)
    assert isinstance(found, Unencodable) and found.text == words
    assert all(found.reason)


def test_a_later_pattern_cannot_read_words_an_earlier_one_took() -> None:
    # "at most 2 a year", never also "at least 2"; a dated deadline, never also "every year"
    assert [type(f).__name__ + ":" + f.pattern for f in phrases("每年不超过2次")] == ["Phrase:at_most"]
    assert [f.pattern for f in phrases("每年1月31日前报告")] == ["by_date"]
    assert phrases("每年一次性发放") == [
        Phrase("every", "每年", period="year", at_least=1, assumed=phrases("每月")[0].assumed)
    ]


def test_no_phrase_without_a_number_or_a_period() -> None:
    for sentence in ("定期督导、个别指导、约谈提醒", "同谋划、同部署、同推进、同考核", "经常性谈心谈话"):
        assert phrases(sentence) == []


def test_chinese_numerals() -> None:
    assert [chinese_number(t) for t in ("1", "一", "两", "十", "十五", "二十", "三十一", "一百二十", "二〇二〇")] == [
        1,
        1,
        2,
        10,
        15,
        20,
        31,
        120,
        2020,
    ]
    with pytest.raises(ValueError):
        chinese_number("半")


def test_sentences_stand_under_their_article_and_chapter() -> None:
    found = sentences(ARTICLE)
    assert found[0].text.startswith("党委（党组）落实") and found[0].article is None
    first_of_8 = next(s for s in found if s.article == 8)
    assert (first_of_8.line, first_of_8.chapter, first_of_8.text) == (3, 2, "党委（党组）书记是全面从严治党第一责任人")
    assert not any(s.text.startswith(("第二章", "第三章")) for s in found)  # headings are structure
    assert [s.text for s in found if s.article == 11] == ["领导班子每年召开一次民主生活会", "述责述廉每年１次"]
    assert {s.chapter for s in found if s.article == 10} == {3}


@pytest.fixture
def drafted(make_pack, tmp_path: Path, capsys) -> tuple[Path, int, str, str]:
    pack = make_pack(("T-01", ONE_RULE))
    article = tmp_path / "guiding.txt"
    article.write_bytes(ARTICLE.encode("gb18030"))  # as regulations are often saved on Chinese Windows
    code = main(["draft", str(article), "--pack", str(pack)])
    out, err = capsys.readouterr()
    return pack, code, out, err


def test_draft_writes_one_rule_per_phrase_with_citation_and_numbers(drafted) -> None:
    pack, code, out, _err = drafted
    assert code == 0
    path = pack / "draft-guiding.yaml"
    assert f"已写入 wrote {path}: 9 条规则草稿" in out
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=")
    rules = yaml.safe_load(text)["rules"]
    got = [
        (
            r["id"],
            r["citation"]["article"],
            r["params"].get("period"),
            r["params"].get("at_least"),
            r["params"].get("window", {}).get("to"),
            r["params"].get("within_days"),
        )
        for r in rules
    ]
    assert got == EXPECTED
    first = rules[0]
    assert first["citation"] == {
        "document": "《测试规定》",  # the pack's regulation
        "article": 10,
        "text": "党委（党组）常委会会议（党组会议）每半年至少专题研究一次全面从严治党工作",
        "wording": "quoted",
    }
    assert first["provenance"]["basis"] == "draft" and "guiding.txt 第6行" in first["provenance"]["note"]
    assert first["org_kinds"] == ["township", "party_group"]  # the kinds the pack's rules cover
    assert first["match"] == {"types": ["meeting"]}
    trigger = rules[-1]
    assert trigger["subject"] == "trigger" and trigger["trigger"] == {"types": ["meeting"]}
    assert trigger["params"] == {"within_days": 30, "at_least": 1}


def test_every_sentence_not_drafted_is_listed_on_standard_error(drafted) -> None:
    _pack, _code, _out, err = drafted
    lines = err.splitlines()
    listed = [line for line in lines if line.startswith("rules-engine: 未起草 not drafted: ")]
    for words in (
        "党委（党组）书记是全面从严治党第一责任人",
        "重要工作亲自部署、重大问题亲自过问、重点环节亲自协调、重要案件亲自督办",
        "对班子成员定期督导、个别指导、约谈提醒",
        "党委（党组）落实全面从严治党主体责任规定（节选，测试用）",
    ):
        assert any(line.endswith(": " + words) and "no frequency or deadline phrase" in line for line in listed), words
    assert any(":12 第16条 article 16: “5个工作日内”: " in line for line in listed)
    assert any(":12 第16条 article 16: “每两年”: " in line for line in listed)
    assert len(listed) == 6


def test_drafts_lint_clean_but_the_release_check_refuses_them(drafted, capsys) -> None:
    pack, _code, _out, _err = drafted
    assert lint(pack) == []
    assert main(["lint", str(pack)]) == 0
    assert "9 条规则是草稿 draft rule(s), refused by lint --release: DRAFT-10-01" in capsys.readouterr().err
    problems = lint(pack, release=True)
    assert [p.code for p in problems] == ["provenance.draft"] * 9
    assert problems[0].location.file.endswith("draft-guiding.yaml") and problems[0].location.line > 1
    assert "DRAFT-10-01" in problems[0].message
    assert main(["lint", str(pack), "--release"]) == 1
    # reviewed: the basis set by a person, and the release check passes
    path = pack / "draft-guiding.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("basis: draft", "basis: local_practice"), "utf-8")
    assert lint(pack, release=True) == []


def test_a_draft_file_is_never_overwritten(drafted, tmp_path: Path, capsys) -> None:
    pack, _code, _out, _err = drafted
    path = pack / "draft-guiding.yaml"
    before = path.read_bytes()
    assert main(["draft", str(tmp_path / "guiding.txt"), "--pack", str(pack)]) == 2
    assert "file exists, not overwritten" in capsys.readouterr().err
    assert path.read_bytes() == before
    # the ids already in the pack are not taken again
    assert main(["draft", str(tmp_path / "guiding.txt"), "--pack", str(pack), "-o", str(pack / "again.yaml")]) == 0
    again = yaml.safe_load((pack / "again.yaml").read_text(encoding="utf-8"))["rules"]
    assert again[0]["id"] == "DRAFT-10-02"
    assert lint(pack) == []


def test_a_draft_outside_the_pack_or_not_yaml_is_refused(drafted, tmp_path: Path, capsys) -> None:
    pack, _code, _out, _err = drafted
    article = str(tmp_path / "guiding.txt")
    for output in (tmp_path / "outside.yaml", pack / "draft.txt"):
        assert main(["draft", article, "--pack", str(pack), "-o", str(output)]) == 2
        assert "规则草稿须写成规则包中的 .yaml 文件" in capsys.readouterr().err
        assert not output.exists()


def test_nothing_drafted_writes_nothing_and_exits_1(make_pack, tmp_path: Path, capsys) -> None:
    pack = make_pack(("T-01", ONE_RULE))
    article = tmp_path / "none.txt"
    article.write_text("第八条　党委（党组）书记是全面从严治党第一责任人。\n", encoding="utf-8")
    assert main(["draft", str(article), "--pack", str(pack)]) == 1
    err = capsys.readouterr().err
    assert "第8条 article 8: 没有识别出频次或时限" in err and "nothing written" in err
    assert sorted(p.name for p in pack.iterdir()) == ["pack.yaml", "rules.yaml"]


def test_draft_refuses_a_folder_that_is_not_a_pack(tmp_path: Path, capsys) -> None:
    article = tmp_path / "a.txt"
    article.write_text("每月召开一次。\n", encoding="utf-8")
    assert main(["draft", str(article), "--pack", str(tmp_path)]) == 2
    assert "不是规则包" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_hand_written_draft_is_refused_by_the_release_check_only(make_pack) -> None:
    pack = make_pack(("T-01", ONE_RULE))
    rules = pack / "rules.yaml"
    rules.write_text(rules.read_text("utf-8").replace("basis: local_practice", "basis: draft"), "utf-8")
    assert lint(pack) == []
    (problem,) = lint(pack, release=True)
    assert (problem.code, problem.location.line) == ("provenance.draft", 2)
    assert load_rules(pack).rules[0].rule.provenance.basis.value == "draft"


def test_the_shipped_packs_pass_the_release_check() -> None:
    assert lint(RULES, release=True) == []
