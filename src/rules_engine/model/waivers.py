"""Waivers: a subject exempted from a rule for a period, with a justification, an approver and an expiry."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .refusal import refuse


class Waiver(BaseModel):
    """One exemption. ``org``, ``subject`` and ``portfolio`` narrow it; left out, they match any."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(min_length=1)
    rule: str = Field(min_length=1, description="规则编号 rule id")
    org: str | None = Field(default=None, description="组织编号 organisation id")
    subject: str | None = Field(default=None, description="对象编号 person, organisation or record id")
    second: str | None = Field(default=None, description="for pair duties: the other person")
    portfolio: str | None = Field(default=None, description="分管领域")
    from_: dt.date = Field(alias="from", description="豁免期间开始 first day covered")
    to: dt.date = Field(description="豁免期间结束 last day covered")
    justification: str = Field(min_length=1, description="理由")
    approved_by: str = Field(min_length=1, description="批准人或机关")
    approved_on: dt.date | None = None
    expires: dt.date = Field(description="失效日期: after this day the waiver has no effect")

    @model_validator(mode="after")
    def _order(self) -> Waiver:
        if self.to < self.from_:
            raise refuse("waiver.ends_before_start", None, start=str(self.from_), end=str(self.to))
        return self


class WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    waivers: list[Waiver]
