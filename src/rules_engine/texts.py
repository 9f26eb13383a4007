"""The sentences users read about rules and inputs, in Chinese and English, keyed by a stable reason code.

One table, :data:`TEXTS`, holds every text. About inputs and duties: why an input row was rejected,
excluded or warned about (``row.*``), why a duty does not apply (``na.*``) or cannot be determined
(``unk.*``, and ``duty.*`` in the duties list), and why a record was not counted for a duty
(``candidate.*``), and why an entry of an input folder is not read (``folder.*``). About rule packs and the
files around them, the codes of
:class:`~rules_engine.errors.Problem` (``file.*``, ``yaml.*``, ``pack.*``, ``rule.*``, ``overlay.*``,
``provenance.*``, ``param.*``, ``waiver.*``, ``scoring.*``): a key is the problem's code, or the code and
``#situation`` when one code is raised in situations worded differently (``pack.no_manifest#file``);
:data:`HINTS` holds the fixed hint of a key (a situation without its own hint has its code's). A hint
built from what was found (a "did you mean") is made where the problem is found.

A text is a pair of :meth:`str.format` templates (so a literal brace is written twice); :func:`text` fills
both from the same arguments, and an argument given as a ``(zh, en)`` pair fills each language with its own
part. ``rule.invalid.<kind>`` codes are made from pydantic's error kinds, an open set: the kinds listed
have their own text, any other has the family's ``rule.invalid.*`` text. The validator of rule files also
checks waiver files (same codes), parameter overrides (``param.*``, framed by ``frame.param``) and scoring
files (``scoring.*``); ``frame.*`` entries are not codes but the words put around another text. The checks
of the models themselves (a rule's consistency, a waiver's or a term's dates, a roster's or a scoring file's
words) raise :func:`rules_engine.model.refusal.refuse` with their own code, and become problems (or rejected
roster rows) under it.
``tests/test_texts.py`` checks that every code the source uses has a text here, that no text is left
unused, and that each call gives a text exactly the values it shows.

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
    "row.field.wrong_type": (
        "字段 '{name}' 应为{kind}，当前值不符",
        "field '{name}' must be {kind}",
    ),
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
    "row.kind.unknown": ("未知组织类型 '{word}'{hint}", "unknown organisation kind '{word}'{hint}"),
    "row.role.unknown": ("未知职务 '{word}'{hint}", "unknown role '{word}'{hint}"),
    "row.kind.unknown#ambiguous": (
        "组织类型 '{word}' 可指多个规则包的类型{hint}",
        "organisation kind '{word}' names the kinds of more than one pack{hint}",
    ),
    "row.role.unknown#ambiguous": (
        "职务 '{word}' 可指多个规则包的职务{hint}",
        "role '{word}' names roles of more than one pack{hint}",
    ),
    "row.group.unknown": ("未知小组 '{word}'{hint}", "unknown group '{word}'{hint}"),
    "row.group.unknown#ambiguous": (
        "小组 '{word}' 可指多个规则包的小组{hint}",
        "group '{word}' names groups of more than one pack{hint}",
    ),
    "row.group.not_here": (
        "组织 {org_id}（{kind}）不设小组 {group}（可设于：{kinds}）",
        "organisation {org_id} ({kind}) has no group {group} (it exists in: {kinds})",
    ),
    "row.group.by_roles": (
        "小组 {group} 的成员由职务确定（{roles}），不另登记",
        "the members of group {group} are the holders of its roles ({roles}); they are not listed",
    ),
    "row.group.unknown_org": (
        "小组成员所在组织 '{org_id}' 不在名册中（人员 {person}）",
        "membership in unknown organisation '{org_id}' (person {person})",
    ),
    "row.attribute.unknown": (
        "组织类型 {kind} 没有属性 '{name}'{hint}",
        "organisation kind {kind} has no attribute '{name}'{hint}",
    ),
    "row.attribute.type": (
        "属性 {name} 应为{type}，不是 {value}",
        "attribute {name} must be {type}, not {value}",
    ),
    "row.post.ends_before_start": (
        "任期结束早于开始（{end} 早于 {start}）",
        "the term ends before it starts ({end} before {start})",
    ),
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
    # ------------------------------------------------------------ entries of an input folder that are not read
    # left out with a note (they cannot hold records)
    "folder.lock_file": (
        "未读取：Office 锁定文件，对应工作簿正被打开，未保存的修改读不到",
        "not read: an Office lock file; its workbook is open, and changes not yet saved are not read",
    ),
    "folder.hidden": ("未读取：隐藏文件", "not read: a hidden file"),
    "folder.sub_folder": (
        "未读取：子目录不查找，需要时作为输入另行给出",
        "not read: sub-folders are not searched; give it as an input of its own",
    ),
    "folder.system_file": ("未读取：系统文件", "not read: a system file"),
    "folder.documentation": ("未读取：说明文档", "not read: documentation"),
    "folder.script": ("未读取：脚本", "not read: a script"),
    "folder.yaml": (
        "未读取：YAML 文件不是记录；名册须命名为 roster.yaml，豁免文件用 --waivers 给出",
        "not read: YAML is not records; the roster must be named roster.yaml, waivers are given with --waivers",
    ),
    "folder.other_roster": ("不用作名册（名册为 {roster}）", "not used as the roster, which is {roster}"),
    # refused (they might hold records)
    "folder.unsupported": ("不支持的文件格式", "not a format that is read"),
    "folder.no_sheets": (
        "工作簿中没有 活动记录/records 或 组织/organisations 工作表",
        "the workbook has no records or organisations sheet",
    ),
    # ------------------------------------------------------------ duties: not applicable
    "na.retired": ("该规则已被本地实施规则包停用", "retired here by a local overlay pack"),
    "na.kind_not_covered": ("该规则不适用于此类组织", "the rule does not cover this kind of organisation"),
    "na.applies_when": (
        "规则仅适用于{condition}的组织，本组织{actual}",
        "the rule applies only where {condition}; here {actual}",
    ),
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
    "unk.attribute_missing": (
        "名册未填写组织属性 {name}，无法判定规则是否适用",
        "the roster gives no {name} for this organisation, so whether the rule applies cannot be decided",
    ),
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
    "reason.lacking": (
        "另有 {n} 条记录缺少筛选条件读取的字段（{fields}），未计入",
        "{n} record(s) lacking a field a filter reads ({fields}) were set aside",
    ),
    "reason.lacking_undecided": (
        "另有 {n} 条记录缺少筛选条件读取的字段（{fields}），未计入，但可能改变结论，无法判定",
        "{n} record(s) lacking a field a filter reads ({fields}) were set aside and could change the outcome;"
        " so this cannot be decided",
    ),
    "candidate.quorum": ("到会 {present}，未达到{needed}", "attendance {present} does not reach {needed}"),
    "candidate.where": ("字段 {field} 不满足条件 {condition}", "field {field} does not meet {condition}"),
    "candidate.lacks": (
        "记录缺少筛选条件读取的字段 {field}，不作为证据",
        "the record lacks the field {field} a filter reads: not evidence",
    ),
    # ============================================================ problems of rule packs and their files
    # ------------------------------------------------------------ files and YAML
    "file.not_found": ("文件或目录不存在", "no such file or folder"),
    "file.unreadable": ("无法读取{what}：{error}", "cannot read this {what}: {error}"),
    "file.too_large": ("文件过大（超过 {limit} 字节）", "file larger than {limit} bytes"),
    "yaml.encoding": ("文件不是 UTF-8 编码", "file is not UTF-8"),
    "yaml.bad_character": (
        "含有不允许的控制字符 {char}",
        "contains a control character {char} that YAML does not allow",
    ),
    "yaml.bad_character#surrogate": (
        "含有无效的代理字符（\\ud800-\\udfff）",
        "contains a lone surrogate (\\ud800-\\udfff)",
    ),
    "yaml.syntax": ("YAML 语法错误：{problem}", "YAML syntax error: {problem}"),
    "yaml.syntax#context": ("YAML 语法错误：{problem}（{context}）", "YAML syntax error: {problem} ({context})"),
    "yaml.syntax#quote": ("YAML 语法错误：引号没有闭合", "YAML syntax error: a quote is not closed"),
    "yaml.too_large": (
        "文档展开后超过 {limit} 个节点（别名引用过多）",
        "more than {limit} nodes once aliases are expanded",
    ),
    "yaml.too_deep": ("嵌套过深", "nesting too deep"),
    "yaml.merge_key": ("不支持 YAML 合并键 <<", "YAML merge keys (<<) are not supported"),
    "yaml.tag": (
        "不允许使用 YAML 标签 {tag}",
        "YAML tag {tag} is not allowed (rule files never build objects or run code)",
    ),
    "yaml.complex_key": ("键必须是简单值", "a key must be a plain value"),
    "yaml.duplicate_key": (
        "重复的键 '{key}'（首次出现在第 {line} 行）",
        "duplicate key '{key}' (first at line {line})",
    ),
    # ------------------------------------------------------------ packs: finding and reading them
    "pack.two_manifests": ("同一目录中有两个规则包清单 {names}", "two pack manifests in one folder: {names}"),
    "pack.manifest_name": (
        "规则包清单须命名为 pack.yaml（或 pack.yml），'{name}' 不被读取",
        "a pack manifest must be named pack.yaml (or pack.yml); '{name}' is not read",
    ),
    "pack.no_manifest": (
        "目录中有规则文件，但它和上级目录都没有 pack.yaml，无法确定规则包",
        "YAML files in a folder with no pack.yaml in it or above it, so they belong to no pack",
    ),
    "pack.no_manifest#file": (
        "规则文件不在规则包中（上级目录无 pack.yaml）",
        "rule file is not inside a pack (no pack.yaml above it)",
    ),
    "pack.none": ("目录中没有规则包（没有 pack.yaml）", "no rule pack in this folder (no pack.yaml in it or below it)"),
    "pack.none_installed": ("没有安装任何规则包", "no rule packs are installed"),
    "pack.import.unknown": ("未知的导入规则包 '{pack}'", "unknown imported pack '{pack}'"),
    "pack.migrate.imports": (
        "v1 规则包清单已有 imports：请手工改为 v2（format: rules-engine/v2，imports 中加入 cpc-basic）",
        "a v1 manifest with imports: migrate it by hand (format: rules-engine/v2, cpc-basic among the imports)",
    ),
    "pack.migrate.differs": (
        "迁移后规则与迁移前不同（{rules}），未写入任何文件",
        "the rules differ after migration ({rules}); nothing was written",
    ),
    "rule.term.unknown": ("未知{what} '{name}'", "unknown {what} '{name}'"),
    "rule.term.ambiguous": (
        "{what} '{name}' 不明确：可指 {candidates}",
        "ambiguous {what} '{name}': it may mean {candidates}",
    ),
    "rule.term.not_imported": (
        "{what} '{name}' 属于未导入的规则包 {owner}",
        "{what} '{name}' belongs to {owner}, which this pack does not import",
    ),
    "rule.term.bad_key": (
        "术语名 '{key}' 只能由字母、数字和 _ 组成",
        "term name '{key}' may hold letters, digits and _ only",
    ),
    "rule.term.both_groups": (
        "组织类型不能同时计为地方和部门（locality 与 department）",
        "an organisation kind cannot count as both a locality and a department",
    ),
    "rule.applies_when.subject": (
        "applies_when 的每项须且只须有 attribute、has_group、lacks_group 之一",
        "each applies_when item needs exactly one of attribute, has_group, lacks_group",
    ),
    "rule.applies_when.test": (
        "属性条件须且只须有一个比较（at_least、more_than、at_most、less_than、equals、in）",
        "an attribute condition needs exactly one test (at_least, more_than, at_most, less_than, equals, in)",
    ),
    "rule.applies_when.group_test": (
        "has_group / lacks_group 条件不带比较",
        "a has_group / lacks_group condition takes no test",
    ),
    "rule.applies_when.escalation": (
        "升级规则不写 applies_when：条件写在它读取结论的规则上",
        "an escalation rule has no applies_when: put the conditions on the rules whose findings it reads",
    ),
    "rule.applies_when.unknown_attribute": (
        "规则适用的组织类型都没有属性 '{name}'",
        "no organisation kind the rule covers has the attribute '{name}'",
    ),
    "pack.unknown": (
        "既不是文件或目录，也不是已安装规则包的编号",
        "no such file or folder, and no installed pack has this id",
    ),
    "pack.duplicate_id": (
        "规则包编号重复 '{pack}'：{origin} 与 {first}（{root}）都提供此规则包",
        "duplicate pack id '{pack}': provided by {origin} and by {first} ({root})",
    ),
    "pack.entry_point": (
        "入口点应只写包名，不带 ':{attr}'",
        "the entry point's value must name a package, without ':{attr}'",
    ),
    "pack.entry_point#missing": (
        "找不到入口点指向的包 '{module}'{error}",
        "the entry point's package '{module}' cannot be found{error}",
    ),
    # ------------------------------------------------------------ rule files: validation
    "rule.not_a_mapping": ("文件为空", "the file is empty"),
    "rule.not_a_mapping#list": ("文件顶层是列表，应为键值映射", "the top level is a list; it must be a mapping"),
    "rule.not_a_mapping#scalar": ("文件顶层应为键值映射", "the top level must be a mapping"),
    "rule.unknown_key": ("未知的键 '{key}'", "unknown key '{key}'"),
    "rule.missing_key": ("缺少必填项 '{key}'", "missing required key '{key}'"),
    # a value_error no validator of ours raises (each has its own code, below): pydantic's message
    "rule.invalid.value_error": ("'{field}' 无效：{error}", "'{field}' is invalid: {error}"),
    # pydantic's error kinds: {value} is frame.value, or nothing for a mapping or a list
    "rule.invalid.*": ("'{field}' 取值无效：{error}{value}", "'{field}' is invalid: {error}{value}"),
    "rule.invalid.int_parsing": ("'{field}' 应为整数{value}", "'{field}' must be a whole number{value}"),
    "rule.invalid.int_type": ("'{field}' 应为整数{value}", "'{field}' must be a whole number{value}"),
    "rule.invalid.int_from_float": ("'{field}' 应为整数{value}", "'{field}' must be a whole number{value}"),
    "rule.invalid.float_parsing": ("'{field}' 应为数字{value}", "'{field}' must be a number{value}"),
    "rule.invalid.float_type": ("'{field}' 应为数字{value}", "'{field}' must be a number{value}"),
    "rule.invalid.bool_parsing": ("'{field}' 应为 true 或 false{value}", "'{field}' must be true or false{value}"),
    "rule.invalid.bool_type": ("'{field}' 应为 true 或 false{value}", "'{field}' must be true or false{value}"),
    "rule.invalid.string_type": ("'{field}' 应为文字{value}", "'{field}' must be text{value}"),
    "rule.invalid.list_type": ("'{field}' 应为列表{value}", "'{field}' must be a list{value}"),
    "rule.invalid.model_type": ("'{field}' 应为键值映射{value}", "'{field}' must be a mapping of keys{value}"),
    "rule.invalid.dict_type": ("'{field}' 应为键值映射{value}", "'{field}' must be a mapping of keys{value}"),
    "rule.invalid.date_parsing": ("'{field}' 日期无效{value}", "'{field}' not a valid date{value}"),
    "rule.invalid.date_from_datetime_parsing": ("'{field}' 日期无效{value}", "'{field}' not a valid date{value}"),
    "rule.invalid.date_type": ("'{field}' 日期无效{value}", "'{field}' not a valid date{value}"),
    "rule.invalid.greater_than_equal": ("'{field}' 不能小于 {ge}{value}", "'{field}' must be at least {ge}{value}"),
    "rule.invalid.less_than_equal": ("'{field}' 不能大于 {le}{value}", "'{field}' must be at most {le}{value}"),
    "rule.invalid.too_short": ("'{field}' 不能为空{value}", "'{field}' must not be empty{value}"),
    "rule.invalid.enum": ("'{field}' 不是可选的值{value}", "'{field}' is not one of the allowed values{value}"),
    "rule.invalid.literal_error": (
        "'{field}' 不是可选的值{value}",
        "'{field}' is not one of the allowed values{value}",
    ),
    "rule.invalid.string_pattern_mismatch": ("'{field}' 格式不符{value}", "'{field}' has the wrong form{value}"),
    "rule.invalid.string_pattern_mismatch#id": (
        "'{field}' 编号只能含字母、数字、_ . -，并以字母开头{value}",
        "'{field}' an id has letters, digits, _ . - and starts with a letter{value}",
    ),
    "rule.invalid.string_pattern_mismatch#version": (
        "'{field}' 版本号应为 主.次.修订{value}",
        "'{field}' a version is MAJOR.MINOR.PATCH{value}",
    ),
    "rule.invalid.string_pattern_mismatch#from": ("'{field}' 应为 月-日{value}", "'{field}' must be MM-DD{value}"),
    "rule.invalid.string_pattern_mismatch#to": ("'{field}' 应为 月-日{value}", "'{field}' must be MM-DD{value}"),
    # ------------------------------------------------------------ rule files: the models' own checks (§3.5)
    # raised by the validators of rules_engine.model (model/refusal.py) once a rule's fields are valid
    "rule.match.missing": ("须给出 match：哪些记录计数", "'match' is required: which records count"),
    "rule.match.repeated_type": ("记录类型重复：{types}", "record type listed twice: {types}"),
    "rule.match.ref_not_allowed": (
        "对象为 {kind} 时不能引用 '{ref}'；可用：{allowed}",
        "'{ref}' cannot be used with subject '{kind}'; allowed: {allowed}",
    ),
    "rule.match.portfolio": (
        "match.portfolio 仅用于对象为 portfolio 的规则",
        "match.portfolio: subject needs subject: portfolio",
    ),
    "rule.subject.no_roles": ("对象为 {kind} 时须给出 roles", "subject '{kind}' needs 'roles'"),
    "rule.subject.no_pair": (
        "对象为 pair 时须给出 pair: {{first: [...], second: [...]}}",
        "subject 'pair' needs 'pair: {{first: [...], second: [...]}}'",
    ),
    "rule.trigger.incomplete": (
        "对象为 trigger 时须给出 trigger 和 params.within_days",
        "subject 'trigger' needs 'trigger' and params.within_days",
    ),
    "rule.trigger.not_trigger_subject": (
        "仅触发型规则（subject: trigger）可写 trigger",
        "'trigger' is only for subject: trigger",
    ),
    "rule.trigger.period": (
        "触发型规则不写 params.period：其期间为每条触发记录后的 within_days 天",
        "a trigger rule has no params.period: its window is within_days after each trigger",
    ),
    "rule.trigger.portfolio": (
        "不能使用 trigger.portfolio：触发记录没有对象的分管领域",
        "trigger.portfolio cannot be used: a trigger record has no subject portfolio",
    ),
    "rule.params.no_period": (
        "须给出周期 params.period（year、half_year、quarter 或 month）",
        "params.period is required (year, half_year, quarter or month)",
    ),
    "rule.params.no_bound": ("params 须给出 at_least 或 at_most", "params needs at_least or at_most"),
    "rule.params.bounds_reversed": (
        "至少次数 at_least（{at_least}）大于至多次数 at_most（{at_most}）",
        "at_least ({at_least}) is greater than at_most ({at_most})",
    ),
    "rule.params.within_days": (
        "params.within_days 仅用于触发型规则（subject: trigger）",
        "params.within_days is only for subject: trigger",
    ),
    "rule.attendance.no_share": (
        "attendance: true 须配合到会比例 params.min_share",
        "attendance: true needs params.min_share",
    ),
    "rule.attendance.share_alone": (
        "到会比例 params.min_share 须配合 attendance: true",
        "params.min_share needs attendance: true",
    ),
    "rule.where.empty": ("筛选条件为空", "the condition is empty"),
    "rule.where.unknown_field": (
        "未声明的记录字段 '{name}'（须在 pack.yaml 的 record_fields 中声明）",
        "undeclared record field '{name}' (declare it in pack.yaml's record_fields)",
    ),
    "rule.where.bad_condition": (
        "字段 '{name}'（{kind}）不能使用条件 {condition}；可用：{allowed}",
        "field '{name}' ({kind}) cannot take the condition {condition}; it takes: {allowed}",
    ),
    "rule.where.bad_value": (
        "字段 '{name}'（{kind}）的条件 {condition} 的值 {value} 类型不符",
        "the value {value} of condition {condition} does not fit field '{name}' ({kind})",
    ),
    "rule.quorum.one_share": (
        "quorum 须且只须给出 more_than 或 at_least 之一",
        "quorum needs exactly one of more_than and at_least",
    ),
    "rule.quorum.with_attendance": (
        "quorum 不能与 attendance: true 同用（attendance 即 quorum: {{at_least: min_share, of: organisation}}）",
        "quorum cannot be used with attendance: true (which means quorum: {{at_least: min_share, of: organisation}})",
    ),
    "rule.quorum.attendees": (
        "quorum.attendees 须为多人字段（participants 或 type: people 的字段），不能是 '{name}'",
        "quorum.attendees must be a people field (participants or one of type: people), not '{name}'",
    ),
    "rule.quorum.needs_match": ("quorum 仅用于计记录的规则", "quorum is only for rules that count records"),
    "rule.record_fields.builtin": (
        "record_fields 不能重新声明内置字段 '{name}'",
        "record_fields cannot declare the built-in field '{name}'",
    ),
    "rule.record_fields.conflict": (
        "记录字段 '{name}' 在规则包 {first} 与 {second} 中的声明不同（类型或名称）",
        "record field '{name}' is declared differently by packs {first} and {second} (type or names)",
    ),
    "rule.record_fields.header": (
        "记录字段的表头名 '{header}' 已用于 '{other}'",
        "the header name '{header}' of a record field already names '{other}'",
    ),
    "rule.share.invalid": (
        "比例应为数字或 '2/3' 这样的分数，当前为 {value}",
        "a share must be a number or a fraction like '2/3', not {value}",
    ),
    "rule.share.divides_by_zero": ("比例 {value} 的分母为 0", "share {value} divides by zero"),
    "rule.share.out_of_range": (
        "比例应大于 0 且不大于 1，当前为 {value}",
        "a share must be in (0, 1], not {value}",
    ),
    "rule.window.no_such_day": ("日期 '{day}' 不存在", "'{day}' is not a day of the year"),
    "rule.effective.ends_before_start": (
        "废止日期 effective.to 早于施行日期 effective.from（{end} 早于 {start}）",
        "effective.to is before effective.from ({end} before {start})",
    ),
    "rule.message.bad_template": ("消息模板有误：{error}", "bad message template: {error}"),
    "rule.message.unknown_placeholder": ("未知占位符 {placeholder}", "unknown placeholder {placeholder}"),
    "rule.message.placeholder_format": (
        "占位符 {placeholder} 不能带格式说明或转换",
        "placeholder {placeholder} may not carry a format spec or conversion",
    ),
    "rule.escalation.has_match": (
        "升级规则不写 match，其对象只能是 organisation 或 person",
        "an escalation rule has no 'match' and its subject is organisation or person",
    ),
    "rule.escalation.reads_itself": (
        "升级规则 {rule} 读取了自身的结论（循环引用）",
        "escalation rule {rule} reads its own findings",
    ),
    "rule.escalation.params": (
        "升级规则不写 params：阈值写在 escalate.raise_at 或 raise_share 中",
        "an escalation rule takes no params: its threshold is escalate.raise_at or raise_share",
    ),
    "rule.escalation.threshold": (
        "escalate 须给出 raise_at 与 raise_share 二者之一（只能一个）",
        "escalate needs exactly one of raise_at and raise_share",
    ),
    "rule.escalation.share_not_people": (
        "raise_share 须配合 count: people",
        "raise_share needs count: people",
    ),
    "rule.record_types.missing": (
        "须在 pack.yaml 中声明记录类型词表 record_types",
        "record_types is required in pack.yaml",
    ),
    "provenance.tolerance_confidence": (
        "容差是本规则包的选择，不写 confidence",
        "a tolerance is the pack's own choice: give it no confidence",
    ),
    "provenance.no_confidence": ("依据为 {basis} 时须写 confidence", "basis {basis} needs a confidence"),
    # ------------------------------------------------------------ rule packs: checks across rules and files
    "rule.duplicate_id": (
        "规则编号重复 '{rule}'（首次定义于 {first}）",
        "duplicate rule id '{rule}' (first defined at {first})",
    ),
    "rule.unknown_record_type": (
        "未知的记录类型 '{name}'（规则包 pack.yaml 的 record_types 中未声明）",
        "unknown record type '{name}' (not declared in pack.yaml record_types)",
    ),
    "rule.unknown_record_type#overlay": (
        "未知的记录类型 '{name}'（本覆盖包及其基础包都未声明）",
        "unknown record type '{name}' (not in this overlay or its base pack)",
    ),
    "rule.impossible_window": ("期内时限的开始晚于结束", "deadline window starts after it ends"),
    "rule.unknown_rule": ("升级规则引用了不存在的规则 '{rule}'", "escalation reads unknown rule '{rule}'"),
    "rule.escalation_cycle": ("升级规则循环引用：{cycle}", "escalation rules form a cycle: {cycle}"),
    "rule.decisions_incomplete": (
        "规则 {rule} 的判定表不完整{scope}：{count} 种事实没有任何判定，如 {facts}",
        "the decision table of rule {rule}{scope} is incomplete: {count} kinds of fact match no decision, e.g. {facts}",
    ),
    "rule.decisions_overlap": (
        "规则 {rule} 的判定表有重叠{scope}：{count} 种事实有多个判定，如 {facts}",
        "the decision table of rule {rule}{scope} overlaps: {count} kinds of fact match more than one decision,"
        " e.g. {facts}",
    ),
    "overlay.unknown_base": (
        "覆盖包扩展的规则包 '{base}' 未加载或本身是覆盖包",
        "overlay extends '{base}', which is not loaded (or is itself an overlay)",
    ),
    "overlay.invalid_params": (
        "覆盖包对规则 {rule} 的参数无效：{error}",
        "the overlay's parameters for {rule} are invalid: {error}",
    ),
    "overlay.unknown_rule": (
        "覆盖包引用了基础包 {base} 中不存在的规则 '{rule}'",
        "overlay refers to rule '{rule}', which {base} does not have",
    ),
    # ------------------------------------------------------------ a rule's provenance (framed by frame.rule)
    "provenance.duplicate_source": (
        "出处编号 '{source}' 重复或与保留名 citation 相同",
        "source id '{source}' is used twice or is the reserved name 'citation'",
    ),
    "provenance.verified_text_unsourced": (
        "称依据已核实的原文（verified_text），但没有写明在何处见到原文的出处",
        "claims verified text, but no source entry says where the text was seen",
    ),
    "provenance.verified_text_unsourced#source": (
        "出处 '{source}' 称已核实原文，但未写明在何处见到原文（seen_in）",
        "source '{source}' claims verified text but does not say where the text was seen (seen_in)",
    ),
    "provenance.verified_text_unsourced#part": (
        "{part} 称依据已核实的原文，但未引用写明在何处见到原文的出处",
        "{part} claims verified text but names no source that says where the text was seen",
    ),
    "provenance.unknown_source": ("{part} 引用了不存在的出处 '{source}'", "{part} names the unknown source '{source}'"),
    "provenance.duplicate_number": ("数字 '{param}' 的依据写了两次", "the number '{param}' is stated twice"),
    "provenance.unknown_number": ("规则没有设定数字 '{param}'", "the rule sets no number '{param}'"),
    "provenance.number_not_stated": (
        "未说明数字 {missing} 的依据（写了 numbers 就须逐项写全）",
        "no basis stated for {missing} (once numbers are listed, every number needs one)",
    ),
    "provenance.overstated_confidence": (
        "整条规则的可信度 {confidence} 高于 {part} 的 {weakest}",
        "the rule's confidence {confidence} is above that of {part} ({weakest})",
    ),
    "provenance.overstated_basis": (
        "整条规则称依据已核实的原文，但 {part} 的依据是 {basis}",
        "the rule claims verified text, but {part} rests on {basis}",
    ),
    "provenance.draft": (
        "规则是草稿（provenance.basis: draft），尚未经人工核对，不能发布",
        "the rule is a draft (provenance.basis: draft), not yet reviewed by a person: not for a release",
    ),
    # ------------------------------------------------------------ parameter overrides (compile_rules(params=...))
    "param.not_a_mapping": (
        "规则 {rule} 的参数覆盖应为 {{参数: 值}} 映射",
        "the overrides of rule {rule} must be a {{name: value}} mapping",
    ),
    "param.null": ("参数 {param} 的值为空", "parameter {param} is null"),
    "param.unknown_rule": ("参数覆盖指向未知规则 '{rule}'", "override for unknown rule '{rule}'"),
    "param.unknown_name": ("规则 {rule} 没有参数 '{name}'", "rule {rule} has no parameter '{name}'"),
    "param.invalid": ("参数覆盖无效（规则 {rule}）: {error}", "invalid override of rule {rule}: {error}"),
    # ------------------------------------------------------------ waiver files and scoring files
    "waiver.unknown_rule": ("豁免指向未知规则 '{rule}'", "waiver for unknown rule '{rule}'"),
    "waiver.duplicate_id": (
        "豁免编号重复 '{waiver}'（另见 {first}）",
        "duplicate waiver id '{waiver}' (also at {first})",
    ),
    "waiver.ends_before_start": (
        "豁免结束早于开始（to {end} 早于 from {start}）",
        "waiver 'to' is before 'from' ({end} before {start})",
    ),
    "scoring.weight.negative": (
        "'{key}' 的权重不能为负（{weight}）",
        "the weight of '{key}' cannot be negative ({weight})",
    ),
    "scoring.cap.not_positive": (
        "'{key}' 的上限须大于 0（{cap}）",
        "the cap of '{key}' must be more than 0 ({cap})",
    ),
    "scoring.pending.out_of_range": (
        "应为 neutral 或 0 到 1 之间的数（{value}）",
        "must be neutral or a number from 0 to 1 ({value})",
    ),
    "scoring.credits.order": (
        "已履行的得分须高于未履行（fulfilled {fulfilled}，violated {violated}）",
        "fulfilled must earn more than violated (fulfilled {fulfilled}, violated {violated})",
    ),
    "scoring.groups.unknown_kind": ("未知组织类型 '{word}'{hint}", "unknown organisation kind '{word}'{hint}"),
    "scoring.groups.overlap": (
        "组织类型不能同时属于地方和部门：{kinds}",
        "a kind cannot be both locality and department: {kinds}",
    ),
    "scoring.unknown_rule": (
        "评分文件中的规则 '{rule}' 不在报告的规则包中",
        "rule '{rule}' of the scoring file is in none of the report's packs",
    ),
    # ------------------------------------------------------------ frames: words put around another text
    "frame.rule": ("规则 {rule}：{message}", "rule {rule}: {message}"),
    "frame.param": ("参数 {param}: {message}", "parameter {param}: {message}"),
    "frame.value": ("（当前值 {value}）", " (value {value})"),
    "frame.scope": ("（适用于 {orgs} 及其下级）", " (as it applies in {orgs} and below)"),
    # ============================================================ errors: what the API and the command line refuse
    # One line each (rules_engine.errors.Coded.of, str(error)): the Chinese text, then the English. The Chinese
    # may leave a value to the English that follows it on the same line; each value is shown once at least.
    # ------------------------------------------------------------ command-line arguments (UsageError)
    "usage.as_of.invalid": ("--as-of 日期无效", "invalid date '{value}' (YYYY-MM-DD)"),
    "usage.dataset.format": ("--dataset 只用于 Parquet", "is for --format parquet only, not {format}"),
    "usage.dataset.output": (
        "--dataset 需要一个 -o 文件夹",
        "needs one -o naming the folder to write (no other output, no --summary)",
    ),
    "usage.dataset.option": ("--dataset 不能与 {option} 同用", "cannot be used with {option}"),
    "usage.report_format.not_json": ("--report-format 只用于 JSON 输出", "is for JSON output only"),
    "usage.report_format.not_json#format": (
        "--report-format 只用于 --format json",
        "is for --format json only, not {format}",
    ),
    "usage.rule.unknown": ("未知规则", "unknown rule '{rule}'. {hint}"),
    "usage.rule.unknown#filter": ("--rule: 没有规则", "no rule '{rule}'. {hint}"),
    "usage.webhook.secret": (
        "--webhook 需要签名密钥（环境变量 {env}）",
        "--webhook needs the signing secret in the environment variable {env}",
    ),
    "usage.param.syntax": ("--param 应为 RULE.NAME=VALUE", "expected RULE.NAME=VALUE, got '{item}'"),
    "usage.param.value": (
        "--param {key}: 值无法解析；写作数字、文字或 YAML 映射",
        "cannot read the value '{raw}' ({reason}); write a number, text or a YAML mapping such as"
        " {{from: 01-01, to: 06-30}}",
    ),
    "usage.folder.unreadable_files": (
        "输入目录 {folder} 中有读不了的文件：请转换为可读的格式（{suffixes}）、移出该目录，或逐个给出输入文件",
        "files in the input folder {folder} that are not read: convert them to a format that is read, move them"
        " out of the folder, or give the input files one by one:{listed}",
    ),
    "usage.path.not_found": ("文件或目录不存在", "no such file or folder: {path}"),
    "usage.file.not_found": ("文件不存在", "no such file: {path}"),
    "usage.roster.missing": (
        "没有名册",
        "no roster: give roster.yaml, a workbook with a 组织/organisations sheet, or a folder with one",
    ),
    "usage.roster.not_in_folder": (
        "目录中没有名册",
        "no roster in the folder {folder} (roster.yaml, roster.json, a workbook)",
    ),
    "usage.records.missing": ("没有活动记录", "no record files ({suffixes})"),
    "usage.show.unknown_status": ("--show: 未知状态", "unknown status '{word}' (choose from {choices}, or all)"),
    "usage.summary.not_table": ("--summary 只用于表格", "is for the table, not --format {format}"),
    "usage.output.format_mismatch": (
        "--format {format} 与 -o {path} 的扩展名不符；多个 -o 时省略 --format",
        "does not match the extension of -o {path} ({named}); with several -o, leave --format out: each file's"
        " extension gives its format",
    ),
    "usage.output.unknown_extension": (
        "无法从扩展名确定格式",
        "cannot tell the format from '{name}': use one of {extensions}",
    ),
    "usage.output.unknown_extension#report": (
        "无法从扩展名确定格式",
        "cannot tell the format from '{name}': give --format xlsx|html or an -o ending in .xlsx or .html",
    ),
    "usage.output.unknown_extension#reports": (
        "无法从扩展名确定格式",
        "cannot tell the format from '{name}': give --format xlsx|html or an -o ending in .xlsx or .html"
        " (also .json .csv .xml .parquet)",
    ),
    "usage.output.same_file": ("两个 -o 指向同一文件", "two -o name the same file: {path}"),
    "usage.report.needs_output": ("--format {format} 需要 -o 文件", "needs -o FILE (the report is a file to open)"),
    "usage.org.unknown": ("--org: 名册和报告中没有组织", "no organisation '{org}'. {hint}"),
    "usage.org.unknown#report": ("--org: 报告中没有组织", "no organisation '{org}' in the report"),
    "usage.explain.needs": (
        "说明一项结论需要 --subject（或 --org）、--period 和输入",
        "explaining a finding needs --subject (or --org), --period and the inputs: rules-engine explain RULE_ID"
        " --subject ID --period P INPUTS ...",
    ),
    "usage.explain.no_finding": (
        "规则 {rule} 在 {period} 没有关于 '{who}' 的结论",
        "no finding of {rule} about '{who}' in {period}. {hint}",
    ),
    "usage.group.syntax": ("--group 应写作 KIND=GROUP", "must be KIND=GROUP, e.g. grassroots=locality; got '{item}'"),
    "usage.cluster.invalid": (
        "应为 local:N 或 dask://主机:端口",
        "expected local:N (N worker processes on this machine) or dask://HOST:PORT (a Dask scheduler), got '{value}'",
    ),
    "usage.workers.invalid": ("应为正整数或 auto", "expected a positive whole number or auto, got '{value}'"),
    "usage.rectifications.needs_db": (
        "--rectifications 须与 --db 同用",
        "--rectifications needs --db (the store whose rectifications)",
    ),
    "usage.rectification.invalid": (
        "整改编号无效",
        "invalid rectification number '{value}' (a number, see: rules-engine rectify list)",
    ),
    # ------------------------------------------------------------ arguments of the API (InputError)
    "arg.as_of.invalid": ("评价日期无效", "invalid as-of date '{value}' (expected YYYY-MM-DD)"),
    "arg.as_of.after_report": (
        "日期 {day} 晚于报告的评价日期 {report_day}，报告不知道之后的记录",
        "{day} is after the report's evaluation date {report_day}: the report cannot know later records",
    ),
    "arg.horizon.invalid": ("期限范围无效", "invalid horizon '{value}' (写作 write e.g. 30d, 30 or 4w: days or weeks)"),
    "arg.horizon.negative": ("期限范围不能为负", "the horizon cannot be negative: {days} days"),
    "arg.period.type": ("期间应为文字或 Period", "period must be text or a Period, got {type}"),
    "arg.params.shape": (
        "params 应为 {{规则编号: {{参数: 值}}}}",
        "params must map rule ids to {{name: value}} mappings",
    ),
    "arg.roster.type": ("名册应为文件、映射或 Roster", "roster must be a file, a mapping or a Roster, got {type}"),
    "arg.records.type": ("记录应为文件或记录列表", "records must be files or an iterable of records, got {type}"),
    "arg.waivers.type": ("waivers 应为文件列表", 'waivers must be a list of files, e.g. ["waivers.yaml"]'),
    "arg.dataset.format": ("数据集只用于 Parquet", "a dataset is written as Parquet only, not format={format}"),
    "arg.dataset.out": ("数据集需要输出文件夹路径", "a dataset needs the path of a folder to write, not {out}"),
    "arg.format.unknown": ("未知输出格式", "unknown report format '{format}' (json, csv, junit, parquet)"),
    "arg.report_format.unknown": ("未知报告版式", "unknown report format '{name}' (v1, v2)"),
    "arg.token.missing": ("缺少或无效的令牌", "missing or invalid token (Authorization: Bearer ...)"),
    "arg.token.outside": ("不在令牌的范围之内", "outside the token's scope: {what}"),
    "arg.token.read_only": ("只读令牌不能写入", "a read-only token cannot write"),
    "arg.token.whole": ("需要整个名册范围的令牌", "needs a token of the whole roster"),
    "arg.token.revoked": ("令牌已吊销", "the token was revoked"),
    "arg.period.unknown": ("监测服务没有该期间", "no period '{label}' monitored (see GET /periods)"),
    "arg.body.too_large": ("请求过大", "request too large (limit {limit} bytes)"),
    "arg.lines.invalid": ("lines 应为逗号分隔的行号", "lines: comma-separated line numbers expected"),
    "arg.lines.count": ("lines 的行号个数与记录数不同", "lines: {given} line numbers for {records} records"),
    "arg.clock.back": ("时钟不能倒退", "the clock does not go back: {day} is before {clock}"),
    "arg.statuses.unknown": ("未知状态", "unknown status in statuses (choose from {choices})"),
    "arg.fail_on.unknown": ("--fail-on: 未知条件", "unknown condition '{word}'; {hint}"),
    "arg.fail_on.empty": ("--fail-on: 至少给出一个条件", "give at least one condition ({choices})"),
    "arg.workers.invalid": (
        "workers 应为正整数或 None（自动）",
        "workers must be a positive whole number or None (automatic), got {value}",
    ),
    "arg.max_evidence.invalid": (
        "max_evidence 应为 0 到 {limit} 的整数",
        "must be a whole number from 0 to {limit}, got {value}",
    ),
    "arg.org.unknown": ("名册中没有组织", "no organisation '{org}' on the roster {hint}"),
    "arg.person.unknown": ("名册中没有人员", "no person '{person}' on the roster {hint}"),
    "arg.confidence.out_of_range": (
        "置信水平应在 0 与 1 之间",
        "the confidence level must be between 0 and 1, got {value}",
    ),
    "arg.counts.invalid": ("计数无效", "invalid counts: {successes} of {n}"),
    "arg.groups.unknown_kind": ("未知的组织类型", "unknown organisation kind '{word}'; {hint}"),
    "arg.groups.unknown_group": (
        "分组应为 locality（地方）、department（部门）或 none",
        "the group must be locality, department or none, got '{group}' for {kind}",
    ),
    "arg.split_depth.invalid": ("分层深度应为正整数", "the split depth must be a whole number from 1, got {value}"),
    "arg.severity.compare": ("严重程度只能与严重程度比较", "a severity compares only with a severity, not {other}"),
    "arg.rule_id.invalid": ("规则编号无效", "invalid rule id '{rule}' (letters, digits, _ . -; starts with a letter)"),
    "arg.rule_id.exists": ("规则编号已存在", "rule id '{rule}' already exists in {root}"),
    "arg.subject.unknown": ("未知对象类型", "unknown subject '{subject}'"),
    "arg.pack.not_a_pack": ("{root} 不是规则包（没有 {manifest}）", "is not a rule pack"),
    "arg.draft.output": (
        "规则草稿须写成规则包中的 .yaml 文件",
        "the draft must be a .yaml file inside the pack {root}: {path}",
    ),
    # ------------------------------------------------------------ periods (PeriodError)
    "period.bad_date": ("期间中的日期无效 '{text}'", "(invalid date in period)"),
    "period.out_of_range": (
        "期间应在 {first} 年至 {last} 年之间，且开始不晚于结束",
        "a period must lie within the years {first} to {last} and start before it ends: {start}..{end}",
    ),
    "period.unrecognised": (
        "无法识别的期间 '{text}'",
        "(unrecognised period); 可用 expected: 2024, 2024-H1, 2024-Q3, 2024-05, 2024-01-01..2024-06-30",
    ),
    "period.ends_before_start": ("期间结束早于开始 '{text}'", "(period ends before it starts)"),
    # ------------------------------------------------------------ inputs that cannot be read at all (InputError)
    "input.file.not_found": ("找不到文件", "file not found: {path}"),
    "input.records.not_found": ("找不到记录文件", "records file not found: {path}"),
    "input.roster.not_found": ("找不到名册文件", "roster file not found: {path}"),
    "input.report.not_found": ("找不到报告文件", "report file not found: {path}"),
    "input.records.format": ("{source}: 不支持的记录文件格式", "unsupported records format '{suffix}' ({suffixes})"),
    "input.json.unparsable": ("{source}: JSON 无法解析", "cannot parse JSON: {error}"),
    "input.json.not_a_list": ("{source}: 应为记录列表", "expected a JSON list of records"),
    "input.text.bad_bom": (
        "{source}:{line}: 文件以 {codec} 字节顺序标记开头，但第 {line} 行不是有效的 {codec} 文本",
        "the file starts with a {codec} byte-order mark but line {line} is not valid {codec}",
    ),
    "input.text.undecodable": (
        "{source}:{line}: 无法识别的文本编码：第 {line} 行起不是 UTF-8 文本，也不是 GB18030，"
        "且检测不出其他编码（是二进制文件吗？）；请另存为 UTF-8（Excel：“CSV UTF-8”或“Unicode 文本”）",
        "cannot decode the text: not UTF-8 from line {line} on, not GB18030, and no other encoding detected"
        ' (a binary file?); save it as UTF-8 (Excel: "CSV UTF-8" or "Unicode text")',
    ),
    "input.table.unparsable": ("{source}:{line}: 表格无法解析", "cannot parse the table: {error}"),
    "input.table.no_header": (
        "{source}:{line}: 前 {lines} 行中没有活动记录表头"
        "（没有可识别的列名，如 编号、组织、类型、日期）；第一行为 {first}",
        "no records header in the first {lines} lines (no known column name such as id, org, type, date);"
        " the first line is {first}",
    ),
    "input.table.duplicate_column": (
        "{source}:{line}: 表头中列 '{column}' 重复（{letter} 列）",
        "duplicate column '{column}' in the header (column {letter})",
    ),
    "input.table.duplicate_column#sheet": (
        "{source}: 第 {row} 行表头中列 '{column}' 重复（{letter} 列）",
        "duplicate column '{column}' in the header (row {row}, column {letter})",
    ),
    "input.workbook.unopenable": (
        "{source}: 无法打开电子表格",
        "cannot open the spreadsheet (Excel .xlsx/.xls or OpenDocument .ods): {error}",
    ),
    "input.workbook.sheet_unreadable": ("{source}#{sheet}: 无法读取工作表", "cannot read the sheet: {error}"),
    "input.workbook.no_records_sheet": (
        "{source}: 没有活动记录工作表（应命名为 活动记录 或 records）",
        "no records sheet (name it 活动记录 or records); sheets: {sheets}",
    ),
    "input.workbook.no_org_sheet": (
        "{source}: 没有组织工作表（应命名为 组织 或 organisations）",
        "no organisations sheet (name it 组织 or organisations); sheets: {sheets}",
    ),
    "input.roster.unreadable": ("名册无法读取", "cannot read roster: {detail}"),
    "input.path.not_utf8": (
        "{what}文件名不是有效的 UTF-8，请重命名",
        "the {what} file name is not valid UTF-8, rename it: {path}",
    ),
    "input.data.too_deep": (
        "{what}嵌套过深（超过 {limit} 层）",
        "{what}: nested deeper than {limit} levels at {path}/...",
    ),
    "input.data.bad_unicode": (
        "{what}中含有无效的 Unicode 文本（孤立代理项）",
        "{what}: text is not valid Unicode (a lone surrogate) at {path}: {text}",
    ),
    # ------------------------------------------------------------ reports read back (InputError)
    "report.not_json": ("{where}: 不是完整的 JSON 报告", "not a whole JSON report ({error})"),
    "report.not_a_report": (
        "{where}: 不是规则引擎报告",
        "not a rules-engine report (format {found}; expected {expected})",
    ),
    "report.invalid": ("{where}: 报告无效", "invalid report: {detail}"),
    "report.v2.missing": ("{where}: v2 报告缺少 {missing}", "a v2 report needs 'packs', 'rules' and 'findings'"),
    "report.v2.shape": (
        "{where}: v2 报告的 rules 应为对象、findings 应为列表",
        "'rules' must be an object and 'findings' a list",
    ),
    "report.v2.unknown_rule": (
        "{where}: findings[{index}] 引用的规则不在 rules 表中",
        "refers to a rule not in the rules table: {rule}",
    ),
    # ------------------------------------------------------------ outputs (OutputError, InputError)
    "output.over_input": (
        "输出文件与输入文件相同，拒绝覆盖",
        "refusing to write the output over an input file: {output} is {source}",
    ),
    "output.not_written": ("未写出", "not written: {path} ({format}): {error}{others}"),
    "output.file.exists": ("文件已存在", "file exists, not overwritten: {path}"),
    "output.dataset.not_folder": (
        "数据集的输出位置已有文件，拒绝覆盖",
        "refusing to write a dataset over {path}: it exists and is not a folder",
    ),
    "output.dataset.not_ours": (
        "输出文件夹已存在且不是本工具写出的数据集，拒绝覆盖",
        "refusing to replace the folder {path}: it is not empty and not a dataset this tool wrote (only"
        " part-NNNNN.parquet files and a {manifest} of its own)",
    ),
    # ------------------------------------------------------------ optional libraries (MissingExtra, OutputError)
    "extra.missing": (
        "需要可选依赖 {library}（未安装）",
        "{library} is not installed: pip install 'duty-rules-engine[{extra}]'",
    ),
    "extra.missing#history": (
        "历史记录功能需要可选依赖",
        "the findings history needs the 'history' extra ({library} is not installed): pip install"
        " 'duty-rules-engine[history]'",
    ),
    "extra.missing#serve": (
        "监测服务需要可选依赖",
        "the monitoring service needs the 'serve' extra ({library} is not installed): pip install"
        " 'duty-rules-engine[serve]'",
    ),
    "extra.missing#xlsx": (
        "Excel 报告需要可选依赖",
        "the Excel report needs the 'reports' extra (XlsxWriter is not installed): pip install"
        " 'duty-rules-engine[reports]'",
    ),
    "extra.missing#html": (
        "HTML 报告需要可选依赖",
        "the HTML report needs the 'reports' extra (Jinja2 is not installed): pip install 'duty-rules-engine[reports]'",
    ),
    "output.not_json": ("报告含有无法写成 JSON 的内容", "the report holds something JSON cannot carry: {error}"),
    "output.foreign_finding": (
        "结论 {rule}（{org}）不来自给出的规则",
        "a finding of {rule} ({org}) does not come from the rules given",
    ),
    # ------------------------------------------------------------ scenario files of the pytest plugin
    "feature.duplicate_scenario": (
        "{path}:{line}: 场景名称重复（第 {first} 行已有）",
        "duplicate scenario name (also on line {first}): {name} — pytest-bdd would silently drop one of them",
    ),
    # ------------------------------------------------------------ worker processes (WorkerError)
    "worker.failed": ("工作进程 {index} 出错", "worker {index} failed:\n{error}"),
    "worker.died": (
        "工作进程 {index} 意外退出（退出码 {exit_code}），评价未完成，未写出报告",
        "worker process {index} died (exit code {exit_code}): the evaluation did not finish and no report was written",
    ),
    # ------------------------------------------------------------ a Dask cluster (rules_engine.cluster: ClusterError)
    "arg.cluster.invalid": (
        "集群地址无效，应为 local:N 或 dask://主机:端口",
        "cluster must be local:N (N worker processes on this machine) or dask://HOST:PORT (a running Dask"
        " scheduler), got {value}",
    ),
    "cluster.unreachable": (
        "无法连接 Dask 调度器 {address}，评价未开始",
        "could not reach the Dask scheduler at {address} ({error}): nothing was evaluated; start it with"
        " `dask scheduler` (see docs/cluster.md)",
    ),
    "cluster.no_workers": (
        "Dask 调度器 {address} 没有工作节点",
        "the Dask scheduler at {address} has no workers: start some with `dask worker {address} --nthreads 1`",
    ),
    "cluster.version": (
        "工作节点 {worker} 的 duty-rules-engine 版本 {theirs} 与本机 {ours} 不同",
        "worker {worker} runs duty-rules-engine {theirs}, this client {ours}: install the same version everywhere",
    ),
    "cluster.lost": (
        "分区 {index} 的工作节点 {attempts} 次丢失，评价未完成，未写出报告",
        "partition {index} lost its worker {attempts} times: the evaluation did not finish and no report was written",
    ),
    "cluster.part_lost": (
        "读取记录块 {index}（{source}）的工作节点 {attempts} 次丢失，评价未完成，未写出报告",
        "the worker reading records block {index} ({source}) was lost {attempts} times: the evaluation did not"
        " finish and no report was written",
    ),
    "cluster.polars": (
        "工作节点 {worker} 的 polars 版本 {theirs} 与本机 {ours} 不同",
        "worker {worker} runs polars {theirs}, this client {ours}: the records' blocks are checked with polars"
        " hashes, install the same version everywhere",
    ),
    "cluster.dataset_folder": (
        "集群工作进程找不到数据集的临时文件夹 {folder}",
        "worker {worker} cannot write its part to {folder}: the output folder must be on a file system the"
        " client and every worker share, at the same path (see docs/cluster.md)",
    ),
    "cluster.failed": ("集群分区 {index} 出错", "partition {index} failed on the cluster:\n{error}"),
    # ------------------------------------------------------------ the findings store (HistoryError)
    "history.migrations.direct": (
        "由 rules_engine.history 运行迁移",
        "the migrations are run by rules_engine.history (the store upgrades itself on first use)",
    ),
    "history.partial_report": (
        "报告只含部分结论（{held}/{total}），无法记录",
        "the report holds {held} of {total} findings (evaluated with statuses=...); record a report with every finding",
    ),
    "history.clock.naive": ("时钟须带时区", "the clock must give a timezone-aware time"),
    "history.concurrent_writer": ("写入 {table} 时有其他写入者", "another writer added rows to {table} meanwhile"),
    "history.run.unknown": ("没有编号为 {run} 的运行", "no run {run} (see: rules-engine history runs)"),
    "history.run.unknown#back": ("没有运行 {run}", "no run {run}: {count} run(s) recorded"),
    "history.run.invalid": ("运行编号无效", "invalid run id '{run}' (a number, latest or latest~N)"),
    "history.token.unknown": ("没有编号为 {id} 的令牌", "no token {id} (see: rules-engine token list)"),
    "history.token.invalid": ("令牌编号无效", "invalid token id '{id}' (a number, as rules-engine token list shows)"),
    "history.token.revoked": ("令牌 {id} 已于 {at} 吊销", "token {id} was already revoked (at {at})"),
    "history.subject.unknown": (
        "没有 {subject} 的记录",
        "nothing recorded for '{subject}' (a person or organisation id)",
    ),
    "history.finding.invalid": (
        "结论编号无效",
        "invalid finding '{ref}': give its identity, or at least its first {least} characters, as rules-engine"
        " history show or diff prints it",
    ),
    "history.finding.unknown": (
        "没有该结论",
        "unknown finding '{ref}': no recorded run holds it (see rules-engine history show)",
    ),
    "history.finding.ambiguous": ("结论编号不唯一", "ambiguous finding '{ref}': give more characters of its identity"),
    "history.as_of.invalid": ("评价日期无效", "invalid date '{value}' (YYYY-MM-DD)"),
    "history.rectify.not_violated": (
        "该结论在最近一次判定它的运行（run {run}）中为 {status}，不是未履行，不能整改",
        "the finding {finding} is {status} in the latest run that judged it (run {run}): only a violated finding"
        " gets a rectification",
    ),
    "history.rectify.already_open": (
        "该结论已有未关闭的整改 #{id}",
        "the finding {finding} already has an open rectification #{id} (rules-engine rectify update|close {id})",
    ),
    "history.rectify.closed": (
        "整改 #{id} 已关闭，不能再更新",
        "rectification #{id} is closed and cannot be updated (a later run that still finds the violation reopens it)",
    ),
    "history.rectify.already_closed": ("整改 #{id} 已于 {at} 关闭", "rectification #{id} is already closed (at {at})"),
    "history.rectify.no_evidence": (
        "关闭整改须提供证据",
        "closing needs evidence: record ids (--record) or a document reference (--document)",
    ),
    "history.rectify.no_actor": ("无法确定操作人，请用 --by 指定", "cannot tell who is acting: give --by NAME"),
    "history.rectify.empty": ("{what} 不能为空", "must not be empty"),
    "history.rectify.deadline_invalid": ("整改期限日期无效", "invalid deadline '{value}' (YYYY-MM-DD)"),
    "history.rectify.deadline_past": (
        "整改期限 {day} 已过（今天 {today}）",
        "the deadline {day} is in the past (today is {today}): give a date from today on",
    ),
    "history.rectify.state_invalid": ("状态无效", "invalid state '{state}' (open, closed, reopened, overdue)"),
    "history.rectify.overdue_needs_date": (
        "逾期须指定评价日期",
        "overdue needs as_of (the date the deadline is compared with)",
    ),
    "history.rectify.unknown": ("没有编号为 {id} 的整改", "no rectification #{id} (see: rules-engine rectify list)"),
    "history.db.empty_url": ("数据库地址为空", "the database URL or path is empty"),
    "history.db.invalid_url": ("数据库地址无效", "invalid database URL '{url}'"),
    "history.db.not_found": ("数据库不存在", "no such database: {path} (record a run first: evaluate ... --db)"),
    "history.db.no_folder": ("数据库所在目录不存在", "the database's folder does not exist: {path}"),
    "history.db.unusable": ("无法使用该数据库", "cannot use the database {url}: {error}{hint}"),
    "history.db.error": ("数据库错误", "database error ({url}): {reason}"),
    # the Chinese of the advice that ends these three is in their English part, where it was
    "history.db.not_sqlite": (
        "不是 SQLite 数据库，拒绝使用",
        "not a SQLite database, refused: {path} ({error}); 请指定 rules-engine 历史数据库或新文件 give a"
        " rules-engine findings store or a new file",
    ),
    "history.db.foreign": (
        "不是 rules-engine 历史数据库",
        "not a rules-engine findings store: {where} holds other tables ({tables}) and no rules-engine schema"
        " version; 拒绝修改 refusing to change it; 请指定 rules-engine 历史数据库或新文件 give a rules-engine"
        " store or a new file",
    ),
    "history.db.foreign#missing_tables": (
        "不是 rules-engine 历史数据库",
        "not a rules-engine findings store: {where} is at version {version} but lacks the tables {tables};"
        " 拒绝修改 refusing to change it; 请指定 rules-engine 历史数据库或新文件 give a rules-engine store or a"
        " new file",
    ),
    "history.db.unknown_version": (
        "数据库版本未知",
        "unknown schema version ({versions}) in {where}: not a rules-engine findings store, or one made by a"
        " newer rules-engine; 拒绝修改 refusing to change it; 请指定 rules-engine 历史数据库或新文件 give a"
        " rules-engine store or a new file",
    ),
    # ============================================================ notes and labels in results (Bilingual.of)
    # ------------------------------------------------------------ why a scorecard's or a diagnosis's figures may be
    # incomplete, what an upcoming duty still needs, where a duty comes from
    "note.scores.undeterminable": (
        "{count} 项结论无法判定，单列，不计分（相关得分不完整）",
        "{count} finding(s) undeterminable: shown apart, not scored (those scores are incomplete)",
    ),
    "note.scores.rejected_rows": (
        "评价时有 {count} 行输入被拒收（见报告 input.rejections），得分可能不完整",
        "{count} input row(s) were rejected in the evaluation (see the report's input.rejections): scores may be"
        " incomplete",
    ),
    "note.scoring.example": ("示例权重，不是正式的考核权重", "an example weighting, not an official one"),
    "note.diagnosis.undeterminable": (
        "{count} 项结论无法判定，不计入比率（分列在各比率的 excluded 中）",
        "{count} finding(s) undeterminable: not in any rate (shown under each rate's excluded)",
    ),
    "note.diagnosis.rejected_rows": (
        "评价时有 {count} 行输入被拒收（见报告 input.rejections）",
        "{count} input row(s) were rejected in the evaluation (see the report's input.rejections)",
    ),
    "note.diagnosis.rejected_roster_rows": ("名册有 {count} 处被拒收", "{count} roster row(s) were rejected"),
    "note.diagnosis.not_in_roster": (
        "{count} 项结论的组织不在名册中，未计入：{orgs}",
        "{count} finding(s) of organisations not in the roster were not counted: {orgs}",
    ),
    "note.upcoming.missing": (
        "已有 {held} 次，应 {required} 次，还差 {short} 次；剩 {left} 天",
        "{held} of {required} held, {short} to go; {left} left",
    ),
    "note.duty.triggered": ("由记录触发（{what}）", "started by a record ({what})"),
    # ------------------------------------------------------------ the comparisons of a diagnosis and their sides
    "label.levels": ("上面实、下面弱", "upper levels strong, lower weak"),
    "label.levels.upper": ("上级", "upper levels"),
    "label.levels.lower": ("下级", "lower levels"),
    "label.localities": ("地方实、部门弱", "localities strong, departments weak"),
    "label.localities.locality": ("地方", "localities"),
    "label.localities.department": ("部门", "departments"),
    "label.roles": ("书记实、班子成员弱", "secretaries strong, other members weak"),
    "label.roles.secretary": ("书记", "secretaries"),
    "label.roles.other": ("其他班子成员", "other members"),
}

#: The errors whose Chinese text is a long sentence, set apart from the English by `` / `` in the one line.
SLASHED = frozenset(
    {
        "usage.folder.unreadable_files",
        "arg.as_of.after_report",
        "input.text.bad_bom",
        "input.text.undecodable",
        "input.table.no_header",
        "input.table.duplicate_column",
        "input.table.duplicate_column#sheet",
        "input.workbook.no_records_sheet",
        "input.workbook.no_org_sheet",
    }
)

_SOURCE_HINT = (
    "在 provenance.sources 中加一项并写明在何处见到原文，或把依据改为 commentary / add a source entry saying where the"
    " text was seen, or lower the basis to commentary: sources: [{{id: art8, document: 《…》, article: 8, basis:"
    " verified_text, seen_in: 出版物与页码或网址与查阅日期 publication and page, or address and date read}}]"
)
_NUMBER_HINT = "写作数字，如 1 write a number, e.g. 1"
_SHARE_HINT = "写作数字，如 1 或 0.5 write a number, e.g. 1 or 0.5"
_BOOL_HINT = "写作 true 或 false write true or false"
_DATE_HINT = "写作 YYYY-MM-DD，如 2024-03-09 write YYYY-MM-DD"
_DECISIONS_HINT = (
    "判定表由编译器依参数生成：请核对 at_least / at_most；参数无误则是程序缺陷，请报告 "
    "the table is generated from the parameters: check at_least / at_most; if they are right, "
    "this is a bug in the compiler: please report it"
)

#: The fixed hint of a problem's text key (one string, Chinese then English, a :meth:`str.format` template
#: filled from the problem's values). A ``code#situation`` key without an entry has its code's hint; a key
#: that only names a hint (``yaml.syntax#tab``) is one of the hints a code chooses from by what it found.
HINTS: dict[str, str] = {
    "file.unreadable": "检查读取权限 check the read permission",
    "yaml.encoding": "请另存为 UTF-8 save the file as UTF-8",
    "yaml.bad_character": "删除该字符（常见于从网页或文档复制） delete it (often pasted from a web page or document)",
    "yaml.bad_character#surrogate": "删除该转义 remove the escape",
    "yaml.syntax#quote": "在这一行补上另一个 {quote} close the {quote} on this line",
    "yaml.syntax#tab": "YAML 不允许用 Tab 缩进，请改用空格 use spaces, not tabs, for indentation",
    "yaml.syntax#full_width_colon": "请使用半角冒号 : 而非全角冒号 ： use an ASCII colon ':' instead of '：'",
    "yaml.syntax#key_colon": "键后须有冒号和空格，如 severity: high a key needs ': ' after it, e.g. severity: high",
    "yaml.syntax#bracket": "方括号 [ ] 或花括号 {{ }} 没有闭合 a [ or {{ is not closed with ] or }}",
    "yaml.syntax#unclosed_quote": "引号 \" 或 ' 没有闭合 a quote (\" or ') is not closed",
    "yaml.syntax#indentation": "缩进不一致：同一层级的键应左对齐 inconsistent indentation: keys of one level line up",
    "yaml.syntax#alias": "引用的锚点（&名称）未定义 the alias refers to an anchor (&name) that is not defined",
    "yaml.too_large": "减少锚点/别名的嵌套引用 reduce nested anchors and aliases",
    "yaml.merge_key": "请直接写出各个键，或用锚点引用整个值 write the keys out, or alias a whole value",
    "pack.two_manifests": "只保留 pack.yaml keep only pack.yaml",
    "pack.manifest_name": "改名为 rename it to pack.yaml",
    "pack.no_manifest": "在规则包目录中新建 pack.yaml（见 docs/rule-format.md） create pack.yaml in the pack folder",
    "pack.none": "指定规则包所在目录，或省略路径以使用随库安装的规则包 "
    "name the folder that holds the packs, or none to use the installed packs",
    "pack.none_installed": "指定规则包目录 name a pack folder (rules-engine --rules PATH)",
    "pack.duplicate_id": "同一编号只能加载一个规则包：卸载或移走其一，或用 --rules 指明要用的规则包"
    " / only one pack of an id can be loaded: uninstall or move one, or name the packs with --rules",
    "pack.entry_point": '如 e.g. {name} = "{module}"',
    "pack.entry_point#missing": "重新安装或卸载该发行包 reinstall or uninstall that distribution",
    "rule.not_a_mapping": "文件应以此开头 start the file with: {start}（可用 rules-engine new-rule 生成模板）",
    "rule.message.bad_template": "花括号须成对；要写字面的花括号请写 {{{{ 或 }}}} "
    "braces come in pairs; write {{{{ or }}}} for a literal one",
    "rule.message.placeholder_format": "写作 {placeholder}，不带 : 或 ! write {placeholder}, with no : or !",
    "rule.match.ref_not_allowed": "见 docs/rule-format.md 第 4.4 节 see docs/rule-format.md §4.4",
    "rule.params.no_bound": "如 e.g. params: {{period: half_year, at_least: 1}}",
    "rule.params.no_period": "如 e.g. params: {{period: year, at_least: 1}}",
    "rule.share.invalid": "写作分数，如 '2/3' write a fraction, e.g. '2/3'",
    "rule.share.out_of_range": "写作分数，如 '2/3' write a fraction, e.g. '2/3'",
    "rule.record_types.missing": "如 e.g. record_types: {{meeting: {{zh: 会议, en: meeting}}}}",
    "provenance.no_confidence": "写 confidence: high、medium-high、medium 或 low "
    "set confidence: high, medium-high, medium or low",
    "provenance.tolerance_confidence": "删除 confidence delete confidence",
    "rule.invalid.int_parsing": _NUMBER_HINT,
    "rule.invalid.int_type": _NUMBER_HINT,
    "rule.invalid.int_from_float": "去掉小数部分 drop the decimals",
    "rule.invalid.float_parsing": _SHARE_HINT,
    "rule.invalid.float_type": _SHARE_HINT,
    "rule.invalid.bool_parsing": _BOOL_HINT,
    "rule.invalid.bool_type": _BOOL_HINT,
    "rule.invalid.string_type": "加引号，如 '1.0.0' put it in quotes, e.g. '1.0.0'",
    "rule.invalid.list_type": "写作 [甲, 乙] 或逐行以 - 开头 write [a, b] or one '- item' per line",
    "rule.invalid.list_type#types": "写 pack.yaml 中 record_types 声明的类型 use record types declared in pack.yaml",
    "rule.invalid.model_type": "如 {{zh: 中文, en: English}} e.g. {{zh: ..., en: ...}}",
    "rule.invalid.dict_type": "如 {{键: 值}} e.g. {{key: value}}",
    "rule.invalid.date_parsing": _DATE_HINT,
    "rule.invalid.date_from_datetime_parsing": _DATE_HINT,
    "rule.invalid.date_type": _DATE_HINT,
    "rule.invalid.too_short": "至少写一项 give at least one",
    "rule.invalid.string_pattern_mismatch#id": "如 ZZ-08-01 e.g. ZZ-08-01",
    "rule.invalid.string_pattern_mismatch#version": "如 1.0.0 e.g. 1.0.0",
    "rule.invalid.string_pattern_mismatch#from": "写作 MM-DD，如 10-01 write MM-DD, e.g. 10-01",
    "rule.invalid.string_pattern_mismatch#to": "写作 MM-DD，如 12-31 write MM-DD, e.g. 12-31",
    "rule.escalation_cycle": "升级规则只能读取下级规则的结论 an escalation may only read rules below it",
    "rule.decisions_incomplete": _DECISIONS_HINT,
    "rule.decisions_overlap": _DECISIONS_HINT,
    "provenance.verified_text_unsourced": _SOURCE_HINT,
    "provenance.unknown_number": "本规则设定的数字 numbers this rule sets: {numbers}",
    "provenance.number_not_stated": "为每个数字加一项 add one entry per number, e.g. {{param: {first},"
    " basis: tolerance, note: {{zh: …, en: …}}}}",
    "provenance.overstated_confidence": "改为 confidence: {weakest} set confidence: {weakest}",
    "provenance.overstated_basis": "把 provenance.basis 改为 commentary 或 local_practice lower provenance.basis",
    "provenance.draft": "核对引文、数字、适用组织和记录类型后，把 provenance.basis 改为 verified_text、commentary 或"
    " local_practice review the citation, numbers, organisation kinds and record types, then set provenance.basis to"
    " verified_text, commentary or local_practice",
    "param.not_a_mapping": '如 e.g. {{"ZZ-DW-01": {{"at_least": 2}}}}',
    "param.null": "省略该参数即用默认值 omit it to keep the default",
}


def _key(key: str) -> str:
    """The entry of :data:`TEXTS` for `key`: itself, or the ``.*`` text of a declared family (``rule.invalid``)."""
    if key in TEXTS:
        return key
    family = key.rpartition(".")[0] + ".*"
    if "#" not in key and family in TEXTS:
        return family
    raise KeyError(key)


def text(code: str, /, **args: Arg) -> tuple[str, str]:
    """The Chinese and English text of `code` (a reason code, or ``code#situation``), its placeholders filled
    from `args` (a ``(zh, en)`` pair fills each language with its part). An unknown code is a
    :class:`KeyError`, but for a member of a declared family (``rule.invalid.<kind>``), which has the
    family's text: a reason is never shown with some other reason's text."""
    zh, en = TEXTS[_key(code)]
    zh_args = {k: v[0] if isinstance(v, tuple) else v for k, v in args.items()}
    en_args = {k: v[1] if isinstance(v, tuple) else v for k, v in args.items()}
    return zh.format(**zh_args), en.format(**en_args)


def message(code: str, /, **args: Arg) -> str:
    """The one-line message of an error the API or the command line raises (``usage.*``, ``input.*``, ...): the
    Chinese text, then the English; a long Chinese sentence is set apart by `` / `` (:data:`SLASHED`); an empty
    value at the end (no "did you mean") leaves no trailing space."""
    zh, en = text(code, **args)
    return f"{zh}{' / ' if code in SLASHED else ' '}{en}".rstrip()


def fixed_hint(key: str, /, **args: Arg) -> str:
    """The fixed hint of `key` (or of its code, for a ``code#situation`` without its own), filled from
    `args` (a ``(zh, en)`` pair is not used in a hint); ``""`` when it has none."""
    template = HINTS.get(key)
    if template is None:
        template = HINTS.get(key.partition("#")[0], "")
    return template.format(**{k: v for k, v in args.items() if not isinstance(v, tuple)})


def hint(zh: str, en: str, zh_sep: str = "", en_sep: str = " ") -> tuple[str, str]:
    """A did-you-mean hint as a ``{hint}`` argument: each language's text after its separator, or nothing."""
    return (zh_sep + zh if zh else "", en_sep + en if en else "")


#: A reason made for one organisation (``applies_when``): its code, Chinese and English text in one string, so
#: that it travels in the plan's ``na`` / ``unk`` column (:func:`reason_text` reads it).
REASON_SEP = "\x1f"


def reason_text(family: str, code: str) -> tuple[str, str]:
    """The texts of a not-applicable (`family` ``na``) or undeterminable (``unk``) reason code, or of a reason
    made for one organisation (its texts inside the code, :data:`REASON_SEP`)."""
    if REASON_SEP in code:
        _code, zh, en = code.split(REASON_SEP, 2)
        return zh, en
    return text(f"{family}.{code}")


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
    if code == "quorum":
        strict, _, share = why[2].partition(" ")
        needed = (f"多于 {share}", f"more than {share}") if strict == ">" else (f"至少 {share}", f"at least {share}")
        return text("candidate.quorum", present=why[1], needed=needed)
    if code == "where":
        return text("candidate.where", field=why[1], condition=why[2])
    if code == "lacks":
        return text("candidate.lacks", field=why[1])
    return text(f"candidate.{code}")
