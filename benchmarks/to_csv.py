"""A JSON Lines record file (as synth.py writes it) as a CSV table the per-row reader accepts: the record fields as
the header, participants and tags joined with ";", empty cells for null.

    python benchmarks/to_csv.py RECORDS.jsonl OUT.csv"""

from __future__ import annotations

import csv
import sys

import orjson

FIELDS = ("id", "org", "type", "date", "chair", "participants", "portfolio", "tags", "text")


def main() -> None:
    source, target = sys.argv[1], sys.argv[2]
    with open(source, "rb") as lines, open(target, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FIELDS)
        for line in lines:
            record = orjson.loads(line)
            writer.writerow(
                ";".join(record.get(name) or []) if name in ("participants", "tags") else record.get(name) or ""
                for name in FIELDS
            )


if __name__ == "__main__":
    main()
