#!/usr/bin/env python3
"""Writes hostile workbooks: small files that claim or unpack to enormous sheets.

    scripts/make-workbook-bombs.py OUT_DIR [--full]

Each file is synthetic. Without --full the unpacking bombs are 200 MiB (the tests set the
workbook limit below that); with --full they are the sizes found in the reliability run
(4 GiB of whitespace, a 2 GiB cell), for measuring peak memory by hand:

    /usr/bin/time -f '%e s %M KB' target/release/esr-desk validate OUT_DIR/far-cell.xlsx \
        --interface absences

The files:
- far-cell.xlsx: a cell at A1 and one at XFD1048576 (2 KB; a reader that lays the sheet out
  whole allocates 17 billion cells);
- whitespace.xlsx: a sheet of one cell followed by whitespace (unpacks to 200 MiB or 4 GiB);
- big-cell.xlsx: one shared string of 200 MiB or 2 GiB;
- many-rows.xlsx: 40,000 rows of 3 cells (the tests set the cell limit below that);
- repeated.ods: one row of a value repeated 16,384 times, the row repeated 1,048,576 times
  (1 KB).
"""
import sys
import zipfile


CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>"""
RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets>
</workbook>"""
WB_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>"""
SHEET_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
SHEET_TAIL = "</sheetData></worksheet>"
NO_STRINGS = '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"></sst>'


def xlsx(path, sheet_parts, strings_parts=None):
    """Writes an .xlsx whose sheet (and shared strings) are given as lists of byte chunks,
    streamed into the zip so that gigabytes never sit in memory here either."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WB_RELS)
        for name, parts in (
            ("xl/worksheets/sheet1.xml", sheet_parts),
            ("xl/sharedStrings.xml", strings_parts or [NO_STRINGS.encode()]),
        ):
            with z.open(name, "w", force_zip64=True) as f:
                for chunk in parts:
                    f.write(chunk)


def repeat(chunk, total):
    """`total` bytes of `chunk` repeated, in 16 MiB pieces."""
    piece = chunk * (16 * 1024 * 1024 // len(chunk))
    left = total
    while left > 0:
        n = min(left, len(piece))
        yield piece[:n]
        left -= n


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    out = sys.argv[1]
    full = "--full" in sys.argv
    big = (4 * 1024**3) if full else (200 * 1024**2)
    cell = (2 * 1024**3) if full else (200 * 1024**2)

    xlsx(
        f"{out}/far-cell.xlsx",
        [
            (
                SHEET_HEAD
                + '<row r="1"><c r="A1" t="inlineStr"><is><t>Employee Number</t></is></c></row>'
                + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
                + SHEET_TAIL
            ).encode()
        ],
    )
    xlsx(
        f"{out}/whitespace.xlsx",
        [(SHEET_HEAD + '<row r="1"><c r="A1"><v>1</v></c></row>').encode()]
        + list(repeat(b" ", big))
        + [SHEET_TAIL.encode()],
    )
    xlsx(
        f"{out}/big-cell.xlsx",
        [(SHEET_HEAD + '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' + SHEET_TAIL).encode()],
        [
            b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>'
        ]
        + list(repeat(b"A", cell))
        + [b"</t></si></sst>"],
    )
    rows = "".join(
        f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}"><v>{r * 2}</v></c><c r="C{r}"><v>{r * 3}</v></c></row>'
        for r in range(1, 40001)
    )
    xlsx(f"{out}/many-rows.xlsx", [(SHEET_HEAD + rows + SHEET_TAIL).encode()])

    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        "<office:body><office:spreadsheet><table:table table:name=\"Sheet1\">"
        '<table:table-row table:number-rows-repeated="1048576">'
        '<table:table-cell table:number-columns-repeated="16384" office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>'
        "</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(f"{out}/repeated.ods", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        z.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>',
        )
        z.writestr("content.xml", content)


if __name__ == "__main__":
    main()
