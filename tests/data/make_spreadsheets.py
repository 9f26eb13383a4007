"""Write the spreadsheet fixtures beside this file: county.xls and county.ods.

The workbook is the one ``tests/test_excel_csv.py`` writes as .xlsx (sheets 组织, 人员, 活动记录); LibreOffice
converts it to Excel 97-2003 and OpenDocument, the formats python-calamine reads but nothing here writes.
Run from the repository root, with LibreOffice installed (Debian: ``apt-get install libreoffice-calc-nogui``)::

    python -m tests.data.make_spreadsheets
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.test_excel_csv import ORGS_ZH, PEOPLE_ZH, RECORDS_ZH, workbook

HERE = Path(__file__).parent


def main() -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise SystemExit("LibreOffice (soffice) is needed to write .xls and .ods")
    with tempfile.TemporaryDirectory() as scratch:
        source = workbook(Path(scratch) / "county.xlsx", {"组织": ORGS_ZH, "人员": PEOPLE_ZH, "活动记录": RECORDS_ZH})
        profile = Path(scratch, "profile").as_uri()  # a throwaway LibreOffice profile
        for fmt in ("xls", "ods"):
            command = [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", fmt]
            subprocess.run([*command, "--outdir", str(HERE), str(source)], check=True)


if __name__ == "__main__":
    main()
