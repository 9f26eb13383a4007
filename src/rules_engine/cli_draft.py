"""``rules-engine draft ARTICLE.txt --pack DIR``: rule skeletons from a regulation's text (see
:mod:`rules_engine.drafting`), and the note ``lint`` prints about draft rules."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import RuleSet

DRAFT_DESCRIPTION = """\
在条文中找出频次和时限的说法，每处写成一条规则草稿，放进规则包中的一个新 YAML 文件：引文（第X条）和原句已填好，
provenance.basis 为 draft，人工核对之前 `rules-engine lint --release` 拒绝它们。没有识别出说法的句子列在标准错误上。
文件整体写出或不写，不会覆盖已有文件。
Find frequency and deadline phrases in the text and write one rule skeleton per phrase into a new YAML
file of the pack, with the citation (article) and the sentence filled in and provenance.basis: draft,
which `rules-engine lint --release` refuses until a person has reviewed the rule. Sentences with no
phrase understood are listed on standard error. The file is written whole or not at all, never over an
existing file."""

DRAFT_EPILOG = """\
识别的说法 phrases understood (数字可写作阿拉伯数字或汉字 digits or Chinese numerals):
  每半年至少…一次、至少每季度…1次、一般每月召开1次、每年不少于1次   period + at_least
  每年不超过2次                                               period + at_most
  每年1月31日前、每年3月底前                                     period year + window.to
  应当在…15日内、30天内、两周内                                   subject trigger + within_days
  每月、至少每季度（未写次数 no count）                           period + at_least 1
无法表达而列出的 listed as not expressible: 每两年、每届、5个工作日内、3个月内、每月10日前.
退出码 exit codes: 0 规则已写入 rules written, 1 没有可起草的规则（未写文件）no rule drafted (nothing
written), 2 用法错误或输入无法读取 usage error or unreadable input."""


def add_commands(sub: Any) -> None:
    dr = sub.add_parser(
        "draft",
        help="从条文起草规则 draft rule skeletons from a regulation's text (frequency and deadline phrases)",
        description=DRAFT_DESCRIPTION,
        epilog=DRAFT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dr.add_argument("article", help="条文文本 the regulation's text (UTF-8 or GB18030 .txt)")
    dr.add_argument("--pack", required=True, help="the pack folder (with pack.yaml) to add the draft rules to")
    dr.add_argument(
        "--prefix",
        default="DRAFT",
        help="rule ids start with this: PREFIX-<article>-<n>, e.g. DRAFT-08-01 (default DRAFT)",
    )
    dr.add_argument("--document", help="文件名称 the regulation's name in citations (default: the pack's)")
    dr.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="the new rule file (default: PACK/draft-<ARTICLE's name>.yaml); refused if it exists",
    )
    dr.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from . import draft_rules

    result = draft_rules(args.article, args.pack, prefix=args.prefix, document=args.document, output=args.output)
    for left in result.left:
        s = left.sentence
        where = f"{args.article}:{s.line}" + (f" 第{s.article}条 article {s.article}" if s.article else "")
        zh, en = left.reason
        phrase = f"“{left.phrase}”: " if left.phrase else ""
        print(f"rules-engine: 未起草 not drafted: {where}: {phrase}{zh} / {en}: {s.text}", file=sys.stderr)
    if result.path is None:
        print(
            "rules-engine: 没有可起草的规则，未写文件 no rule drafted, nothing written"
            f" ({len(result.left)} 句 sentences listed above)",
            file=sys.stderr,
        )
        return 1
    for drafted in result.rules:
        print(f"{drafted.id}: “{drafted.phrase.text}” — {drafted.sentence.text}")
    print(f"已写入 wrote {result.path}: {len(result.rules)} 条规则草稿 draft rule(s)")
    if result.left:
        print(f"未起草 not drafted: {len(result.left)} 句 sentence(s) or phrase(s), listed on standard error")
    print(f"下一步 next: 核对后运行 review them, then run: rules-engine lint {args.pack} (--release refuses drafts)")
    return 0


def note_drafts(ruleset: RuleSet) -> None:
    """After a clean ``lint`` (without --release): a note naming the draft rules, which --release refuses."""
    ids = [loaded.rule.id for loaded in ruleset.rules if loaded.rule.provenance.basis.value == "draft"]
    if ids:
        print(
            f"rules-engine: 注意 note: {len(ids)} 条规则是草稿 draft rule(s), refused by lint --release: "
            + ", ".join(ids),
            file=sys.stderr,
        )
