#!/usr/bin/env python3
# Writes tests/fixtures/absences.xls and absences.ods (run from tests/fixtures/; needs
# `pip install xlwt odfpy`). Rust has no writer for these two formats here.
# Synthetic absences workbooks in the two formats Rust cannot write here (.xls, .ods): a title
# row, the layout's column names, text with leading zeros, real date cells, a number that lost
# its zero, and a date typed as text.
import datetime, xlwt
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableRow, TableCell
from odf.text import P
cols = ["Employee Number","Assignment Number","Last Name","First Name","Action","Absence Type","Sickness Reason","Start Date","End Date","Start Time","End Time","Hours Lost","Days Lost","Date Notified"]
rows = [
  ["01012001","10120001-1","Smith","Ann","A","Annual Leave","",datetime.date(2026,11,2),datetime.date(2026,11,30),"","",37.5,5,datetime.date(2026,10,1)],
  [1012002,"10120002-1","Jones","Bob","A","Annual Leave","",datetime.date(2026,11,3),datetime.date(2026,11,30),"","",37.5,5,datetime.date(2026,10,1)],
  ["01012003","10120003-1","Khan","Sam","A","Annual Leave","","2026-11-04",datetime.date(2026,11,30),"","",37.5,5,datetime.date(2026,10,1)],
]
wb = xlwt.Workbook(); s = wb.add_sheet("Absences")
datef = xlwt.easyxf(num_format_str="DD/MM/YYYY")
s.write(0,0,"Absences export (synthetic)")
for c,n in enumerate(cols): s.write(1,c,n)
for r,row in enumerate(rows):
    for c,v in enumerate(row):
        if v == "": continue
        if isinstance(v, datetime.date): s.write(r+2,c,v,datef)
        else: s.write(r+2,c,v)
wb.save("absences.xls")
doc = OpenDocumentSpreadsheet(); t = Table(name="Absences")
def cell(v):
    if v == "": return TableCell()
    if isinstance(v, datetime.date):
        tc = TableCell(valuetype="date", datevalue=v.isoformat()); tc.addElement(P(text=v.strftime("%d/%m/%Y"))); return tc
    if isinstance(v,(int,float)):
        tc = TableCell(valuetype="float", value=v); tc.addElement(P(text=str(v))); return tc
    tc = TableCell(valuetype="string"); tc.addElement(P(text=v)); return tc
tr = TableRow(); tr.addElement(cell("Absences export (synthetic)")); t.addElement(tr)
tr = TableRow()
for n in cols: tr.addElement(cell(n))
t.addElement(tr)
for row in rows:
    tr = TableRow()
    for v in row: tr.addElement(cell(v))
    t.addElement(tr)
doc.spreadsheet.addElement(t); doc.save("absences.ods")
