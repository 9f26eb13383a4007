Feature: Primary-responsibility duties, in English
  The same steps in English: English table headers (id, name, kind, org, role, portfolios, start, end,
  type, date, chair, participants, portfolio, tags), role and kind values as in the roster format
  (secretary, deputy_secretary, member; local_committee, party_group, department_committee, township,
  grassroots) and statuses fulfilled, violated, pending, not_applicable, undeterminable.

  Background:
    Given the rule packs "rules/zhuti-zeren-2020, rules/minzhu-shenghuohui-2016"
    And the organisations:
      | id | name                  | kind            |
      | c1 | County committee      | local_committee |
      | t1 | Township committee    | township        |
    And the people:
      | id | name      | org | role             | portfolios   | start      |
      | s1 | Secretary | c1  | secretary        |              | 2015-01-01 |
      | d1 | Deputy    | c1  | deputy_secretary | 组织人事     | 2015-01-01 |
      | m1 | Member 1  | c1  | member           | 宣传思想, 政法 | 2015-01-01 |
      | m2 | Member 2  | c1  | member           | 经济发展     | 2015-01-01 |
      | m3 | Member 3  | c1  | member           | 社会事业     | 2015-01-01 |
      | m4 | Member 4  | c1  | member           | 统战         | 2015-01-01 |
      | m5 | Member 5  | c1  | member           | 生态环境     | 2015-01-01 |
      | m6 | Member 6  | c1  | member           | 农业农村     | 2015-01-01 |
      | m7 | Member 7  | c1  | member           | 城乡建设     | 2015-01-01 |
      | t9 | Township secretary | t1 | secretary |              | 2015-01-01 |
    And the evaluation date is 2025-01-15

  Scenario: The secretary chairs the dedicated meeting
    Given the activity records:
      | id | org | type          | date       | chair | participants |
      | r1 | c1  | zhuanti_huiyi | 2024-03-01 | s1    | d1, m1       |
    When the period 2024-H1 is evaluated
    Then the finding of ZZ-DW-01 for c1 in 2024-H1 is fulfilled
    And the finding of ZZ-08-01 for s1 in 2024-H1 is fulfilled
    And the evidence of ZZ-08-01 for s1 in 2024-H1 is r1
    And the finding of ZZ-08-01 for s1 in 2024-H1 expects "at least 1 per half-year" and found "1"

  Scenario: A meeting chaired by the deputy does not count for the secretary
    Given the activity records:
      | id | org | type          | date       | chair | participants |
      | r1 | c1  | zhuanti_huiyi | 2024-03-01 | d1    | s1           |
    When the period 2024-H1 is evaluated
    Then the finding of ZZ-DW-01 for c1 in 2024-H1 is fulfilled
    And the finding of ZZ-08-01 for s1 in 2024-H1 is violated
    And the evidence of ZZ-08-01 for s1 in 2024-H1 is none

  Scenario Outline: A new secretary arrives on <arrival>
    Given the organisations:
      | id | name            | kind     |
      | t2 | Other township  | township |
    And the people:
      | id | name          | org | role      | start      | end       |
      | a1 | Old secretary | t2  | secretary | 2015-01-01 | <leaving> |
      | a2 | New secretary | t2  | secretary | <arrival>  |           |
    And the activity records:
      | id | org | type          | date       | chair |
      | r1 | t2  | zhuanti_huiyi | 2024-02-01 | a1    |
    When the period 2024-H1 is evaluated
    Then the finding of ZZ-08-01 for a1 in 2024-H1 is fulfilled
    And the finding of ZZ-08-01 for a2 in 2024-H1 is <status>

    Examples:
      | leaving    | arrival    | status         |
      | 2024-05-31 | 2024-06-01 | violated       |
      | 2024-06-01 | 2024-06-02 | not_applicable |

  Scenario Outline: Democratic life meeting with <present> of 9 present
    Given the activity records:
      | id | org | type               | date       | chair | participants   |
      | r1 | c1  | minzhu_shenghuohui | 2024-12-20 | s1    | <participants> |
    When the period 2024 is evaluated
    Then the finding of MZ-01 for c1 in 2024 is <status>
    And the finding of MZ-01 for c1 in 2024 expects "at least 1 per year, attendance at least 2/3" and found "<count>"

    Examples:
      | present | participants           | status    | count |
      | 6       | d1, m1, m2, m3, m4     | fulfilled | 1     |
      | 5       | d1, m1, m2, m3         | violated  | 0     |

  Scenario: The democratic life meeting rule does not cover townships
    When the period 2024 is evaluated
    Then the finding of MZ-01 for t1 in 2024 is not_applicable
    And 1 finding of MZ-01 is not_applicable

  Scenario: Heart-to-heart talks are judged per pair
    Given the activity records:
      | id | org | type          | date       | chair | participants |
      | r1 | c1  | tanxin_tanhua | 2024-03-01 | s1    | d1           |
      | r2 | c1  | tanxin_tanhua | 2024-04-01 | d1    | m1           |
    When the period 2024 is evaluated
    Then the finding of ZZ-08-06 for s1 with d1 in 2024 is fulfilled
    And the finding of ZZ-08-06 for s1 with m1 in 2024 is violated
    And there is no finding of ZZ-08-06 for d1 with m1
    And 1 finding of ZZ-08-06 is fulfilled

  Scenario: A supervision visit in the wrong portfolio area does not count
    Given the activity records:
      | id | org | type         | date       | chair | portfolio |
      | r1 | c1  | dingqi_dudao | 2024-03-01 | m1    | 组织人事  |
      | r2 | c1  | dingqi_dudao | 2024-03-02 | m1    | 政法      |
    When the period 2024-H1 is evaluated
    Then the finding of ZZ-YG-01 for m1 in 政法 in 2024-H1 is fulfilled
    And the finding of ZZ-YG-01 for m1 in 宣传思想 in 2024-H1 is violated
    And the finding of ZZ-YG-01 for d1 in 组织人事 in 2024-H1 is violated
    And there is no finding of ZZ-YG-01 for s1

  Scenario Outline: A rectification report is due 30 days after the feedback (as of <as_of>)
    Given the evaluation date is <as_of>
    And the activity records:
      | id | org | type         | date       |
      | f1 | c1  | ducha_fankui | 2024-05-10 |
    When the period 2024-H1 is evaluated
    Then the finding of ZZ-DC-01 for f1 in 2024-05-10+30d is <status>

    Examples:
      | as_of      | status   |
      | 2024-06-09 | pending  |
      | 2024-06-10 | violated |

  Scenario: The parameter at_least raises the number of meetings
    Given the parameter ZZ-DW-01.at_least is 2
    And the activity records:
      | id | org | type          | date       | chair |
      | r1 | c1  | zhuanti_huiyi | 2024-03-01 | s1    |
    When the period 2024-H1 is evaluated
    Then the finding of ZZ-DW-01 for c1 in 2024-H1 is violated
    And the finding of ZZ-DW-01 for c1 in 2024-H1 expects "at least 2 per half-year" and found "1"

  Scenario: A record with an invalid date makes the duty undeterminable
    Given the activity records in JSON Lines:
      """
      {"id": "r9", "org": "c1", "type": "zhuanti_huiyi", "date": "2024-13-05", "chair": "s1"}
      """
    When the period 2024-H1 is evaluated
    Then the record r9 is rejected because "invalid date"
    And the finding of ZZ-DW-01 for c1 in 2024-H1 is undeterminable
    And the finding of ZZ-08-01 for s1 in 2024-H1 is undeterminable
    And the finding of ZZ-DW-01 for t1 in 2024-H1 is violated
